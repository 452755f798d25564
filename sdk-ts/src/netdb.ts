/** NetDB: event-sourced tasks and memories with queries and snapshots. */
import * as native from '@netmesh/core';
import { call, classify } from './errors';

/** A task. */
export interface Task {
  id: number;
  title: string;
  status: 'pending' | 'completed';
  created_ns: number;
  updated_ns: number;
}

/** A memory (tags sorted and unique). */
export interface Memory {
  id: number;
  content: string;
  tags: string[];
  source: string;
  pinned: boolean;
  created_ns: number;
  updated_ns: number;
}

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
  seq: number;
}

const nowNs = (): number => Date.now() * 1e6;

/**
 * A watched query: `for await (const result of watch)` yields the current
 * result, then each changed result. Ends when closed (or `break`) or when the
 * database closes.
 */
export class Watch<T> implements AsyncIterableIterator<T[]> {
  private ended = false;
  constructor(private readonly native: native.NetDbWatch) {}

  /** The next result, or null on timeout or at the end. */
  async nextResult(timeoutMs = 1000): Promise<T[] | null> {
    if (this.ended) return null;
    let step: native.WatchStep;
    try {
      step = await this.native.next(timeoutMs);
    } catch (err) {
      throw classify(err);
    }
    if (step.done) this.ended = true;
    return step.json ? (JSON.parse(step.json) as T[]) : null;
  }

  async next(): Promise<IteratorResult<T[]>> {
    while (!this.ended) {
      const result = await this.nextResult(500);
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
    return { model: this.name, seq: call(() => this.db.write(this.name, op, JSON.stringify(args))) };
  }

  private read<R>(op: string, args: object): R {
    return JSON.parse(call(() => this.db.read(this.name, op, JSON.stringify(args)))) as R;
  }

  /** Resolves once the write is visible (rejects with FoldStoppedError / TimeoutError). */
  async waitForToken(token: WriteToken, timeoutMs = 5000): Promise<void> {
    try {
      await this.db.wait(this.name, token.seq, timeoutMs);
    } catch (err) {
      throw classify(err);
    }
  }

  findUnique(id: number): T | null {
    return this.read<T | null>('find_unique', { id });
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
    return new Watch<T>(call(() => this.db.watch(this.name, JSON.stringify(filter))));
  }

  /** Events the fold refused (invalid transitions). */
  foldErrors(): number {
    return this.read<number>('fold_errors', {});
  }
}

/** The tasks model. */
export class Tasks extends Model<Task, TasksFilter> {
  create(id: number, title: string, ts = nowNs()): WriteToken {
    return this.write('create', { id, title, ts });
  }
  rename(id: number, title: string, ts = nowNs()): WriteToken {
    return this.write('rename', { id, title, ts });
  }
  complete(id: number, ts = nowNs()): WriteToken {
    return this.write('complete', { id, ts });
  }
  delete(id: number): WriteToken {
    return this.write('delete', { id });
  }
}

/** The memories model. */
export class Memories extends Model<Memory, MemoriesFilter> {
  store(id: number, content: string, tags: string[] = [], source = '', ts = nowNs()): WriteToken {
    return this.write('store', { id, content, tags, source, ts });
  }
  retag(id: number, tags: string[], ts = nowNs()): WriteToken {
    return this.write('retag', { id, tags, ts });
  }
  pin(id: number, ts = nowNs()): WriteToken {
    return this.write('pin', { id, ts });
  }
  unpin(id: number, ts = nowNs()): WriteToken {
    return this.write('unpin', { id, ts });
  }
  delete(id: number): WriteToken {
    return this.write('delete', { id });
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
    return new NetDb(call(() => new native.NetDb(JSON.stringify(options))));
  }

  /** A database restored from {@link snapshot} bytes (from any language). */
  static restore(snapshot: Buffer, options: NetDbOptions = {}): NetDb {
    return new NetDb(call(() => native.NetDb.restore(JSON.stringify(options), snapshot)));
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
