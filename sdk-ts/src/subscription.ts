/** Live subscriptions as AsyncIterators. */
import type * as native from '@netmesh/core';
import { call, classify } from './errors';
import { Event, toEvent } from './event';

/** How long one native wait lasts; short so no libuv thread is held for long. */
const WAIT_SLICE_MS = 200;

/**
 * A live consumer: buffered events, then new ones. Iterate it with
 * `for await`; breaking out of the loop closes it. It ends after the node shuts
 * down (once drained), after `limit` events, or on {@link close}.
 */
export class Subscription<T = Event> implements AsyncIterableIterator<T> {
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
   * `timeoutMs`, or null once the stream has ended.
   */
  async nextBatch(max = 256, timeoutMs = 1000): Promise<Event[] | null> {
    if (this.ended) return null;
    if (this.limit !== undefined) {
      const left = this.limit - this.delivered;
      if (left <= 0) {
        this.close();
        return null;
      }
      max = Math.min(max, left);
    }
    if (this.pending.length > 0) {
      const out = this.pending.splice(0, max);
      this.delivered += out.length;
      return out;
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const slice = Math.max(0, Math.min(WAIT_SLICE_MS, deadline - Date.now()));
      let batch: native.NativeEvent[] | null;
      try {
        batch = await this.native.nextBatch(max, slice);
      } catch (err) {
        throw classify(err);
      }
      if (batch === null) {
        this.ended = true;
        return null;
      }
      if (batch.length > 0 || Date.now() >= deadline) {
        const events = batch.map(toEvent);
        this.delivered += events.length;
        return events;
      }
    }
  }

  async next(): Promise<IteratorResult<T>> {
    while (this.pending.length === 0) {
      if (this.limit !== undefined && this.delivered >= this.limit) return this.finish();
      const batch = await this.nextBatch(256, 60_000);
      if (batch === null) return this.finish();
      this.delivered -= batch.length; // counted when handed out below
      this.pending.push(...batch);
    }
    const event = this.pending.shift() as Event;
    this.delivered += 1;
    return { value: this.decode(event), done: false };
  }

  async return(): Promise<IteratorResult<T>> {
    this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The cursor just past everything taken so far. */
  cursor(): string {
    return call(() => this.native.cursor());
  }

  /** Ends the subscription; a pending wait resolves within ~100 ms. */
  close(): void {
    this.ended = true;
    this.native.close();
  }

  private finish(): IteratorResult<T> {
    this.close();
    return { value: undefined, done: true };
  }
}
