/**
 * Channel messages and subscriptions, and typed channels.
 *
 * A typed channel carries JSON values of one type: `node.channel<T>(name)`
 * on a {@link NetNode} (this process's local channels: every subscriber gets
 * every message) or `mesh.channel<T>(name)` on a {@link Mesh} (channels over
 * the mesh, with their rules). Give a schema — anything with
 * `parse(data: unknown): T`, a Zod schema for one — and every value is
 * checked when published and every message when received; without one the
 * type is the compiler's word only. A value or a message that does not fit
 * throws {@link InvalidChannelMessageError} (`channel:invalid_message`) with
 * the schema's own error as its `cause`; the subscription goes on.
 *
 * ```ts
 * import { z } from 'zod';
 * const Reading = z.object({ sensorId: z.string(), celsius: z.number() });
 * const temps = node.channel('sensors/temperature', Reading);
 * const sub = temps.subscribe();
 * temps.publish({ sensorId: 'A1', celsius: 22.5 });
 * for await (const reading of sub) console.log(reading.celsius);
 * ```
 */
import type * as native from '@netmesh/core';
import { Handler, HandlerOptions, register } from './handler';
import { InvalidChannelMessageError } from './errors';
import type { Mesh, PublishReport, SubscribeChannelOptions, WaitOptions } from './mesh';
import type { MeshId } from './mesh';
import { checkChannelName } from './token';
import { deadlineOf, sliced } from './wait';

/** A message received on a channel. */
export interface ChannelMessage {
  /** The publisher's node id (0n for a node's local channels). */
  publisher: bigint;
  channel: string;
  payload: Buffer;
}

/**
 * A subscription to one publisher's channel (or pattern of channels), as
 * returned by {@link Mesh.subscribe} (or to this process's local channels, by
 * {@link NetNode.subscribeChannel}: its publisher is 0n):
 * `for await (const m of sub)`, or `next()`. `close()` (or `break` out of the
 * loop) unsubscribes.
 */
export class ChannelSubscription implements AsyncIterable<ChannelMessage> {
  /** The channels the publisher admitted this node to. */
  readonly accepted: string[];
  /** The publisher's node id. */
  readonly publisher: bigint;

  constructor(private readonly native: native.ChannelSubscription) {
    this.accepted = JSON.parse(native.acceptedJson()) as string[];
    this.publisher = native.publisher();
  }

  /** The next message, waiting up to `timeoutMs` (default: until one comes); null on timeout. */
  async next(options: WaitOptions = {}): Promise<ChannelMessage | null> {
    return sliced<ChannelMessage | null>(
      deadlineOf(options.timeoutMs, 'mesh'),
      async (remaining, cancel) => (await this.native.next(remaining, cancel)) ?? undefined,
      () => null,
      options.signal,
    );
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ChannelMessage, void, undefined> {
    try {
      for (;;) {
        const message = await this.next();
        if (message === null) return;
        yield message;
      }
    } finally {
      this.close();
    }
  }

  /**
   * Calls `fn(message)` for each message on the event loop, in order, until
   * the subscription closes (the queued messages first) or the returned
   * {@link Handler} is closed. A handler and `next()` on one subscription
   * share its messages.
   */
  onMessage(fn: (message: ChannelMessage) => unknown, options: HandlerOptions = {}): Handler {
    return register(
      (deliver) => this.native.onMessage(deliver),
      (m: native.NativeChannelMessage): ChannelMessage => m,
      fn,
      options,
    );
  }

  /** Unsubscribes (idempotent). */
  close(): void {
    this.native.close();
  }
}

/** What checks a channel's values: a Zod schema, or anything with `parse`. */
export interface Schema<T> {
  /** Returns the value as `T`, or throws. */
  parse(data: unknown): T;
}

/** `channel:invalid_message`, with the schema's (or JSON's) error as its `cause`. */
function invalidMessage(detail: string, cause?: unknown): InvalidChannelMessageError {
  const error = new InvalidChannelMessageError(`channel:invalid_message: ${detail}`);
  if (cause !== undefined) Object.defineProperty(error, 'cause', { value: cause, enumerable: false });
  return error;
}

/** Encodes and decodes a channel's values. */
class Codec<T> {
  constructor(
    readonly name: string,
    private readonly schema: Schema<T> | undefined,
  ) {}

  encode(value: T): Buffer {
    let text: string | undefined;
    try {
      const checked = this.schema ? this.schema.parse(value) : value;
      text = JSON.stringify(checked);
    } catch (e) {
      throw invalidMessage(`a value for ${this.name} does not encode: ${String(e)}`, e);
    }
    if (text === undefined) throw invalidMessage(`a value for ${this.name} has no JSON form`);
    return Buffer.from(text, 'utf8');
  }

  decode(message: ChannelMessage): T {
    try {
      const data: unknown = JSON.parse(message.payload.toString('utf8'));
      return this.schema ? this.schema.parse(data) : (data as T);
    } catch (e) {
      throw invalidMessage(`a message on ${message.channel} does not decode: ${String(e)}`, e);
    }
  }
}

/**
 * A channel subscription that yields values of the channel's type. A
 * message that does not decode throws {@link InvalidChannelMessageError}
 * from `next()` (or the loop); the subscription stays open.
 */
export class TypedChannelSubscription<T> implements AsyncIterable<T> {
  constructor(
    private readonly inner: ChannelSubscription,
    private readonly codec: Codec<T>,
  ) {}

  /** The publisher's node id (0n for local channels). */
  get publisher(): bigint {
    return this.inner.publisher;
  }

  /** The channels the publisher admitted this subscription to. */
  get accepted(): string[] {
    return this.inner.accepted;
  }

  /** The next value, waiting up to `timeoutMs` (default: until one comes); null on timeout. */
  async next(options: WaitOptions = {}): Promise<T | null> {
    const message = await this.inner.next(options);
    return message === null ? null : this.codec.decode(message);
  }

  /** Values until the subscription closes; `break` leaves it open (call `close()`). */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (;;) {
      const message = await this.inner.next();
      if (message === null) return;
      yield this.codec.decode(message);
    }
  }

  /**
   * Calls `fn(value)` for each message that decodes, on the event loop; one
   * that does not goes to `options.onInvalid` (without it, it counts as the
   * handler's failure and goes to `onError`). See
   * {@link ChannelSubscription.onMessage}.
   */
  onMessage(
    fn: (value: T) => unknown,
    options: HandlerOptions & { onInvalid?: (error: InvalidChannelMessageError) => unknown } = {},
  ): Handler {
    const { onInvalid, ...rest } = options;
    return this.inner.onMessage((message) => {
      let value: T;
      try {
        value = this.codec.decode(message);
      } catch (e) {
        if (onInvalid && e instanceof InvalidChannelMessageError) return onInvalid(e);
        throw e;
      }
      return fn(value);
    }, rest);
  }

  /** Unsubscribes (idempotent). */
  close(): void {
    this.inner.close();
  }
}

/** What a {@link Channel} needs of its node (a {@link NetNode}). */
export interface LocalChannelHost {
  publish(channel: string, payload: Uint8Array | string): number;
  subscribeChannel(pattern: string): ChannelSubscription;
}

/**
 * A typed channel on this process's local channels (see
 * {@link NetNode.channel}): every subscriber gets every value published.
 */
export class Channel<T> {
  private readonly codec: Codec<T>;

  constructor(
    private readonly node: LocalChannelHost,
    readonly name: string,
    schema?: Schema<T>,
  ) {
    checkChannelName(name);
    this.codec = new Codec(name, schema);
  }

  /** Publishes `value`; how many local subscriptions took it. */
  publish(value: T): number {
    return this.node.publish(this.name, this.codec.encode(value));
  }

  /** Every value published from now on. */
  subscribe(): TypedChannelSubscription<T> {
    return new TypedChannelSubscription(this.node.subscribeChannel(this.name), this.codec);
  }
}

/**
 * A typed channel over the mesh (see {@link Mesh.channel}). The publisher
 * registers the channel ({@link Mesh.registerChannel}) with its rules first.
 */
export class MeshChannel<T> {
  private readonly codec: Codec<T>;

  constructor(
    private readonly mesh: Mesh,
    readonly name: string,
    schema?: Schema<T>,
  ) {
    checkChannelName(name);
    this.codec = new Codec(name, schema);
  }

  /** Publishes `value` to every subscriber the channel's rules admit. */
  publish(value: T): PublishReport {
    return this.mesh.publish(this.name, this.codec.encode(value));
  }

  /** {@link publish} off the event loop (see {@link Mesh.publishAsync}). */
  async publishAsync(value: T): Promise<PublishReport> {
    return this.mesh.publishAsync(this.name, this.codec.encode(value));
  }

  /** Asks `publisher` for the channel (see {@link Mesh.subscribe}). */
  async subscribe(publisher: MeshId, options: SubscribeChannelOptions = {}): Promise<TypedChannelSubscription<T>> {
    return new TypedChannelSubscription(await this.mesh.subscribe(publisher, this.name, options), this.codec);
  }
}

