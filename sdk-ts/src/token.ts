/**
 * Permission tokens: ed25519-signed grants of what a subject may do on which
 * channels, delegation chains, and the cache that checks them; channel names.
 *
 * ```ts
 * const grant = root.issueToken({ subject: alice.publicKey, scope: ['subscribe'], channel: 'sensors/*', ttlMs: 300_000 });
 * grant.covers('sensors/lidar'); // true
 * ```
 */
import * as native from '@netmesh/core';
import { call } from './errors';

/** The length of a token in bytes. */
export const TOKEN_LEN: number = native.TOKEN_LEN;

/** A scope bit's name. */
export type TokenScopeName = 'publish' | 'subscribe' | 'admin' | 'delegate';

/** A scope: names (`['publish', 'subscribe']`) or the bits as a number. */
export type ScopeLike = readonly TokenScopeName[] | TokenScopeName | number;

/** A time: a Date, or seconds since the epoch. */
export type TimeLike = Date | number;

/** The scope's bits (the engine names them, and refuses a name it does not know). */
function bits(scope: ScopeLike): number {
  if (typeof scope === 'number') return scope;
  return call(() => native.tokenScopeBits(typeof scope === 'string' ? [scope] : [...scope]));
}

function seconds(at: TimeLike | undefined | null): number | null {
  if (at === undefined || at === null) return null;
  return at instanceof Date ? Math.floor(at.getTime() / 1000) : at;
}

/** What a new token grants (see {@link Identity.issueToken}). */
export interface TokenRequest {
  /** The 32-byte public key (entity id) of whom it is for. */
  subject: Uint8Array;
  /** What they may do. */
  scope: ScopeLike;
  /** The channel pattern: `sensors/lidar`, `sensors/*` (one level below), `sensors/**` (any depth). */
  channel: string;
  /** How long it lasts from `notBefore`, in milliseconds (rounded up to whole seconds). */
  ttlMs: number;
  /** How many further delegations it allows (default 0). */
  depth?: number;
  /** When it starts (default: at issue). */
  notBefore?: TimeLike;
  /** The time of issue (default: the system clock). */
  now?: TimeLike;
  /** 16 bytes (default: random). */
  nonce?: Uint8Array;
}

/** The JSON request the engine checks. */
export function requestJson(r: TokenRequest): string {
  const request: Record<string, unknown> = {
    subject: Buffer.from(r.subject).toString('hex'),
    scope: typeof r.scope === 'number' ? r.scope : typeof r.scope === 'string' ? [r.scope] : [...r.scope],
    channel: r.channel,
    ttl_ms: r.ttlMs,
    depth: r.depth ?? 0,
  };
  const notBefore = seconds(r.notBefore);
  if (notBefore !== null) request.not_before = notBefore;
  const now = seconds(r.now);
  if (now !== null) request.now = now;
  if (r.nonce !== undefined) request.nonce = Buffer.from(r.nonce).toString('hex');
  return JSON.stringify(request);
}

/** A token's fields. */
export interface TokenInfo {
  id: string;
  version: number;
  scope: TokenScopeName[];
  scopeBits: number;
  depth: number;
  channelKind: 'exact' | 'one_level' | 'any_depth';
  channelDigest: string;
  notBefore: number;
  expires: number;
  nonce: string;
  issuer: Buffer;
  subject: Buffer;
  /** The parent token's id (hex); null for a root grant. */
  parent: string | null;
}

/** A permission token: its {@link TOKEN_LEN} bytes. */
export class PermissionToken {
  /** Wraps token bytes as they are (checked when used). */
  constructor(readonly bytes: Buffer) {}

  /** Parses token bytes (TokenMalformedError if they are not one). */
  static fromBytes(bytes: Uint8Array): PermissionToken {
    const token = new PermissionToken(Buffer.from(bytes));
    call(() => native.tokenJson(token.bytes));
    return token;
  }

  /** The token's 32-byte id, hex (revocation is by id). */
  get id(): string {
    return call(() => native.tokenId(this.bytes)).toString('hex');
  }

  /**
   * Throws TokenBadSignatureError, TokenExpiredError or TokenNotYetValidError
   * unless the token is signed by its issuer and valid at `now` (default: now).
   */
  verify(now?: TimeLike): void {
    call(() => native.tokenVerify(this.bytes, seconds(now)));
  }

  /** Whether the token's channel pattern matches `channel`. */
  covers(channel: string): boolean {
    return call(() => native.tokenCovers(this.bytes, channel));
  }

  /** The token's fields. */
  info(): TokenInfo {
    const raw = JSON.parse(call(() => native.tokenJson(this.bytes))) as Record<string, unknown>;
    return {
      id: raw.id as string,
      version: raw.version as number,
      scope: raw.scope as TokenScopeName[],
      scopeBits: raw.scope_bits as number,
      depth: raw.depth as number,
      channelKind: raw.channel_kind as TokenInfo['channelKind'],
      channelDigest: raw.channel_digest as string,
      notBefore: raw.not_before as number,
      expires: raw.expires as number,
      nonce: raw.nonce as string,
      issuer: Buffer.from(raw.issuer as string, 'hex'),
      subject: Buffer.from(raw.subject as string, 'hex'),
      parent: raw.parent as string | null,
    };
  }

  /** The token's fields as the engine writes them (snake_case JSON). */
  toJSON(): unknown {
    return JSON.parse(call(() => native.tokenJson(this.bytes)));
  }
}

/** One access a chain is checked for: who, what, on which channel. */
export interface Access {
  subject: Uint8Array;
  scope: ScopeLike;
  channel: string;
}

function chainBytes(chain: PermissionToken | readonly PermissionToken[]): Buffer {
  return chain instanceof PermissionToken ? chain.bytes : Buffer.concat(chain.map((t) => t.bytes));
}

function idBytes(id: string | Uint8Array): Buffer {
  return typeof id === 'string' ? Buffer.from(id, 'hex') : Buffer.from(id);
}

/**
 * The roots a node trusts, the chains it verified and the token ids it
 * revoked; a revocation takes effect at the next check.
 */
export class TokenCache {
  private readonly native: native.TokenCache;

  /** An empty cache that trusts no root (or, internally, a node's shared one). */
  constructor(shared?: native.TokenCache) {
    this.native = shared ?? new native.TokenCache();
  }

  /** Trusts a root key to issue root grants. */
  trust(publicKey: Uint8Array): void {
    call(() => this.native.trust(Buffer.from(publicKey)));
  }

  /** Revokes a token id (hex or bytes), and every chain resting on it. */
  revoke(id: string | Uint8Array): void {
    call(() => this.native.revoke(idBytes(id)));
  }

  /** Whether a token id was revoked here. */
  isRevoked(id: string | Uint8Array): boolean {
    return call(() => this.native.isRevoked(idBytes(id)));
  }

  /**
   * Verifies `chain` (the root grant first) for `access` at `now`, keeps it,
   * and returns the leaf's id (hex). Throws the `Token*Error` classes
   * (untrusted root, broken chain, widened, denied, revoked, expired...).
   */
  install(chain: PermissionToken | readonly PermissionToken[], access: Access, now?: TimeLike): string {
    return call(() =>
      this.native.install(chainBytes(chain), Buffer.from(access.subject), bits(access.scope), access.channel, seconds(now)),
    ).toString('hex');
  }

  /** {@link install} without keeping the chain. */
  verify(chain: PermissionToken | readonly PermissionToken[], access: Access, now?: TimeLike): string {
    return call(() =>
      this.native.verify(chainBytes(chain), Buffer.from(access.subject), bits(access.scope), access.channel, seconds(now)),
    ).toString('hex');
  }

  /** The id of a held chain that lets `access` happen; TokenDeniedError or TokenExpiredError otherwise. */
  check(access: Access, now?: TimeLike): string {
    return call(() =>
      this.native.check(Buffer.from(access.subject), bits(access.scope), access.channel, seconds(now)),
    ).toString('hex');
  }

  /** Drops the chains expired at `now`; how many went. */
  sweep(now?: TimeLike): number {
    return call(() => this.native.sweep(seconds(now)));
  }

  /** How many verified chains are held. */
  get size(): number {
    return this.native.size();
  }
}

/** Throws InvalidChannelNameError unless `name` is a valid channel name. */
export function checkChannelName(name: string): void {
  call(() => native.channelCheckName(name));
}

/** A channel name's stable 64-bit hash. */
export function channelHash(name: string): bigint {
  return call(() => native.channelHash(name));
}

/** Whether `pattern` (`a/b`, `a/*`, `a/**`, `*`, `**`) matches `name`. */
export function channelMatches(pattern: string, name: string): boolean {
  return call(() => native.channelMatches(pattern, name));
}
