/** Node identity: ed25519 keypairs from 32-byte seeds, node ids, signatures. */
import * as native from '@netmesh/core';
import { call } from './errors';
import { PermissionToken, requestJson, TokenRequest } from './token';

/** A node's keypair. `Identity.fromSeed(seed)` is deterministic. */
export class Identity {
  private constructor(private readonly native: native.Identity) {}

  /** The identity for a 32-byte seed (InvalidSeedError otherwise). */
  static fromSeed(seed: Uint8Array): Identity {
    return new Identity(call(() => native.Identity.fromSeed(Buffer.from(seed))));
  }

  /** A fresh random identity. */
  static generate(): Identity {
    return new Identity(call(() => native.Identity.generate()));
  }

  /** The secret seed: treat it like a password. */
  get seed(): Buffer {
    return this.native.seed();
  }

  /** The 32-byte public key (the entity id). */
  get publicKey(): Buffer {
    return this.native.publicKey();
  }

  /** The 64-bit node id. */
  get nodeId(): bigint {
    return this.native.nodeId();
  }

  /** The 64-byte signature of `message`. */
  sign(message: Uint8Array): Buffer {
    return this.native.sign(Buffer.from(message));
  }

  /**
   * Issues a permission token signed by this identity (a root grant):
   * `subject` may do `scope` on `channel` for `ttlMs` (zero is rounded up to
   * a second), and delegate it `depth` more times.
   */
  issueToken(request: TokenRequest): PermissionToken {
    return new PermissionToken(call(() => this.native.issueToken(requestJson(request), false)));
  }

  /** {@link issueToken} that throws TokenZeroTtlError for a zero `ttlMs`. */
  tryIssueToken(request: TokenRequest): PermissionToken {
    return new PermissionToken(call(() => this.native.issueToken(requestJson(request), true)));
  }

  /**
   * Passes part of `parent` (a token whose subject is this identity) on.
   * Throws TokenBrokenChainError (not the parent's subject),
   * TokenDepthExceededError, TokenWidenedError (a scope or channel the parent
   * does not grant) or TokenExpiredError; the new token ends no later than
   * its parent.
   */
  delegateToken(parent: PermissionToken, request: TokenRequest): PermissionToken {
    return new PermissionToken(call(() => this.native.delegateToken(parent.bytes, requestJson(request))));
  }

  toJSON(): { publicKey: string } {
    return { publicKey: this.publicKey.toString('hex') };
  }
}

/** Throws BadSignatureError (or InvalidKeyError) unless the signature is valid. */
export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): void {
  call(() => native.verify(Buffer.from(publicKey), Buffer.from(message), Buffer.from(signature)));
}

/** The node id and origin hash of a public key. */
export function publicKeyIds(publicKey: Uint8Array): { nodeId: bigint; originHash: number } {
  return call(() => native.publicKeyIds(Buffer.from(publicKey)));
}
