/* Types of the native addon @netmesh/core (hand-written; a test checks them
 * against the loaded module). */

export const EXPECTED_ABI_VERSION: number;
/** This release's version (every Net package of a release carries it). */
export const VERSION: string;

export interface ErrorKindInfo {
  kind: string;
  area: string;
  reason: string;
  code: number;
}

export interface Receipt {
  shard: number;
  seq: bigint;
}

export interface NativeEvent {
  shard: number;
  seq: bigint;
  timestampNs: bigint;
  raw: Buffer;
}

export interface NativePoll {
  events: NativeEvent[];
  nextCursor: string;
  hasMore: boolean;
}

export function abiVersion(): number;
/** A cancel token: cancel() wakes every wait given it (call:cancelled). */
export class CancelToken {
  constructor();
  cancel(): void;
  isCancelled(): boolean;
}
export function errorKinds(): ErrorKindInfo[];
/** The longest one native wait lasts, in milliseconds. */
export function waitSliceMs(): number;
/** A timeout checked by the engine's rule: milliseconds, or -1 for no limit. */
export function checkTimeout(timeoutMs: number | null | undefined, area: string): number;

export class Bus {
  constructor(configJson?: string | null);
  emitRaw(data: Buffer): Receipt;
  emitJson(text: string): Receipt;
  emitRawBatch(events: Buffer[]): number;
  emitPacked(data: Buffer, lens: number[]): number;
  emitJsonBatch(events: string[]): number;
  poll(limit: number, cursor?: string | null, filterJson?: string | null): NativePoll;
  subscribe(cursor?: string | null, filterJson?: string | null): Subscription;
  onEvent(deliver: (events: NativeEvent[]) => void, cursor?: string | null, filterJson?: string | null): Handler;
  flush(): void;
  stats(): string;
  channelPublish(name: string, payload: Buffer): number;
  channelSubscribe(pattern: string): ChannelSubscription;
  channelStatsJson(): string;
  health(): string;
  shutdown(): void;
}

export interface NativeHandlerStats {
  delivered: bigint;
  failed: bigint;
  closed: boolean;
}

export class Handler {
  close(rest?: number | null): void;
  isClosed(): boolean;
  failed(n: number): boolean;
  ref(): void;
  unref(): void;
  stats(): NativeHandlerStats;
}

export class Subscription {
  nextBatch(max: number, remainingMs: number, cancel?: CancelToken | null): Promise<NativeEvent[] | null>;
  unread(count: number): void;
  cursor(): string;
  close(): void;
}

export interface PublicKeyIds {
  nodeId: bigint;
  originHash: number;
}

export function verify(publicKey: Buffer, message: Buffer, signature: Buffer): void;
export function publicKeyIds(publicKey: Buffer): PublicKeyIds;
export function headerEncode(fieldsJson: string): Buffer;
export function headerDecode(data: Buffer): string;
export function routingEncode(fieldsJson: string): Buffer;
export function routingDecode(data: Buffer): string;

export class Identity {
  static fromSeed(seed: Buffer): Identity;
  static generate(): Identity;
  seed(): Buffer;
  publicKey(): Buffer;
  nodeId(): bigint;
  sign(message: Buffer): Buffer;
  issueToken(requestJson: string, strict: boolean): Buffer;
  delegateToken(parent: Buffer, requestJson: string): Buffer;
}

export const TOKEN_LEN: number;
export function tokenScopeBits(names: string[]): number;
export function tokenVerify(token: Buffer, now?: number | null): void;
export function tokenId(token: Buffer): Buffer;
export function tokenJson(token: Buffer): string;
export function tokenCovers(token: Buffer, name: string): boolean;
export class TokenCache {
  constructor();
  trust(publicKey: Buffer): void;
  revoke(id: Buffer): void;
  isRevoked(id: Buffer): boolean;
  install(chain: Buffer, subject: Buffer, scopeBits: number, channel: string, now?: number | null): Buffer;
  verify(chain: Buffer, subject: Buffer, scopeBits: number, channel: string, now?: number | null): Buffer;
  check(subject: Buffer, scopeBits: number, channel: string, now?: number | null): Buffer;
  sweep(now?: number | null): number;
  size(): number;
}
export function capabilityNormalize(setJson: string): string;
export function capabilityViews(setJson: string): string;
export function capabilityValidate(setJson: string): string;
export function capabilityDiff(beforeJson: string, afterJson: string): string;
export function capabilityApply(setJson: string, diffJson: string): string;
export function predicateNormalize(predicateJson: string): string;
export function predicateEvaluate(predicateJson: string, setJson: string): boolean;
export function subnetParse(text: string): number;
export function subnetFromLevels(levels: number[]): number;
export function subnetFormat(value: number): string;
export function subnetVisible(visibility: string, publisher: number, peer: number): boolean;
export function subnetAssign(policyJson: string, setJson: string): number;
export interface NativeChannelMessage {
  publisher: bigint;
  channel: string;
  payload: Buffer;
}
export class PendingSubscribe {
  poll(remainingMs: number): Promise<ChannelSubscription | null>;
  abandon(): void;
}
export class ChannelSubscription {
  publisher(): bigint;
  acceptedJson(): string;
  next(remainingMs: number, cancel?: CancelToken | null): Promise<NativeChannelMessage | null>;
  onMessage(deliver: (messages: NativeChannelMessage[]) => void): Handler;
  close(): void;
}
export function channelCheckName(name: string): void;
export function channelHash(name: string): bigint;
export function channelConfigNormalize(config: string): string;
export function channelMatches(pattern: string, name: string): boolean;

export class NetDb {
  constructor(optionsJson?: string | null);
  static restore(optionsJson: string, snapshot: Buffer): NetDb;
  write(model: string, op: string, argsJson: string): bigint;
  wait(model: string, seq: bigint, remainingMs: number, cancel?: CancelToken | null): Promise<boolean>;
  read(model: string, op: string, argsJson: string): string;
  watch(model: string, filterJson: string): NetDbWatch;
  snapshot(): Buffer;
  close(): void;
}

export interface WatchStep {
  done: boolean;
  json?: string | null;
}

export class NetDbWatch {
  next(remainingMs: number, cancel?: CancelToken | null): Promise<WatchStep>;
  close(): void;
}

export interface NativeEntry {
  seq: bigint;
  timestampNs: bigint;
  payload: Buffer;
}

export class Redex {
  constructor(optionsJson?: string | null);
  openLog(channel: string, configJson: string): Log;
  close(): void;
}

export class Log {
  append(payload: Buffer): bigint;
  appendBatch(payloads: Buffer[]): bigint | null;
  readRange(start: bigint, end?: bigint | null): NativeEntry[];
  tail(fromSeq: bigint): LogTail;
  nextSeq(): bigint;
  retained(): number;
  sweepRetention(): number;
  sync(): void;
  close(): void;
  recoveryJson(): string;
}

export class LogTail {
  next(max: number, remainingMs: number, cancel?: CancelToken | null): Promise<NativeEntry[] | null>;
  position(): bigint;
  close(): void;
}

export interface NativeRecord {
  seq: bigint;
  offset: number;
  len: number;
  flagsChecksum: number;
  inline: boolean;
  inlinePayload: Buffer;
}

export interface NativeEventMeta {
  dispatch: number;
  flags: number;
  originHash: number;
  seqOrTs: bigint;
  checksum: number;
}

export function recordHeap(seq: bigint, offset: number, payload: Buffer): Buffer;
export function recordInline(seq: bigint, payload: Buffer): Buffer;
export function recordDecode(data: Buffer): NativeRecord;
export function eventFrame(dispatch: number, originHash: number, seqOrTs: bigint, payload: Buffer): Buffer;
export function eventUnframe(data: Buffer): NativeEventMeta;

export interface NativeMeshMessage {
  from: bigint;
  streamId: bigint;
  payload: Buffer;
}

export class Connecting {
  wait(cancel?: CancelToken | null): Promise<bigint | null>;
}
export class Mesh {
  static bind(configJson: string): Mesh;
  localAddr(): string;
  publicKey(): Buffer;
  nodeId(): bigint;
  startConnect(addr: string, publicKey: Buffer): Connecting;
  startConnectRouted(publicKey: Buffer): Connecting;
  routesJson(): string;
  openStream(nodeId: bigint, streamId: bigint, reliable: boolean | null | undefined, window: number): MeshStream;
  send(nodeId: bigint, streamId: bigint, payload: Buffer): void;
  sendWithRetry(nodeId: bigint, streamId: bigint, payload: Buffer, maxRetries: number): Promise<number>;
  sendBlocking(nodeId: bigint, streamId: bigint, payload: Buffer, remainingMs: number, cancel?: CancelToken | null): Promise<number>;
  recv(max: number, remainingMs: number, cancel?: CancelToken | null): Promise<NativeMeshMessage[]>;
  onMessage(deliver: (messages: NativeMeshMessage[]) => void): Handler;
  peersJson(): string;
  announceCapabilities(setJson: string): void;
  findNodesJson(predicateJson: string, scope?: string | null): string;
  capabilitiesOf(nodeId: bigint): string | null;
  subnetOf(nodeId: bigint): number | null;
  capabilityStatsJson(): string;
  registerChannel(configJson: string): void;
  unregisterChannel(name: string): boolean;
  channelSubscribersJson(name: string): string;
  tokenCache(): TokenCache;
  publish(name: string, payload: Buffer): string;
  publishAsync(name: string, payload: Buffer): Promise<string>;
  channelStatsJson(): string;
  startSubscribe(publisher: bigint, pattern: string, chain: Buffer): PendingSubscribe;
  knownPeersJson(): string;
  statsJson(): string;
  streamStatsJson(nodeId: bigint, streamId: bigint): string | null;
  linkBus(bus: Bus, nodeId: bigint, optionsJson: string): Promise<BusLink>;
  shutdown(): Promise<void>;
}

export class MeshStream {
  send(payload: Buffer): void;
  sendWithRetry(payload: Buffer, maxRetries: number): Promise<number>;
  sendBlocking(payload: Buffer, remainingMs: number, cancel?: CancelToken | null): Promise<number>;
  statsJson(): string;
}

export class BusLink {
  statsJson(): string;
  close(): Promise<void>;
}
