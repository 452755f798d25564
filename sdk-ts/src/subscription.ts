/** Live subscriptions as AsyncIterators. */
import type * as native from '@netmesh/core';
import { call } from './errors';
import { Event, toEvent } from './event';
import { deadlineOf, sliced } from './wait';

/** Events taken from the engine per wait when iterating. */
const BATCH = 256;

/**
 * A live consumer: buffered events, then new ones. Iterate it with
 * `for await`; breaking out of the loop closes it, and the events it had
 * taken from the bus but not yet yielded go back to the bus (a later poll or
 * subscription reads them): a subscription never takes more than it
 * delivers. It ends after the node shuts down (once drained), after `limit`
 * events, or on {@link close}.
 */
export class Subscription<T = Event> implements AsyncIterableIterator<T> {
  /** The tail of the engine's last batch, not yet handed out. */
  private pending: Event[] = [];
  private delivered = 0;
  private ended = false;

  constructor(
    private readonly native: native.Subscription,
    private readonly limit: number | undefined,
    private readonly decode: (event: Event) => T,
  ) {}

  /**
   * Resolves with up to `max` events, an empty array if none arrived within
   * `timeoutMs` (default 1000; `Infinity`: no limit), or null once the
   * stream has ended. A `NaN` or negative timeout throws InvalidArgumentError.
   */
  async nextBatch(max = BATCH, timeoutMs = 1000, options: { signal?: AbortSignal } = {}): Promise<Event[] | null> {
    const deadline = deadlineOf(timeoutMs, 'bus');
    if (this.pending.length === 0 && !(await this.fetch(max, deadline, options.signal))) return null;
    const out = this.pending.splice(0, Math.max(1, max));
    this.delivered += out.length;
    return out;
  }

  /** Fills `pending` from the engine; false once the stream has ended. */
  private async fetch(max: number, deadline: number, signal?: AbortSignal): Promise<boolean> {
    if (this.ended) return false;
    if (this.limit !== undefined) {
      const left = this.limit - this.delivered;
      if (left <= 0) {
        this.close();
        return false;
      }
      max = Math.min(max, left);
    }
    const batch = await sliced<native.NativeEvent[] | null>(
      deadline,
      async (remaining, cancel) => {
        const got = await this.native.nextBatch(max, remaining, cancel);
        return got === null || got.length > 0 ? got : undefined;
      },
      () => [],
      signal,
    );
    if (batch === null) {
      this.ended = true;
      return false;
    }
    this.pending.push(...batch.map(toEvent));
    return true;
  }

  async next(): Promise<IteratorResult<T>> {
    while (this.pending.length === 0) {
      if (this.ended || (this.limit !== undefined && this.delivered >= this.limit)) return this.finish();
      if (!(await this.fetch(BATCH, Infinity))) return this.finish();
    }
    const event = this.pending.shift() as Event;
    this.delivered += 1;
    return { value: this.decode(event), done: false };
  }

  /** Called by `break`: gives back what was not yielded, then closes. */
  async return(): Promise<IteratorResult<T>> {
    this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The cursor just past everything taken so far (never waits). */
  cursor(): string {
    return call(() => this.native.cursor());
  }

  /**
   * Ends the subscription; a pending wait resolves within ~100 ms. Events
   * taken from the bus but not yet handed out go back to it.
   */
  close(): void {
    this.ended = true;
    if (this.pending.length > 0) {
      const count = this.pending.length;
      this.pending = [];
      call(() => this.native.unread(count));
    }
    this.native.close();
  }

  private finish(): IteratorResult<T> {
    this.close();
    return { value: undefined, done: true };
  }
}
