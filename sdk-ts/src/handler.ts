/**
 * Push delivery: functions the engine calls for each event or message.
 *
 * `node.onEvent(fn)` and `mesh.onMessage(fn)` return a {@link Handler}. The
 * handler runs on the event loop, one item at a time, in order; it may call
 * back into Net (emit, send, subscribe, close itself). What it throws (or a
 * promise it returns rejects with) is caught, counted in
 * `stats().failed` and passed to `onError` (default: `console.error` for the
 * 1st, 2nd, 4th, 8th ... failure); the handler keeps being called. A live
 * handler keeps the process alive, as a listening server does, until it is
 * closed or its source ends; `unref()` opts out (Node's idiom for timers and
 * servers), `ref()` opts back in.
 */
import * as native from '@netmesh/core';
import { call } from './errors';

/** A handler's counters. */
export interface HandlerStats {
  /** Items the function handled. */
  delivered: bigint;
  /** Items it threw on (or whose promise rejected). */
  failed: bigint;
  /** Whether it has ended: closed, or its source ended (the node shut down). */
  closed: boolean;
}

/** Options for `onEvent` / `onMessage`. */
export interface HandlerOptions {
  /** Called with what the handler threw and the item it threw on. */
  onError?: (error: unknown, item: unknown) => void;
}

/** A function the engine calls for each item. */
export class Handler {
  /** Set while `deliver` works through a batch: how many items are left. */
  private left = 0;
  private stopped = false;
  private native: native.Handler | undefined;

  /** @internal */
  constructor() {}

  /** @internal Hands the native handler over once it exists. */
  attach(handle: native.Handler): this {
    this.native = handle;
    return this;
  }

  /**
   * Stops the calls. From inside the handler, the current call is the last;
   * items of the batch it had not reached yet go back to their source (a
   * subscription's next reader gets them). Idempotent.
   */
  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.native?.close(this.left);
    this.left = 0;
  }

  /** Lets the process exit while this handler is live. */
  unref(): this {
    this.native?.unref();
    return this;
  }

  /** Keeps the process alive while this handler is live (the default). */
  ref(): this {
    this.native?.ref();
    return this;
  }

  /** Whether it has ended. */
  get closed(): boolean {
    return this.native?.isClosed() ?? this.stopped;
  }

  /** Its counters now. */
  stats(): HandlerStats {
    if (this.native === undefined) return { delivered: 0n, failed: 0n, closed: this.stopped };
    const s = this.native.stats();
    return { delivered: s.delivered, failed: s.failed, closed: s.closed };
  }

  /** @internal The function the native handler calls with each batch. */
  deliverer<N, T>(convert: (item: N) => T, fn: (item: T) => unknown, options: HandlerOptions): (batch: N[]) => void {
    const report = (error: unknown, item: unknown): void => {
      // The engine counts it and says whether this one is to be logged.
      const logIt = this.native?.failed(1) ?? true;
      if (options.onError !== undefined) {
        try {
          options.onError(error, item);
        } catch {
          // An error handler that throws has nobody left to tell.
        }
      } else if (logIt) {
        const failures = this.stats().failed;
        console.error(`net: handler failed (${failures} failure${failures === 1n ? '' : 's'} so far):`, error);
      }
    };
    return (batch: N[]) => {
      for (let i = 0; i < batch.length; i++) {
        if (this.stopped) return;
        this.left = batch.length - i - 1;
        const item = convert(batch[i]);
        try {
          const result = fn(item);
          if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
            (result as Promise<unknown>).then(undefined, (error: unknown) => report(error, item));
          }
        } catch (error) {
          report(error, item);
        }
      }
      this.left = 0;
    };
  }
}

/** Registers `fn` through `register` (which receives the batch function). */
export function register<N, T>(
  register: (deliver: (batch: N[]) => void) => native.Handler,
  convert: (item: N) => T,
  fn: (item: T) => unknown,
  options: HandlerOptions = {},
): Handler {
  const handler = new Handler();
  const deliver = handler.deliverer(convert, fn, options);
  return handler.attach(call(() => register(deliver)));
}
