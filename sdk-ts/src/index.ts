/**
 * Net for TypeScript: one Rust engine, used from five languages.
 *
 * ```ts
 * import { NetNode } from '@netmesh/sdk';
 * const node = await NetNode.create({ shards: 4 });
 * node.emit({ token: 'hello' });
 * for await (const event of node.subscribe({ limit: 1 })) console.log(event.text);
 * await node.shutdown();
 * ```
 */
export * from './errors';
export { Event, Health, PollResponse, Receipt, Stats } from './event';
export { Filter, NetNode, NetOptions, PollOptions, SubscribeOptions } from './node';
export { Subscription } from './subscription';
export { Channel, LocalChannelHost, MeshChannel, Schema, TypedChannelSubscription } from './channels';
export { Handler, HandlerOptions, HandlerStats } from './handler';
export { Identity, publicKeyIds, verify } from './identity';
export {
  CapabilityDiff,
  CapabilitySet,
  CapabilityViews,
  Gpu,
  Hardware,
  Limits,
  Predicate,
  Software,
  SubnetId,
  SubnetPolicy,
  SubnetRule,
  ValidationIssue,
  ValidationReport,
  Visibility,
  diffToJson,
  visibilityAllows,
} from './capability';
export {
  Access,
  channelHash,
  channelMatches,
  checkChannelName,
  PermissionToken,
  ScopeLike,
  TimeLike,
  TOKEN_LEN,
  TokenCache,
  TokenInfo,
  TokenRequest,
  TokenScopeName,
} from './token';
export {
  NetHeader,
  RoutingHeader,
  decodeNetHeader,
  decodeRoutingHeader,
  encodeNetHeader,
  encodeRoutingHeader,
} from './wire';
export {
  Memories,
  MemoriesFilter,
  Memory,
  NetDb,
  NetDbOptions,
  OrderBy,
  Task,
  Tasks,
  TasksFilter,
  Watch,
  WriteToken,
} from './netdb';
export {
  Entry,
  EventMeta,
  Log,
  LogConfig,
  Recovery,
  Redex,
  RedexRecord,
  Tail,
  decodeRecord,
  encodeHeapRecord,
  encodeInlineRecord,
  frameEvent,
  unframeEvent,
} from './redex';
export {
  AuditLogOptions,
  BusLink,
  BusLinkDirection,
  BusLinkOptions,
  BusLinkStats,
  CapabilityOptions,
  CapabilityStats,
  ChannelMessage,
  ChannelOptions,
  channelConfigJson,
  Congestion,
  normalizeChannelConfig,
  ChannelStats,
  LocalChannelStats,
  ChannelSubscription,
  ConnectOptions,
  KnownPeer,
  LinkBusOptions,
  Mesh,
  MeshId,
  MeshMessage,
  MeshOptions,
  MeshPayload,
  MeshPeer,
  MeshRoute,
  MeshStats,
  MeshStream,
  PeerCipher,
  PeerHealth,
  PeerStoreOptions,
  PublicKeyLike,
  PublishReport,
  SkipReason,
  SubscribeChannelOptions,
  StreamOptions,
  StreamStats,
  TrustOptions,
  WaitOptions,
} from './mesh';
