/** RedEX: local append-only logs, one per channel name, with live tails. */
import * as native from '@netmesh/core';
import { call, InvalidLogArgumentError } from './errors';
import { deadlineOf, engineJson, sliced } from './wait';

/** One log entry as read back. */
export interface Entry {
  /** Sequence number (a bigint: sequences pass 2^53). */
  seq: bigint;
  timestampNs: bigint;
  payload: Buffer;
}

/** What reopening a persistent log found. */
export interface Recovery {
  entries: number;
  truncatedRecords: number;
  corruptSeqs: bigint[];
  missingTimestamps: number;
}

/** Log settings; every field optional. */
export interface LogConfig {
  /** Retention, applied by {@link Log.sweepRetention}. */
  maxEvents?: number;
  maxBytes?: number;
  maxAgeMs?: number;
  /** Largest entry (default 16 MiB). */
  maxPayload?: number;
  /**
   * When a persistent log fsyncs on its own, off the append path: after
   * `everyN` entries, or every `intervalMs` and/or after `maxBytes` unsynced
   * bytes. Absent: only `sync()` and `close()` are barriers.
   */
  fsync?: { everyN?: number; intervalMs?: number; maxBytes?: number };
}

/** A sequence: a bigint, or a safe integer number. */
function seq(v: bigint | number, what: string): bigint {
  if (typeof v === 'bigint') return v; // the addon checks the range
  if (Number.isSafeInteger(v)) return BigInt(v);
  throw new InvalidLogArgumentError(`redex:invalid_argument: ${what} must be a bigint or a safe integer, got ${String(v)}`);
}

const bytes = (p: Uint8Array | string): Buffer => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p.buffer, p.byteOffset, p.byteLength));

/**
 * A live reader: retained entries from a sequence, then each new one, with no
 * gap and no duplicate. `for await (const entry of tail)` runs until the tail
 * is closed (or `break`) or the log is closed.
 */
export class Tail implements AsyncIterableIterator<Entry> {
  private ended = false;
  private buffered: Entry[] = [];
  constructor(private readonly native: native.LogTail) {}

  /**
   * Up to `max` entries; `[]` after `timeoutMs` (default 1000; `Infinity`:
   * no limit), null once the tail has ended.
   */
  async nextBatch(max = 256, timeoutMs = 1000, options: { signal?: AbortSignal } = {}): Promise<Entry[] | null> {
    if (this.ended) return null;
    const deadline = deadlineOf(timeoutMs, 'redex');
    const entries = await sliced<native.NativeEntry[] | null>(
      deadline,
      async (remaining, cancel) => {
        const got = await this.native.next(max, remaining, cancel);
        return got === null || got.length > 0 ? got : undefined;
      },
      () => [],
      options.signal,
    );
    if (entries === null) this.ended = true;
    return entries;
  }

  async next(): Promise<IteratorResult<Entry>> {
    while (this.buffered.length === 0) {
      const batch = await this.nextBatch(256, Infinity);
      if (batch === null) return { value: undefined, done: true };
      this.buffered = batch;
    }
    return { value: this.buffered.shift() as Entry, done: false };
  }

  async return(): Promise<IteratorResult<Entry>> {
    this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The next sequence this tail will return (never waits). */
  get position(): bigint {
    return this.native.position();
  }

  /** Ends the tail; a pending wait resolves within ~100 ms. */
  close(): void {
    this.ended = true;
    this.native.close();
  }
}

/** One open log. */
export class Log {
  constructor(private readonly native: native.Log) {}

  /** Appends one entry; returns its sequence. */
  append(payload: Uint8Array | string): bigint {
    return call(() => this.native.append(bytes(payload)));
  }

  /**
   * Appends an atomic batch; returns the first sequence (the rest follow
   * consecutively), or null for an empty batch. A failing batch appends nothing.
   */
  appendBatch(payloads: Iterable<Uint8Array | string>): bigint | null {
    const list = [...payloads].map(bytes);
    return call(() => this.native.appendBatch(list));
  }

  /** Retained entries with `start <= seq < end` (no `end`: to the last). */
  readRange(start: bigint | number = 0n, end?: bigint | number): Entry[] {
    const from = seq(start, 'start');
    const to = end === undefined ? null : seq(end, 'end');
    return call(() => this.native.readRange(from, to));
  }

  /** A live reader from `fromSeq`. */
  tail(fromSeq: bigint | number = 0n): Tail {
    const from = seq(fromSeq, 'fromSeq');
    return new Tail(call(() => this.native.tail(from)));
  }

  /** The sequence the next append will get. */
  get nextSeq(): bigint {
    return this.native.nextSeq();
  }

  /** Entries currently retained. */
  get length(): number {
    return this.native.retained();
  }

  /** Applies the retention limits now; returns how many entries were evicted. */
  sweepRetention(): number {
    return this.native.sweepRetention();
  }

  /** Durability barrier: payload, then index, then timestamps reach the disk. */
  sync(): void {
    call(() => this.native.sync());
  }

  /** Closes the log (idempotent); appends then throw LogClosedError. */
  close(): void {
    call(() => this.native.close());
  }

  /** What reopening found (all zero for in-memory logs). */
  get recovery(): Recovery {
    const r = JSON.parse(this.native.recoveryJson()) as {
      entries: number;
      truncated_records: number;
      corrupt_seqs: string[];
      missing_timestamps: number;
    };
    return {
      entries: r.entries,
      truncatedRecords: r.truncated_records,
      corruptSeqs: r.corrupt_seqs.map((s) => BigInt(s)),
      missingTimestamps: r.missing_timestamps,
    };
  }
}

/** Maps channel names to logs, in memory or under a directory. */
export class Redex {
  private constructor(private readonly native: native.Redex) {}

  /** Opens a manager; `dir` persists logs there (default: in memory). */
  static open(options: { dir?: string } = {}): Redex {
    return new Redex(call(() => new native.Redex(engineJson(options))));
  }

  /**
   * Opens (or returns the open) log for `channel`: segments of `[A-Za-z0-9_.-]`
   * separated by `/`. A persistent log is replayed first.
   */
  openLog(channel: string, config: LogConfig = {}): Log {
    const fsync = config.fsync && {
      every_n: config.fsync.everyN,
      interval_ms: config.fsync.intervalMs,
      max_bytes: config.fsync.maxBytes,
    };
    const json = engineJson({
      max_events: config.maxEvents,
      max_bytes: config.maxBytes,
      max_age_ms: config.maxAgeMs,
      max_payload: config.maxPayload,
      fsync,
    });
    return new Log(call(() => this.native.openLog(channel, json)));
  }

  /** Closes every log of this manager (each syncs first). */
  close(): void {
    call(() => this.native.close());
  }
}

/** A decoded 20-byte RedEX index record. */
export type RedexRecord = native.NativeRecord;

/** The 20-byte meta that prefixes every CortEX payload. */
export type EventMeta = native.NativeEventMeta;

/** The 20-byte index record of `payload` stored at `offset`. */
export function encodeHeapRecord(seq: bigint, offset: number, payload: Uint8Array): Buffer {
  return call(() => native.recordHeap(seq, offset, bytes(payload)));
}

/** The 20-byte index record carrying exactly 8 payload bytes inline. */
export function encodeInlineRecord(seq: bigint, payload: Uint8Array): Buffer {
  return call(() => native.recordInline(seq, bytes(payload)));
}

/** Decodes a 20-byte index record (MalformedError otherwise). */
export function decodeRecord(data: Uint8Array): RedexRecord {
  return call(() => native.recordDecode(bytes(data)));
}

/** `payload` behind its CortEX event meta (checksum computed). */
export function frameEvent(dispatch: number, originHash: number, seqOrTs: bigint, payload: Uint8Array): Buffer {
  return call(() => native.eventFrame(dispatch, originHash, seqOrTs, bytes(payload)));
}

/** Splits a framed entry into meta and payload (DecodeError on a bad checksum). */
export function unframeEvent(data: Uint8Array): [EventMeta, Buffer] {
  const buf = bytes(data);
  return [call(() => native.eventUnframe(buf)), buf.subarray(20)];
}
