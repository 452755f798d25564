/** Value types returned by the SDK. */
import type * as native from '@netmesh/core';

/** One event: its exact payload and its stamp. */
export class Event {
  constructor(
    /** Shard that held the event. */
    readonly shard: number,
    /** Sequence within the shard (a bigint: sequences pass 2^53). */
    readonly seq: bigint,
    /** Ingest time, nanoseconds since the Unix epoch. */
    readonly timestampNs: bigint,
    /** The payload exactly as emitted. */
    readonly raw: Buffer,
  ) {}

  /** The payload as UTF-8 text. */
  get text(): string {
    return this.raw.toString('utf8');
  }

  /** The payload decoded as JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.text) as T;
  }
}

export function toEvent(e: native.NativeEvent): Event {
  return new Event(e.shard, e.seq, e.timestampNs, e.raw);
}

/** Where an accepted event went. */
export interface Receipt {
  shard: number;
  /** Sequence within the shard (a bigint: sequences pass 2^53). */
  seq: bigint;
}

/** The result of a poll; pass `nextCursor` back to resume (and acknowledge). */
export interface PollResponse {
  events: Event[];
  nextCursor: string;
  hasMore: boolean;
}

/** Counters of a node. */
export interface Stats {
  ingested: number;
  dropped: number;
  buffered: number;
  shard_depths: number[];
}

/** Health of a node. */
export interface Health {
  status: 'healthy' | 'saturated' | 'shutdown';
  num_shards: number;
  full_shards: number;
}
