/** NetNode: the bus in TypeScript. */
import * as native from '@netmesh/core';
import { call, InvalidJsonError } from './errors';
import { Event, Health, PollResponse, Receipt, Stats, toEvent } from './event';
import { Handler, HandlerOptions, register } from './handler';
import { Subscription } from './subscription';
import { engineJson } from './wait';
import { Channel, ChannelSubscription, Schema } from './channels';
import type { LocalChannelStats } from './mesh_stats';

/** Options for {@link NetNode.create}; unset options keep the engine's defaults. */
export interface NetOptions {
  shards?: number;
  backpressure?: 'drop_oldest' | 'drop_newest' | 'fail';
  ringBufferCapacity?: number;
  maxEventSize?: number;
}

/** A JSON filter: `{field, eq}`, `{and: [...]}`, `{or: [...]}`, `{not: {...}}`, or its text. */
export type Filter = string | Record<string, unknown> | unknown[];

export interface PollOptions {
  limit?: number;
  cursor?: string | null;
  filter?: Filter;
}

export interface SubscribeOptions<T> {
  /** End the iterator after this many events. */
  limit?: number;
  cursor?: string | null;
  filter?: Filter;
  /** Decode each event (default: the {@link Event} itself). */
  decode?: (event: Event) => T;
}

type Payload = Buffer | Uint8Array | string;

function toBuffer(p: Payload): Buffer {
  return typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.isBuffer(p) ? p : Buffer.from(p);
}

function filterText(filter: Filter | undefined): string | null {
  if (filter === undefined) return null;
  return typeof filter === 'string' ? filter : JSON.stringify(filter);
}

function stringify(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) {
    throw new InvalidJsonError(`bus:invalid_json: ${typeof value} has no JSON form`);
  }
  return text;
}

/** A Net node (today: the in-memory event bus). Every method throws a NetError subclass on failure. */
export class NetNode {
  private constructor(private readonly bus: native.Bus) {}

  /**
   * Creates a node. Options are renamed to the engine's keys and handed over
   * with every value as given, unknown keys included, so the engine's checks
   * apply: `NaN`, `Infinity`, out-of-range values and unknown keys throw
   * InvalidConfigError.
   */
  static async create(options: NetOptions = {}): Promise<NetNode> {
    const names: Record<string, string> = {
      shards: 'num_shards',
      backpressure: 'backpressure',
      ringBufferCapacity: 'ring_buffer_capacity',
      maxEventSize: 'max_event_size',
    };
    const config: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(options as Record<string, unknown>)) {
      if (value !== undefined) config[names[key] ?? key] = value;
    }
    return NetNode.fromConfig(engineJson(config));
  }

  /** Creates a node from the engine's JSON configuration. */
  static fromConfig(configJson: string): NetNode {
    return new NetNode(call(() => new native.Bus(configJson)));
  }

  /** Serializes `value` to JSON and emits it. */
  emit(value: unknown): Receipt {
    const text = stringify(value);
    return call(() => this.bus.emitJson(text));
  }

  /** Emits a JSON document given as text (validated). */
  emitStr(text: string): Receipt {
    return call(() => this.bus.emitJson(text));
  }

  /** Emits raw bytes (any content); strings are UTF-8 encoded. */
  emitRaw(data: Payload): Receipt {
    const buf = toBuffer(data);
    return call(() => this.bus.emitRaw(buf));
  }

  /** Serializes and emits many values in one call; all or nothing. */
  emitBatch(values: unknown[]): number {
    const texts = values.map(stringify);
    return call(() => this.bus.emitJsonBatch(texts));
  }

  /** Emits many JSON texts (each validated) in one call; all or nothing. */
  emitStrBatch(texts: string[]): number {
    return call(() => this.bus.emitJsonBatch(texts));
  }

  /** Emits many raw events in one call (packed into one buffer); all or nothing. */
  emitRawBatch(events: Payload[]): number {
    const bufs = events.map(toBuffer);
    const packed = Buffer.concat(bufs);
    const lens = bufs.map((b) => b.length);
    return call(() => this.bus.emitPacked(packed, lens));
  }

  /**
   * Reads up to `limit` events after `cursor` (none: the oldest buffered event).
   * Passing a previous `nextCursor` acknowledges the events before it.
   */
  poll(options: PollOptions = {}): PollResponse {
    const { limit = 100, cursor = null, filter } = options;
    const r = call(() => this.bus.poll(limit, cursor, filterText(filter)));
    return { events: r.events.map(toEvent), nextCursor: r.nextCursor, hasMore: r.hasMore };
  }

  /** A live subscription: `for await (const event of node.subscribe())`. */
  subscribe(options?: Omit<SubscribeOptions<Event>, 'decode'>): Subscription<Event>;
  subscribe<T>(options: SubscribeOptions<T> & { decode: (event: Event) => T }): Subscription<T>;
  subscribe<T>(options: SubscribeOptions<T> = {}): Subscription<T | Event> {
    const sub = call(() => this.bus.subscribe(options.cursor ?? null, filterText(options.filter)));
    return new Subscription<T | Event>(sub, options.limit, options.decode ?? ((e: Event) => e));
  }

  /**
   * Calls `fn(event)` for every event of a new live subscription (buffered
   * events first, from `cursor`, matching `filter`), on the event loop; see
   * {@link Handler}. Each event it is given is taken from the bus, as
   * `subscribe` takes it.
   */
  onEvent(
    fn: (event: Event) => unknown,
    options: Omit<SubscribeOptions<Event>, 'decode' | 'limit'> & HandlerOptions = {},
  ): Handler {
    return register(
      (deliver) => this.bus.onEvent(deliver, options.cursor ?? null, filterText(options.filter)),
      toEvent,
      fn,
      options,
    );
  }

  /** Returns once every earlier event is visible to polls. */
  async flush(): Promise<void> {
    call(() => this.bus.flush());
  }

  /** Counters (also after shutdown). */
  /**
   * Publishes `payload` on this node's local channel `channel` (no
   * registration: any valid name); how many subscriptions took a copy. Where
   * {@link emit} hands each event to one consumer, a channel fans out: every
   * matching subscription gets every message (one whose queue is full misses
   * it; see {@link channelStats}).
   */
  publish(channel: string, payload: Payload): number {
    return call(() => this.bus.channelPublish(channel, toBuffer(payload)));
  }

  /**
   * Every later {@link publish} on `pattern` (a name, `prefix/*` or
   * `prefix/**`), read like a mesh subscription (its publisher is 0n);
   * {@link shutdown} ends it.
   */
  subscribeChannel(pattern: string): ChannelSubscription {
    return new ChannelSubscription(call(() => this.bus.channelSubscribe(pattern)));
  }

  /**
   * A typed channel: `publish(value)` and `subscribe()` with JSON values,
   * checked by `schema` (anything with `parse(data): T`, such as a Zod
   * schema) when given. `channel:invalid_name` for a bad name.
   */
  channel<T = unknown>(name: string, schema?: Schema<T>): Channel<T> {
    return new Channel<T>(this, name, schema);
  }

  /** The local channels' counters. */
  channelStats(): LocalChannelStats {
    return JSON.parse(this.bus.channelStatsJson()) as LocalChannelStats;
  }

  stats(): Stats {
    return JSON.parse(this.bus.stats()) as Stats;
  }

  /** Health (also after shutdown). */
  health(): Health {
    return JSON.parse(this.bus.health()) as Health;
  }

  /** @internal The addon's bus (for the mesh's bus links). */
  nativeBus(): native.Bus {
    return this.bus;
  }

  /** Shuts the node down (idempotent); later calls throw ShutdownError. */
  async shutdown(): Promise<void> {
    this.bus.shutdown();
  }
}

export { Event };
