/**
 * The encrypted mesh: a node on a UDP socket, Noise handshakes bound to a
 * network key, peers named by 64-bit node ids (bigints), and streams that are
 * fire-and-forget or reliable (in order, exactly once, with a credit window).
 *
 * Nodes relay for each other: every node beacons the routes it knows to its
 * neighbours, so a node can reach one it has no direct path to with
 * {@link Mesh.connectRouted}.
 *
 * A bus link carries the events of a bus ({@link NetNode}) on one node into a
 * bus on a connected peer ({@link Mesh.sendBus}, {@link Mesh.receiveBus}).
 *
 * Every wait (connect, connectRouted, sendBlocking, sendWithRetry, recv,
 * opening and closing a bus link) runs on the libuv thread pool and returns
 * a Promise; the event loop never blocks.
 */
import * as native from '@netmesh/core';
import { Handler, HandlerOptions, register } from './handler';
import { call, classify, InvalidKeyError, InvalidMeshArgumentError, MeshShutdownError, MeshTimeoutError } from './errors';
import type { CapabilityStats, ChannelStats, MeshStats, PeerCipher } from './mesh_stats';
import { CapabilitySet, Predicate, SubnetId, SubnetPolicy, Visibility } from './capability';
import { PermissionToken, TokenCache } from './token';
export type { CapabilityStats, ChannelStats, LocalChannelStats, MeshStats, PeerCipher } from './mesh_stats';
import { NetNode } from './node';
import { deadlineOf, engineJson, sliced } from './wait';
import { ChannelSubscription, MeshChannel, Schema } from './channels';
export { ChannelSubscription } from './channels';
export type { ChannelMessage } from './channels';

/** Bytes to send: a Buffer or Uint8Array, or a string (UTF-8 encoded). */
export type MeshPayload = Uint8Array | string;

/** A node id or stream id: a bigint (ids routinely exceed 2^53), or a safe integer. */
export type MeshId = bigint | number;

/** Options for {@link Mesh.bind}; unset options keep the engine's defaults. */
export interface MeshOptions {
  /** The mesh's shared 32-byte secret (bytes or 64 hex characters); nodes with another key cannot connect. */
  networkKey: Uint8Array | string;
  /** The address to bind, `ip:port` (default `0.0.0.0:0`; port 0 picks a free port). */
  bind?: string;
  /** A 32-byte identity seed (bytes or hex); default: a fresh identity. */
  seed?: Uint8Array | string;
  /** How long {@link Mesh.connect} waits for an answer (default 5000). */
  handshakeTimeoutMs?: number;
  /** How often connect resends its first message while waiting (default 250). */
  handshakeRetryMs?: number;
  /** Messages held for {@link Mesh.recv} before new ones are dropped (default 65536). */
  inboxCapacity?: number;
  /** How long a reliable message waits for its ack before it is resent (default 200). */
  retransmitTimeoutMs?: number;
  /**
   * How often this node sends its neighbours a beacon with the routes it
   * knows (default 1000, at least 1). A neighbour silent for 3 intervals is
   * `suspect`, for 6 `failed` (routes through it are dropped).
   */
  beaconIntervalMs?: number;
  /** The most relays a routed packet may cross; longer routes are not learned (default 8, 1..=255). */
  maxHops?: number;
  /**
   * How often the side that opened a session runs a fresh handshake with the
   * peer (default 120000, > 0); streams carry on across it.
   */
  rekeyIntervalMs?: number;
  /**
   * How long a session may stay silent before it is dropped (default 30000,
   * at least 3 beacon intervals); sends to that peer then fail with
   * UnknownPeerError.
   */
  sessionTimeoutMs?: number;
  /** Which peers' keys this node accepts (default: open, any key that completes the handshake). */
  trust?: TrustOptions;
  /** Remember peers (and, under TOFU, their pinned keys) across restarts in a JSON file. */
  peerStore?: PeerStoreOptions;
  /** Write every trust decision as one hash-chained JSON line. */
  auditLog?: AuditLogOptions;
  /** This node's subnet, how peers' subnets are derived, and how announcements live and are paced. */
  capabilities?: CapabilityOptions;
}

/** The capability part of {@link MeshOptions}. */
export interface CapabilityOptions {
  /** This node's subnet (default: the root). */
  subnet?: SubnetId | string;
  /** Derives peers' subnets from their announced tags (default: none, every peer in the root). */
  subnetPolicy?: SubnetPolicy;
  /** How long this node's announcement stays in other indexes without a refresh (default 300000; refreshed at half). */
  ttlMs?: number;
  /** The shortest time between two announcements sent (default 10000). */
  minAnnounceIntervalMs?: number;
}

/** A channel's rules (see {@link Mesh.registerChannel}). */
export interface ChannelOptions {
  /** Which subnets may subscribe (default `'global'`). */
  visibility?: Visibility;
  /** What this node's own announced capabilities must satisfy to publish. */
  publishCaps?: Predicate;
  /** What a subscriber's announced capabilities must satisfy. */
  subscribeCaps?: Predicate;
  /** Subscribers present a token chain granting `subscribe` on the channel. */
  requireToken?: boolean;
  /** Reliable delivery (default) or fire-and-forget. */
  reliable?: boolean;
  /**
   * A reliable channel's answer to a subscriber whose window is full:
   * `'block'` (default) waits for room up to `blockTimeoutMs`, `'drop'` skips
   * it for that publish (`backpressure` in the report).
   */
  congestion?: Congestion;
  /** How long `'block'` waits for one subscriber in one publish (default 1000). */
  blockTimeoutMs?: number;
  /**
   * 0 (default) to 7. Each priority has its own data stream to each
   * subscriber, so a backlog on a lower one never holds up a higher one, and
   * packed messages of higher priorities leave first. Order holds within a
   * channel, not across priorities.
   */
  priority?: number;
}

/** What a publish does when a reliable subscriber's window is full. */
export type Congestion = 'block' | 'drop';

/**
 * A channel config in the engine's JSON form (text or an object) with every
 * default filled in, as a node registering it enforces it.
 * `InvalidChannelConfigError` (or `InvalidChannelNameError`,
 * `InvalidPredicateError`) for a bad one.
 */
export function normalizeChannelConfig(config: string | Record<string, unknown>): Record<string, unknown> {
  const text = typeof config === 'string' ? config : JSON.stringify(config);
  return JSON.parse(call(() => native.channelConfigNormalize(text))) as Record<string, unknown>;
}

/** The engine's JSON form of a channel's name and options. */
export function channelConfigJson(name: string, options: ChannelOptions = {}): Record<string, unknown> {
  return {
    name,
    visibility: options.visibility,
    publish_caps: options.publishCaps?.toJSON(),
    subscribe_caps: options.subscribeCaps?.toJSON(),
    require_token: options.requireToken,
    reliable: options.reliable,
    congestion: options.congestion,
    block_timeout_ms: options.blockTimeoutMs,
    priority: options.priority,
  };
}

/** Options of {@link Mesh.subscribe}. */
export interface SubscribeChannelOptions {
  /** The token chain, root grant first. */
  tokens?: PermissionToken[];
  /** How long to wait for the publisher's answer (default 10000). */
  timeoutMs?: number;
  /** Aborting it ends the wait at once with the signal's reason (the request is withdrawn). */
  signal?: AbortSignal;
}

/** Why a publish skipped a subscriber. */
export type SkipReason = 'expired' | 'revoked' | 'backpressure' | 'no_session';

/** What a publish did. */
export interface PublishReport {
  /** Roster members considered. */
  attempted: number;
  /** Messages handed to subscribers' streams. */
  delivered: number;
  /** Who was skipped, and why. */
  skipped: Array<{ nodeId: bigint; reason: SkipReason }>;
}

/** A public key in options: 32 bytes, or 64 hex characters. */
export type PublicKeyLike = Uint8Array | string;

/**
 * Which peers a node accepts. A refused peer gets no answer when it connects
 * here (it sees MeshTimeoutError); connecting to one rejects at once with
 * UntrustedPeerError.
 */
export interface TrustOptions {
  /**
   * `open`: any key that completes the handshake; `tofu`: the first key seen
   * at an address is pinned and a different one there is refused later;
   * `allowlist`: only the keys in `allow`.
   */
  policy: 'open' | 'tofu' | 'allowlist';
  /** The keys the allowlist accepts. */
  allow?: PublicKeyLike[];
  /** Keys pinned to addresses (`ip:port` -> key); they hold under every policy. */
  pinned?: Record<string, PublicKeyLike>;
}

/** The peer store: a JSON file written periodically and on close. */
export interface PeerStoreOptions {
  /** The file: read at bind when it exists, replaced atomically when written. */
  path: string;
  /** How long a peer not heard from is kept (default 7 days). */
  ttlMs?: number;
  /** The most peers kept; past it the least recently seen go first (default 1024). */
  maxEntries?: number;
  /** How often the file is written (default 30000). */
  flushIntervalMs?: number;
}

/** The audit log: JSON lines, rotated by size. */
export interface AuditLogOptions {
  /** The live file; rotated ones sit beside it as `<path>.1`, `<path>.2`, ... */
  path: string;
  /** Rotate before a line would take the file past this many bytes (default 10 MiB). */
  maxBytes?: number;
  /** How many rotated files are kept (default 5). */
  keep?: number;
}

/** How a stream is opened. */
export interface StreamOptions {
  /** Reliable: in order, exactly once, resent until acknowledged (default false: fire-and-forget). */
  reliable?: boolean;
  /** Reliable only: the most messages in flight before sends report backpressure (default 256). */
  window?: number;
}

/** Options of a wait; no `timeoutMs` (or Infinity) waits as long as it takes. */
/** Options of {@link Mesh.connect} and {@link Mesh.connectRouted}. */
export interface ConnectOptions {
  /**
   * Aborting it ends the connect at once with the signal's reason and
   * abandons the handshake (its time limit is the node's
   * `handshakeTimeoutMs`).
   */
  signal?: AbortSignal;
}

export interface WaitOptions {
  timeoutMs?: number;
  /** Aborting it ends the wait at once with the signal's reason (receives and blocking sends). */
  signal?: AbortSignal;
}

/** A message received from a peer. */
export interface MeshMessage {
  /** The sender's node id. */
  from: bigint;
  /** The stream it was sent on. */
  streamId: bigint;
  /** The decrypted bytes. */
  payload: Buffer;
}

/**
 * How a neighbour is doing: `alive` (heard from within 3 beacon intervals),
 * `suspect` (silent for 3), `failed` (silent for 6; routes through it are no
 * longer used). Routed peers are always `alive`.
 */
export type PeerHealth = 'alive' | 'suspect' | 'failed';

/** A peer this node holds a session with. */
export interface MeshPeer {
  nodeId: bigint;
  /** The peer's 32-byte ed25519 public key, proven by the handshake. */
  publicKey: Buffer;
  /** Where its packets come from (`ip:port`; for a routed peer, its last relay's). */
  addr: string;
  /** Whether the peer has proven it holds the network key. */
  confirmed: boolean;
  /** Whether its packets go through relays ({@link Mesh.connectRouted}) rather than straight to it. */
  routed: boolean;
  /** How recently it was heard from. */
  health: PeerHealth;
  /** The packet cipher the handshake agreed with it. */
  cipher: PeerCipher;
}


/** The best known route to one node, learned from neighbours' beacons. */
export interface MeshRoute {
  /** The node it reaches. */
  dest: bigint;
  /** The neighbour packets to it are sent to. */
  nextHop: bigint;
  /** How many hops away it is (1: a neighbour). */
  hops: number;
}

/** A peer remembered by the peer store. */
export interface KnownPeer {
  /** Where it was reached (`ip:port`). */
  addr: string;
  nodeId: bigint;
  /** Its 32-byte ed25519 public key. */
  publicKey: Buffer;
  /** Unix milliseconds of the last successful handshake. */
  lastSuccessMs: number;
  /** Failed connection attempts since then. */
  failures: number;
}

/* MeshStats (a node's counters) is generated: mesh_stats.ts. */

/** One stream's counters with one peer. */
export interface StreamStats {
  peer: bigint;
  streamId: bigint;
  /** How this side sends on it. */
  reliability: 'fire_and_forget' | 'reliable';
  /** Messages sent (first transmissions only). */
  sent: number;
  /** Messages received from the peer on this stream. */
  received: number;
  /** Messages sent and not yet acknowledged. */
  inFlight: number;
  /** The credit window (0 for fire-and-forget). */
  window: number;
  backpressureEvents: number;
  retransmits: number;
  duplicates: number;
}

/** Which way a bus link carries events. */
export type BusLinkDirection = 'send' | 'receive';

/** How a bus link runs; unset options keep the engine's defaults (both ends must agree on `streamId`). */
export interface BusLinkOptions {
  /** The reliable stream carrying the events (default 6452595, "bus" in ASCII). */
  streamId?: MeshId;
  /** Send: events taken from the bus per batch, freed once the peer acknowledged them (default 1024, 1..=65536). */
  maxBatch?: number;
  /** Send: the size events are packed into messages to (default 16384, 6..=65423); bigger events are split. */
  messageBytes?: number;
}

/** {@link BusLinkOptions} with the direction, for {@link Mesh.linkBus}. */
export interface LinkBusOptions extends BusLinkOptions {
  direction: BusLinkDirection;
}

/** A bus link's counters. */
export interface BusLinkStats {
  direction: BusLinkDirection;
  /** The peer's node id. */
  peer: bigint;
  /** The stream the link uses. */
  streamId: bigint;
  /** Events carried: acknowledged by the peer (send) or emitted into the local bus (receive). */
  events: number;
  /** Their payload bytes. */
  bytes: number;
  /** Stream messages sent or received. */
  messages: number;
  /** Receive: events the local bus refused for good (bigger than its `maxEventSize`). */
  rejected: number;
  /** Receive: messages that were not well-formed link messages. */
  malformed: number;
  /** Times the link had to wait: the peer's session was gone (send), or the local bus was full (receive). */
  stalls: number;
  /** Whether the link still runs (false once closed, or once its bus or node shut down). */
  running: boolean;
  /** Why the link stopped on its own (`"bus:shutdown: ..."`, `"mesh:shutdown: ..."`), or null. */
  error: string | null;
}

/** How many messages one native recv takes at most. */
const RECV_BATCH = 256;

type Json = Record<string, unknown>;

const camel = (key: string): string => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const snake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Parses the engine's JSON (64-bit ids come as decimal strings) into bigints and camelCase keys. */
function parseIds(text: string): unknown {
  const convert = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(convert);
    if (value === null || typeof value !== 'object') return value;
    const out: Json = {};
    for (const [k, v] of Object.entries(value as Json)) {
      out[camel(k)] = k === 'node_id' || k === 'peer' || k === 'stream_id' ? BigInt(v as string) : convert(v);
    }
    return out;
  };
  return convert(JSON.parse(text));
}

const view = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

function payloadOf(p: MeshPayload): Buffer {
  if (p instanceof Uint8Array) return view(p);
  if (typeof p === 'string') return Buffer.from(p, 'utf8');
  throw new InvalidMeshArgumentError(`mesh:invalid_argument: a payload is a Buffer, Uint8Array or string, got ${typeof p}`);
}

function u64(v: MeshId, what: string): bigint {
  if (typeof v === 'bigint') return v; // the addon checks the range
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  throw new InvalidMeshArgumentError(`mesh:invalid_argument: ${what} must be a bigint or a safe integer, got ${String(v)}`);
}

/** When a wait with these options ends (checked by the engine's rule). */
function deadline(options: WaitOptions): number {
  return deadlineOf(options.timeoutMs, 'mesh');
}

function publicKeyOf(key: Uint8Array | string): Buffer {
  if (key instanceof Uint8Array) return view(key);
  if (typeof key === 'string' && /^(?:[0-9a-fA-F]{2})*$/.test(key)) return Buffer.from(key, 'hex');
  throw new InvalidKeyError('identity:invalid_key: a public key is 32 bytes or 64 hex characters');
}

/** A key for the engine's config: bytes become hex; the engine checks the rest. */
function hexKey(key: unknown): unknown {
  return key instanceof Uint8Array ? view(key).toString('hex') : key;
}

const isPlain = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array);

/** How the value of one option key is converted (by its camelCase name). */
type Converters = ReadonlyMap<string, (value: unknown) => unknown>;

/** One level of options in the engine's form: keys snake_case, bytes hex, unset options left out. */
function section(options: Json, nested: Converters = new Map()): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const convert = nested.get(key);
    out[snake(key)] = convert ? convert(value) : value instanceof Uint8Array ? view(value).toString('hex') : value;
  }
  return out;
}

/** A nested section (anything but a plain object is left for the engine to refuse). */
const nestedSection =
  (nested: Converters = new Map()) =>
  (value: unknown): unknown =>
    isPlain(value) ? section(value, nested) : value;

/** The trust section: `allow` keys and `pinned` keys as hex; pinned addresses are kept exactly. */
const TRUST: Converters = new Map([
  ['allow', (keys: unknown) => (Array.isArray(keys) ? keys.map(hexKey) : keys)],
  [
    'pinned',
    (pins: unknown) =>
      isPlain(pins) ? Object.fromEntries(Object.entries(pins).map(([addr, key]) => [addr, hexKey(key)])) : pins,
  ],
]);

/** The capabilities section: the subnet as text, the policy as its JSON. */
const CAPABILITIES: Converters = new Map([
  ['subnet', (subnet: unknown) => (subnet instanceof SubnetId ? subnet.toString() : subnet)],
  ['subnetPolicy', (policy: unknown) => (policy instanceof SubnetPolicy ? policy.toJSON() : policy)],
]);

const OPTIONS: Converters = new Map([
  ['trust', nestedSection(TRUST)],
  ['peerStore', nestedSection()],
  ['auditLog', nestedSection()],
  ['capabilities', nestedSection(CAPABILITIES)],
]);

/** The engine's JSON config from options: camelCase keys become snake_case, bytes become hex. */
function configJson(options: MeshOptions): string {
  return engineJson(section(options as unknown as Json, OPTIONS));
}

/** A send waiting for window room, one addon slice at a time (-1: sent). */
async function blocking(
  until: number,
  slice: (remainingMs: number, cancel: native.CancelToken | null) => Promise<number>,
  signal?: AbortSignal,
): Promise<void> {
  // The last slice rejects with the engine's MeshTimeoutError.
  await sliced<true>(
    until,
    async (remaining, cancel) => ((await slice(remaining, cancel)) === -1 ? true : undefined),
    () => true,
    signal,
  );
}

/** A send retrying on backpressure, a few retries per addon call (-1: sent). */
async function retrying(maxRetries: number, slice: (left: number) => Promise<number>): Promise<void> {
  let left = maxRetries;
  for (;;) {
    const out = await settle(() => slice(left));
    if (out === -1) return;
    left = out;
  }
}

function payloadBuffer(payload: Uint8Array | string): Buffer {
  return typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
}

function publishReport(json: string): PublishReport {
  const raw = JSON.parse(json) as {
    attempted: number;
    delivered: number;
    skipped: Array<{ node_id: string; reason: SkipReason }>;
  };
  return {
    attempted: raw.attempted,
    delivered: raw.delivered,
    skipped: raw.skipped.map((s) => ({ nodeId: BigInt(s.node_id), reason: s.reason })),
  };
}

async function settle<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw classify(err);
  }
}

/**
 * An open stream to one peer. `send` never waits: on a reliable stream with a
 * full window it throws {@link StreamBackpressureError}; `sendWithRetry` and
 * `sendBlocking` wait for room. Await each send to keep your own order.
 */
export class MeshStream {
  /** @internal */
  constructor(
    private readonly native: native.MeshStream,
    /** The peer's node id. */
    readonly peer: bigint,
    /** The stream id. */
    readonly id: bigint,
    /** Whether this side sends reliably. */
    readonly reliable: boolean,
  ) {}

  /** Sends at once. */
  send(payload: MeshPayload): void {
    const buf = payloadOf(payload);
    call(() => this.native.send(buf));
  }

  /** Sends, retrying on backpressure up to `maxRetries` times (with growing pauses). */
  async sendWithRetry(payload: MeshPayload, maxRetries: number): Promise<void> {
    const buf = payloadOf(payload);
    await retrying(maxRetries, (left) => this.native.sendWithRetry(buf, left));
  }

  /** Sends, waiting up to `timeoutMs` for window room (MeshTimeoutError if it stays full). */
  async sendBlocking(payload: MeshPayload, options: WaitOptions = {}): Promise<void> {
    const buf = payloadOf(payload);
    await blocking(deadline(options), (remaining, cancel) => this.native.sendBlocking(buf, remaining, cancel), options.signal);
  }

  /** The stream's counters now. */
  stats(): StreamStats {
    // Zero counters if the node holds no state for it, as in every language.
    return parseIds(this.native.statsJson()) as StreamStats;
  }
}

/** One value of the link options' JSON; bigints and numbers are written as they are, so ids stay exact. */
function jsonValue(value: unknown): string {
  if (typeof value === 'bigint' || typeof value === 'number') return String(value);
  return JSON.stringify(value) ?? String(value);
}

/** The engine's JSON form of link options (only the keys that were set; the engine checks the values). */
function linkOptionsJson(options: LinkBusOptions): string {
  const fields: Array<[string, unknown]> = [
    ['direction', options.direction],
    ['stream_id', options.streamId === undefined ? undefined : u64(options.streamId, 'streamId')],
    ['max_batch', options.maxBatch],
    ['message_bytes', options.messageBytes],
  ];
  const set = fields.filter(([, value]) => value !== undefined);
  return `{${set.map(([key, value]) => `"${key}":${jsonValue(value)}`).join(',')}}`;
}

function nativeBusOf(bus: NetNode): native.Bus {
  if (!(bus instanceof NetNode)) {
    throw new InvalidMeshArgumentError(`mesh:invalid_argument: a bus link needs a NetNode, got ${String(bus)}`);
  }
  return bus.nativeBus();
}

/**
 * A bus link between a local bus and a peer (see {@link Mesh.linkBus}). It
 * runs until {@link close}, or until its bus or node shuts down (then
 * `stats().running` is false and `stats().error` says why). Closing the mesh
 * or the bus does not close the link object; close it too.
 */
export class BusLink {
  private closing: Promise<void> | null = null;

  /** @internal */
  constructor(private readonly native: native.BusLink) {}

  /** The link's counters now (also after close). */
  stats(): BusLinkStats {
    return parseIds(this.native.statsJson()) as BusLinkStats;
  }

  /**
   * Stops the link (idempotent) and resolves once its thread has stopped: a
   * send link leaves unacknowledged events in its bus for the next link, a
   * receive link first hands what it already received to its bus.
   */
  close(): Promise<void> {
    this.closing ??= settle(() => this.native.close());
    return this.closing;
  }
}

/**
 * A mesh node. Create one with {@link Mesh.bind}; close it with
 * {@link Mesh.close}. Every method throws (or rejects with) a NetError subclass.
 *
 * ```ts
 * const mesh = await Mesh.bind({ networkKey: '07'.repeat(32), bind: '127.0.0.1:0' });
 * const peer = await mesh.connect(otherAddr, otherPublicKey);
 * const stream = mesh.openStream(peer, 2n, { reliable: true });
 * await stream.sendBlocking('hello', { timeoutMs: 1000 });
 * for await (const message of mesh.messages()) console.log(message.payload.toString());
 * ```
 */
export class Mesh {
  private buffered: MeshMessage[] = [];
  private closing: Promise<void> | null = null;

  private constructor(private readonly native: native.Mesh) {}

  /** Binds a node (its socket and threads start now). */
  static async bind(options: MeshOptions): Promise<Mesh> {
    return Mesh.fromConfig(configJson(options));
  }

  /** Binds a node from the engine's JSON configuration (snake_case keys, hex bytes). */
  static fromConfig(configJson: string): Mesh {
    return new Mesh(call(() => native.Mesh.bind(configJson)));
  }

  /** The bound address, `ip:port` (with the real port when 0 was asked for). */
  get localAddr(): string {
    return call(() => this.native.localAddr());
  }

  /** This node's 32-byte ed25519 public key. */
  get publicKey(): Buffer {
    return this.native.publicKey();
  }

  /** This node's id. */
  get nodeId(): bigint {
    return this.native.nodeId();
  }

  /**
   * Opens a session with the node at `addr` whose public key is `publicKey`
   * (bytes or hex); resolves with its node id. Rejects with
   * HandshakeFailedError (another network key or identity), MeshTimeoutError
   * (no answer within the handshake timeout; also what a peer whose trust
   * policy refuses this node sees), UntrustedPeerError (this node's trust
   * policy refuses `publicKey` at `addr`, at once), InvalidKeyError or
   * InvalidArgumentError (not an `ip:port`). Aborting `options.signal`
   * rejects at once with its reason and abandons the handshake.
   */
  async connect(addr: string, publicKey: Uint8Array | string, options: ConnectOptions = {}): Promise<bigint> {
    if (typeof addr !== 'string') {
      throw new InvalidMeshArgumentError(`mesh:invalid_argument: an address is an "ip:port" string, got ${typeof addr}`);
    }
    const key = publicKeyOf(publicKey);
    return this.drive(call(() => this.native.startConnect(addr, key)), options.signal);
  }

  /**
   * Opens a session through relays with the node whose public key is
   * `publicKey` (bytes or hex), along the route learned from neighbours'
   * beacons (see {@link Mesh.routes}); resolves with its node id. Rejects
   * with UnknownPeerError (no route to it yet), MeshTimeoutError,
   * HandshakeFailedError, UntrustedPeerError or InvalidKeyError.
   */
  async connectRouted(publicKey: Uint8Array | string, options: ConnectOptions = {}): Promise<bigint> {
    const key = publicKeyOf(publicKey);
    return this.drive(call(() => this.native.startConnectRouted(key)), options.signal);
  }

  /** Drives a handshake one slice at a time until it is done. */
  private async drive(connecting: native.Connecting, signal?: AbortSignal): Promise<bigint> {
    return sliced<bigint>(
      Infinity,
      async (_remaining, cancel) => (await connecting.wait(cancel)) ?? undefined,
      () => {
        throw new MeshTimeoutError('mesh:timeout: the handshake did not finish');
      },
      signal,
    );
  }

  /** The best known route to each reachable node (neighbours included, 1 hop). */
  routes(): MeshRoute[] {
    const routes = JSON.parse(this.native.routesJson()) as Array<{ dest: string; next_hop: string; hops: number }>;
    return routes.map((r) => ({ dest: BigInt(r.dest), nextHop: BigInt(r.next_hop), hops: r.hops }));
  }

  /**
   * Opens stream `streamId` to a connected peer. Opening it again with the
   * same options returns the same stream; other options throw
   * InvalidMeshConfigError. Streams never opened are fire-and-forget.
   */
  openStream(peer: MeshId, streamId: MeshId, options: StreamOptions = {}): MeshStream {
    const node = u64(peer, 'peer');
    const id = u64(streamId, 'streamId');
    // An option left out is the engine's default (fire-and-forget; window 256).
    const native = call(() => this.native.openStream(node, id, options.reliable ?? null, options.window ?? 0));
    const reliable = (JSON.parse(native.statsJson()) as { reliability: string }).reliability === 'reliable';
    return new MeshStream(native, node, id, reliable);
  }

  /** Sends on a stream by ids, at once (see {@link MeshStream.send}). */
  send(peer: MeshId, streamId: MeshId, payload: MeshPayload): void {
    const node = u64(peer, 'peer');
    const id = u64(streamId, 'streamId');
    const buf = payloadOf(payload);
    call(() => this.native.send(node, id, buf));
  }

  /** Sends on a stream by ids, retrying on backpressure up to `maxRetries` times. */
  async sendWithRetry(peer: MeshId, streamId: MeshId, payload: MeshPayload, maxRetries: number): Promise<void> {
    const node = u64(peer, 'peer');
    const id = u64(streamId, 'streamId');
    const buf = payloadOf(payload);
    await retrying(maxRetries, (left) => this.native.sendWithRetry(node, id, buf, left));
  }

  /** Sends on a stream by ids, waiting up to `timeoutMs` for window room. */
  async sendBlocking(peer: MeshId, streamId: MeshId, payload: MeshPayload, options: WaitOptions = {}): Promise<void> {
    const node = u64(peer, 'peer');
    const id = u64(streamId, 'streamId');
    const buf = payloadOf(payload);
    await blocking(
      deadline(options),
      (remaining, cancel) => this.native.sendBlocking(node, id, buf, remaining, cancel),
      options.signal,
    );
  }

  /**
   * The next message, waiting up to `timeoutMs` (none: as long as it takes);
   * null on timeout. Rejects with MeshShutdownError once the node is closed
   * and every received message has been taken (also while waiting).
   */
  async recv(options: WaitOptions = {}): Promise<MeshMessage | null> {
    const batch = await this.take(1, deadline(options), options.signal);
    return batch.length > 0 ? batch[0] : null;
  }

  /**
   * Up to `max` messages: those already there, or the first to come within
   * `timeoutMs` and whatever came with it; `[]` on timeout.
   */
  async recvBatch(max = RECV_BATCH, options: WaitOptions = {}): Promise<MeshMessage[]> {
    return this.take(max, deadline(options), options.signal);
  }

  private async take(max: number, until: number, signal?: AbortSignal): Promise<MeshMessage[]> {
    if (this.buffered.length > 0) return this.buffered.splice(0, Math.max(1, max));
    const batch = await sliced<native.NativeMeshMessage[]>(
      until,
      async (remaining, cancel) => {
        const got = await this.native.recv(max, remaining, cancel);
        return got.length > 0 ? got : undefined;
      },
      () => [],
      signal,
    );
    return batch;
  }

  /**
   * Every incoming message, as an async iterator: `for await (const m of
   * mesh.messages())`. It ends when the node is closed (once drained);
   * `break` leaves the node open.
   */
  async *messages(): AsyncGenerator<MeshMessage, void, undefined> {
    for (;;) {
      // What is left here when the consumer breaks is kept for the next recv.
      while (this.buffered.length > 0) yield this.buffered.shift() as MeshMessage;
      try {
        this.buffered.push(...(await this.take(RECV_BATCH, Infinity)));
      } catch (err) {
        if (err instanceof MeshShutdownError) return;
        throw err;
      }
    }
  }

  /**
   * Calls `fn(message)` for every message the node receives (each taken from
   * the inbox, as `recv` takes it), on the event loop; see {@link Handler}.
   * Throws MeshShutdownError on a closed node.
   */
  onMessage(fn: (message: MeshMessage) => unknown, options: HandlerOptions = {}): Handler {
    return register(
      (deliver) => this.native.onMessage(deliver),
      (m: native.NativeMeshMessage): MeshMessage => m,
      fn,
      options,
    );
  }

  /** The peers this node holds sessions with, by node id. */
  peers(): MeshPeer[] {
    const peers = parseIds(this.native.peersJson()) as Array<MeshPeer & { publicKey: string }>;
    return peers.map((p) => ({ ...p, publicKey: Buffer.from(p.publicKey, 'hex') }));
  }

  /**
   * The peers remembered by the peer store (with `peerStore` set; `[]`
   * otherwise), including those loaded from its file at bind.
   */
  knownPeers(): KnownPeer[] {
    const peers = parseIds(this.native.knownPeersJson()) as Array<KnownPeer & { publicKey: string }>;
    return peers.map((p) => ({ ...p, publicKey: Buffer.from(p.publicKey, 'hex') }));
  }

  /** The node's counters (also after close). */
  stats(): MeshStats {
    return parseIds(this.native.statsJson()) as MeshStats;
  }

  /**
   * Tells the mesh what this node can do: `caps` is signed, indexed as this
   * node's own at once and sent to every peer, which passes it on (up to 16
   * hops). Within `capabilities.minAnnounceIntervalMs` of the last one, the
   * latest set goes out when the interval is up.
   */
  announceCapabilities(caps: CapabilitySet): void {
    call(() => this.native.announceCapabilities(JSON.stringify(caps)));
  }

  /**
   * The ids of the nodes whose announced sets satisfy `predicate` (this
   * node's own included), ascending. `scope` (`'global'`, `'same_subnet'`,
   * `'tenant:<id>'`, `'region:<name>'`) filters by the providers' scope tags.
   */
  findNodes(predicate: Predicate, scope?: string): bigint[] {
    const json = call(() => this.native.findNodesJson(JSON.stringify(predicate), scope ?? null));
    return (JSON.parse(json) as string[]).map((id) => BigInt(id));
  }

  /** The set a node announced (this node's own included); null when unknown or expired. */
  capabilitiesOf(node: MeshId): CapabilitySet | null {
    const json = call(() => this.native.capabilitiesOf(u64(node, 'node')));
    return json === null ? null : CapabilitySet.fromJSON(json);
  }

  /**
   * A node's subnet: this node's configured one for itself, the one the
   * subnet policy derives from a peer's announced tags (null before it announced).
   */
  subnetOf(node: MeshId): SubnetId | null {
    const value = call(() => this.native.subnetOf(u64(node, 'node')));
    return value === null ? null : new SubnetId(value);
  }

  /** The capability announcement counters now. */
  capabilityStats(): CapabilityStats {
    return parseIds(call(() => this.native.capabilityStatsJson())) as CapabilityStats;
  }

  /**
   * Registers a channel this node publishes on, with its rules
   * (`channel:invalid_config` when it is registered already).
   */
  registerChannel(name: string, options: ChannelOptions = {}): void {
    const config = channelConfigJson(name, options);
    call(() => this.native.registerChannel(JSON.stringify(config)));
  }

  /** Drops a channel and its roster; false when it was not registered. */
  unregisterChannel(name: string): boolean {
    return call(() => this.native.unregisterChannel(name));
  }

  /** The node ids subscribed to a registered channel, ascending. */
  channelSubscribers(name: string): bigint[] {
    return (JSON.parse(call(() => this.native.channelSubscribersJson(name))) as string[]).map((id) => BigInt(id));
  }

  /**
   * The token cache subscribers' chains are checked against: trust roots and
   * revoke tokens there (the next publish drops members whose chains rest on
   * a revoked one).
   */
  get tokenCache(): TokenCache {
    return new TokenCache(call(() => this.native.tokenCache()));
  }

  /**
   * Sends `payload` on a registered channel to every subscriber the auth
   * guard admits. `channel:unknown_channel` for a channel not registered
   * here, `channel:unauthorized` when this node misses its `publishCaps`.
   */
  publish(channel: string, payload: Uint8Array | string): PublishReport {
    return publishReport(call(() => this.native.publish(channel, payloadBuffer(payload))));
  }

  /**
   * {@link publish} on the libuv thread pool: the event loop never waits. A
   * reliable channel's `block` congestion policy makes `publish` wait (up to
   * `blockTimeoutMs` per subscriber) while a subscriber's window is full; a
   * server that must not stall its event loop publishes with this.
   */
  async publishAsync(channel: string, payload: Uint8Array | string): Promise<PublishReport> {
    const bytes = payloadBuffer(payload);
    return publishReport(await settle(() => this.native.publishAsync(channel, bytes)));
  }

  /**
   * Asks `publisher` for `pattern` (a channel name, `prefix/*` or
   * `prefix/**`), presenting `tokens` (root grant first), and resolves once
   * it answers (within `timeoutMs`, default 10000). A refusal rejects with
   * its reason: `UnknownChannelError`, `ChannelUnauthorizedError`,
   * `ChannelRateLimitedError`, `ChannelSubnetError`.
   */
  async subscribe(publisher: MeshId, pattern: string, options: SubscribeChannelOptions = {}): Promise<ChannelSubscription> {
    const chain = Buffer.concat((options.tokens ?? []).map((t) => Buffer.from(t.bytes)));
    const node = u64(publisher, 'publisher');
    const timeoutMs = options.timeoutMs ?? 10_000;
    const pending = call(() => this.native.startSubscribe(node, pattern, chain));
    try {
      // In slices of at most 100 ms: no libuv thread waits longer, and the
      // signal ends the wait between slices.
      const subscription = await sliced<native.ChannelSubscription>(
        deadlineOf(timeoutMs, 'mesh'),
        async (remaining) => (await pending.poll(remaining)) ?? undefined,
        () => {
          throw new MeshTimeoutError(`mesh:timeout: no answer to the subscribe request within ${timeoutMs} ms`);
        },
        options.signal,
      );
      return new ChannelSubscription(subscription);
    } finally {
      pending.abandon(); // nothing once answered; otherwise the publisher forgets the request
    }
  }

  /**
   * A typed channel over the mesh: `publish(value)` on a channel this node
   * registered, `subscribe(publisher, {tokens})` at another node; values are
   * JSON, checked by `schema` (anything with `parse(data): T`, such as a Zod
   * schema) when given. `channel:invalid_name` for a bad name.
   */
  channel<T = unknown>(name: string, schema?: Schema<T>): MeshChannel<T> {
    return new MeshChannel<T>(this, name, schema);
  }

  /** The channel counters now. */
  channelStats(): ChannelStats {
    return parseIds(call(() => this.native.channelStatsJson())) as ChannelStats;
  }

  /** One stream's counters, or null if nothing was ever sent or received on it. */
  streamStats(peer: MeshId, streamId: MeshId): StreamStats | null {
    const node = u64(peer, 'peer');
    const id = u64(streamId, 'streamId');
    const json = call(() => this.native.streamStatsJson(node, id));
    return json === null ? null : (parseIds(json) as StreamStats);
  }

  /**
   * Links `bus` to the peer `peer` (see {@link BusLink}). A `send` link
   * consumes `bus`: it takes its events and sends them on a reliable stream,
   * freeing each batch once the peer acknowledged it (at least once). A
   * `receive` link takes that stream from `peer` (link streams are the bus
   * link protocol's own, so they never reach {@link recv}) and emits every
   * event into `bus`, where poll and subscribe read it; it does not need the
   * session to exist yet.
   *
   * Rejects with UnknownPeerError (a send link with no session to `peer`),
   * InvalidMeshConfigError (bad options; a receive link already open on the
   * stream from `peer`; a send link's stream open another way),
   * ShutdownError (the bus is shut down) or MeshShutdownError.
   */
  async linkBus(bus: NetNode, peer: MeshId, options: LinkBusOptions): Promise<BusLink> {
    return this.link(bus, peer, linkOptionsJson(options));
  }

  /** A send link from `bus` to `peer` (see {@link linkBus}). */
  async sendBus(bus: NetNode, peer: MeshId, options: BusLinkOptions = {}): Promise<BusLink> {
    return this.link(bus, peer, linkOptionsJson({ ...options, direction: 'send' }));
  }

  /** A receive link from `peer` into `bus` (see {@link linkBus}). */
  async receiveBus(bus: NetNode, peer: MeshId, options: BusLinkOptions = {}): Promise<BusLink> {
    return this.link(bus, peer, linkOptionsJson({ ...options, direction: 'receive' }));
  }

  /**
   * A link from the engine's JSON options (`{"direction": "send" |
   * "receive", "stream_id", "max_batch", "message_bytes"}`, snake_case).
   */
  async linkBusFromConfig(bus: NetNode, peer: MeshId, optionsJson: string): Promise<BusLink> {
    return this.link(bus, peer, optionsJson);
  }

  private async link(bus: NetNode, peer: MeshId, optionsJson: string): Promise<BusLink> {
    const handle = nativeBusOf(bus);
    const node = u64(peer, 'peer');
    return new BusLink(await settle(() => this.native.linkBus(handle, node, optionsJson)));
  }

  /**
   * Closes the node (idempotent): pending waits reject with MeshShutdownError,
   * later calls throw it (`localAddr` too). Messages already received can
   * still be taken. Resolves once the node's threads have stopped and its
   * port is free again.
   */
  close(): Promise<void> {
    this.closing ??= settle(() => this.native.shutdown());
    return this.closing;
  }
}
