/** NetDB: event-sourced tasks and memories with queries and snapshots. */
import * as native from '@netmesh/core';
import { call, InvalidDbArgumentError } from './errors';
import { deadlineOf, engineJson, sliced } from './wait';

/** A task. */
export interface Task {
  /** Caller-chosen id (a bigint: ids use all 64 bits). */
  id: bigint;
  title: string;
  status: 'pending' | 'completed';
  /** Nanoseconds since the Unix epoch. */
  created_ns: bigint;
  updated_ns: bigint;
}

/** A memory (tags sorted and unique). */
export interface Memory {
  /** Caller-chosen id (a bigint: ids use all 64 bits). */
  id: bigint;
  content: string;
  tags: string[];
  source: string;
  pinned: boolean;
  /** Nanoseconds since the Unix epoch. */
  created_ns: bigint;
  updated_ns: bigint;
}

/** An id or a nanosecond timestamp: a bigint, or a safe integer number. */
export type U64 = bigint | number;

/** Result order. */
export type OrderBy = 'id_asc' | 'id_desc' | 'created_asc' | 'created_desc' | 'updated_asc' | 'updated_desc';

export interface TasksFilter {
  status?: 'pending' | 'completed';
  order_by?: OrderBy;
  limit?: number;
}

export interface MemoriesFilter {
  tag?: string;
  any_tags?: string[];
  all_tags?: string[];
  pinned?: boolean;
  source?: string;
  order_by?: OrderBy;
  limit?: number;
}

/** Returned by every write; `waitForToken` makes it visible to queries. */
export interface WriteToken {
  model: string;
  seq: bigint;
}

const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

/** An id or timestamp for the engine's JSON: exact, as a decimal string. */
function u64(v: U64, what: string): string {
  if (typeof v === 'bigint') return v.toString(); // the engine checks the range
  if (Number.isSafeInteger(v)) return String(v);
  throw new InvalidDbArgumentError(`netdb:invalid_argument: ${what} must be a bigint or a safe integer, got ${String(v)}`);
}

/** The 64-bit fields of a record, which the engine sends as decimal strings. */
const U64_FIELDS = ['id', 'created_ns', 'updated_ns'];

/** Parses the engine's JSON, turning records' 64-bit fields into bigints. */
function parseRecords(text: string): unknown {
  return JSON.parse(text, function (this: Record<string, unknown>, key: string, value: unknown) {
    return U64_FIELDS.includes(key) && typeof value === 'string' && !Array.isArray(this) ? BigInt(value) : value;
  });
}

/**
 * A watched query: `for await (const result of watch)` yields the current
 * result, then each changed result. Ends when closed (or `break`) or when the
 * database closes.
 */
export class Watch<T> implements AsyncIterableIterator<T[]> {
  private ended = false;
  constructor(private readonly native: native.NetDbWatch) {}

  /**
   * The next result, or null on timeout (`timeoutMs`, default 1000;
   * `Infinity`: no limit) or at the end.
   */
  async nextResult(timeoutMs = 1000, options: { signal?: AbortSignal } = {}): Promise<T[] | null> {
    if (this.ended) return null;
    const deadline = deadlineOf(timeoutMs, 'netdb');
    const step = await sliced<native.WatchStep>(
      deadline,
      async (remaining, cancel) => {
        const got = await this.native.next(remaining, cancel);
        return got.done || got.json ? got : undefined;
      },
      () => ({ done: false }),
      options.signal,
    );
    if (step.done) this.ended = true;
    return step.json ? (parseRecords(step.json) as T[]) : null;
  }

  async next(): Promise<IteratorResult<T[]>> {
    while (!this.ended) {
      const result = await this.nextResult(Infinity);
      if (result !== null) return { value: result, done: false };
    }
    return { value: undefined, done: true };
  }

  async return(): Promise<IteratorResult<T[]>> {
    this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Ends the watch. */
  close(): void {
    this.ended = true;
    this.native.close();
  }
}

class Model<T, F extends object> {
  constructor(
    protected readonly db: native.NetDb,
    protected readonly name: string,
  ) {}

  protected write(op: string, args: Record<string, unknown>): WriteToken {
    return { model: this.name, seq: call(() => this.db.write(this.name, op, engineJson(args))) };
  }

  private read<R>(op: string, args: object): R {
    return parseRecords(call(() => this.db.read(this.name, op, engineJson(args)))) as R;
  }

  /**
   * Resolves once the write is visible (rejects with FoldStoppedError, or
   * TimeoutError after `timeoutMs`, default 5000; `Infinity`: no limit).
   */
  async waitForToken(token: WriteToken, timeoutMs = 5000, options: { signal?: AbortSignal } = {}): Promise<void> {
    const deadline = deadlineOf(timeoutMs, 'netdb');
    await sliced<true>(
      deadline,
      async (remaining, cancel) => ((await this.db.wait(this.name, token.seq, remaining, cancel)) ? true : undefined),
      () => true, // the last slice rejects with the engine's TimeoutError
      options.signal,
    );
  }

  findUnique(id: U64): T | null {
    return this.read<T | null>('find_unique', { id: u64(id, 'id') });
  }

  findMany(filter: F = {} as F): T[] {
    return this.read<T[]>('find_many', filter);
  }

  countWhere(filter: F = {} as F): number {
    return this.read<number>('count_where', filter);
  }

  existsWhere(filter: F = {} as F): boolean {
    return this.read<boolean>('exists_where', filter);
  }

  /** Watches `findMany(filter)`: the current result, then each change. */
  watch(filter: F = {} as F): Watch<T> {
    return new Watch<T>(call(() => this.db.watch(this.name, engineJson(filter))));
  }

  /** Events the fold refused (invalid transitions). */
  foldErrors(): number {
    return this.read<number>('fold_errors', {});
  }
}

/** The tasks model. */
export class Tasks extends Model<Task, TasksFilter> {
  create(id: U64, title: string, ts: U64 = nowNs()): WriteToken {
    return this.write('create', { id: u64(id, 'id'), title, ts: u64(ts, 'ts') });
  }
  rename(id: U64, title: string, ts: U64 = nowNs()): WriteToken {
    return this.write('rename', { id: u64(id, 'id'), title, ts: u64(ts, 'ts') });
  }
  complete(id: U64, ts: U64 = nowNs()): WriteToken {
    return this.write('complete', { id: u64(id, 'id'), ts: u64(ts, 'ts') });
  }
  delete(id: U64): WriteToken {
    return this.write('delete', { id: u64(id, 'id') });
  }
}

/** The memories model. */
export class Memories extends Model<Memory, MemoriesFilter> {
  store(id: U64, content: string, tags: string[] = [], source = '', ts: U64 = nowNs()): WriteToken {
    return this.write('store', { id: u64(id, 'id'), content, tags, source, ts: u64(ts, 'ts') });
  }
  retag(id: U64, tags: string[], ts: U64 = nowNs()): WriteToken {
    return this.write('retag', { id: u64(id, 'id'), tags, ts: u64(ts, 'ts') });
  }
  pin(id: U64, ts: U64 = nowNs()): WriteToken {
    return this.write('pin', { id: u64(id, 'id'), ts: u64(ts, 'ts') });
  }
  unpin(id: U64, ts: U64 = nowNs()): WriteToken {
    return this.write('unpin', { id: u64(id, 'id'), ts: u64(ts, 'ts') });
  }
  delete(id: U64): WriteToken {
    return this.write('delete', { id: u64(id, 'id') });
  }
}

/** Options for {@link NetDb.open}. */
export interface NetDbOptions {
  /** Persist under this directory (default: in memory). */
  dir?: string;
  origin?: number;
  tasks?: boolean;
  memories?: boolean;
}

/** Tasks and memories over local event logs. */
export class NetDb {
  readonly tasks: Tasks;
  readonly memories: Memories;

  private constructor(private readonly db: native.NetDb) {
    this.tasks = new Tasks(db, 'tasks');
    this.memories = new Memories(db, 'memories');
  }

  /** Opens a database (returns once any existing log is folded). */
  static open(options: NetDbOptions = {}): NetDb {
    return new NetDb(call(() => new native.NetDb(engineJson(options))));
  }

  /** A database restored from {@link snapshot} bytes (from any language). */
  static restore(snapshot: Buffer, options: NetDbOptions = {}): NetDb {
    return new NetDb(call(() => native.NetDb.restore(engineJson(options), snapshot)));
  }

  /** The whole database (consistent per model) as bytes. */
  snapshot(): Buffer {
    return call(() => this.db.snapshot());
  }

  /** Stops the folds and closes the logs. */
  close(): void {
    call(() => this.db.close());
  }
}
