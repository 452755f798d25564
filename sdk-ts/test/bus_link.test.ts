import { test } from 'node:test';
import assert from 'node:assert/strict';
import { until } from './support/until';
import {
  BusLink,
  BusLinkDirection,
  BusLinkStats,
  InvalidMeshArgumentError,
  InvalidMeshConfigError,
  Mesh,
  MeshShutdownError,
  NetNode,
  ShutdownError,
  UnknownPeerError,
} from '../src';


const KEY = '07'.repeat(32);
/** The engine's default link stream ("bus" in ASCII). */
const DEFAULT_STREAM = 0x627573n;
/** Generous: the machine may be a loaded 2-core VM. */
const DEADLINE_MS = 10000;

function bind(): Promise<Mesh> {
  return Mesh.bind({ networkKey: KEY, bind: '127.0.0.1:0' });
}


/** `a` connected to `b`, with the session at both ends. */
async function pair(): Promise<{ a: Mesh; b: Mesh }> {
  const a = await bind();
  const b = await bind();
  await a.connect(b.localAddr, b.publicKey);
  await until(() => b.peers().some((p) => p.nodeId === a.nodeId), 'the session at b');
  return { a, b };
}

/** Polls `bus` until `n` events arrived (failing after the deadline); returns their payloads. */
async function pollAll(bus: NetNode, n: number): Promise<Buffer[]> {
  const got: Buffer[] = [];
  let cursor: string | null = null;
  const end = Date.now() + DEADLINE_MS;
  while (got.length < n) {
    if (Date.now() > end) assert.fail(`${got.length} of ${n} events arrived`);
    const page = bus.poll({ limit: 512, cursor });
    cursor = page.nextCursor;
    got.push(...page.events.map((e) => e.raw));
    if (page.events.length === 0) await new Promise((r) => setTimeout(r, 5));
  }
  return got;
}

function assertRunning(stats: BusLinkStats, direction: BusLinkDirection, peer: bigint, streamId: bigint): void {
  assert.deepEqual(
    [stats.direction, stats.peer, stats.streamId, stats.running, stats.error],
    [direction, peer, streamId, true, null],
  );
}

test('a send link carries 200 events of mixed sizes to a receive link, exactly and in order', async () => {
  const { a, b } = await pair();
  const [outbox, inbox] = [await NetNode.create(), await NetNode.create()];
  const receiving = await b.receiveBus(inbox, a.nodeId);
  const sending = await a.sendBus(outbox, b.nodeId);
  try {
    assert.ok(sending instanceof BusLink);
    const sizes = Array.from({ length: 200 }, (_, i) => (i === 0 ? 0 : i === 100 ? 40000 : (i * 37) % 3000));
    const sent = sizes.map((size, i) => Buffer.alloc(size, i % 251));
    sent.forEach((event, i) => (i % 2 === 0 ? outbox.emitRaw(event) : outbox.emitRawBatch([event])));
    assert.ok(sent[100].length > 16384 && sent[0].length === 0);

    // Read on B through a live subscription.
    const sub = inbox.subscribe();
    const got: Buffer[] = [];
    const end = Date.now() + DEADLINE_MS;
    while (got.length < sent.length && Date.now() < end) {
      const batch = await sub.nextBatch(256, 200);
      assert.notEqual(batch, null, 'the subscription ended early');
      got.push(...(batch ?? []).map((e) => e.raw));
    }
    sub.close();
    assert.equal(got.length, sent.length);
    got.forEach((event, i) => assert.ok(event.equals(sent[i]), `event ${i}: ${event.length} bytes`));

    // Link streams are not the application's: nothing reached B's inbox.
    assert.equal(await b.recv({ timeoutMs: 50 }), null);

    const bytes = sizes.reduce((sum, n) => sum + n, 0);
    await until(() => sending.stats().events === 200, 'the acknowledgements');
    const [s, r] = [sending.stats(), receiving.stats()];
    assertRunning(s, 'send', b.nodeId, DEFAULT_STREAM);
    assertRunning(r, 'receive', a.nodeId, DEFAULT_STREAM);
    assert.deepEqual([s.events, s.bytes, r.events, r.bytes], [200, bytes, 200, bytes]);
    assert.ok(s.messages >= 3 && r.messages === s.messages, JSON.stringify([s, r], (_, v) => (typeof v === 'bigint' ? String(v) : v)));
    assert.deepEqual([r.rejected, r.malformed], [0, 0]);
  } finally {
    await sending.close();
    await receiving.close();
    await Promise.all([outbox.shutdown(), inbox.shutdown(), a.close(), b.close()]);
  }
});

test('events from concurrent producers arrive exactly once, each producer in its order; ids above 2^53 stay exact', async () => {
  const { a, b } = await pair();
  const [outbox, inbox] = [await NetNode.create(), await NetNode.create()];
  const streamId = 2n ** 63n + 5n;
  const options = { streamId, maxBatch: 16, messageBytes: 256 };
  const receiving = await b.linkBus(inbox, a.nodeId, { direction: 'receive', ...options });
  const sending = await a.linkBus(outbox, b.nodeId, { direction: 'send', ...options });
  try {
    const PRODUCERS = 4;
    const EACH = 250;
    const produce = async (p: number): Promise<string[]> => {
      const mine: string[] = [];
      for (let n = 0; n < EACH; n++) {
        const event = `p${p}-${n}-${'x'.repeat((p * 131 + n * 17) % 300)}`;
        outbox.emitRaw(event);
        mine.push(event);
        // Let the other producers (and the link's acks) in between.
        if (n % 7 === p) await new Promise((r) => setImmediate(r));
      }
      return mine;
    };
    const produced = await Promise.all(Array.from({ length: PRODUCERS }, (_, p) => produce(p)));
    const got = (await pollAll(inbox, PRODUCERS * EACH)).map((e) => e.toString('utf8'));
    assert.deepEqual([...got].sort(), produced.flat().sort());
    for (const [p, mine] of produced.entries()) {
      assert.deepEqual(got.filter((e) => e.startsWith(`p${p}-`)), mine, `producer ${p}`);
    }
    await until(() => sending.stats().events === PRODUCERS * EACH, 'the acknowledgements');
    assertRunning(sending.stats(), 'send', b.nodeId, streamId);
    assertRunning(receiving.stats(), 'receive', a.nodeId, streamId);
    assert.equal(receiving.stats().events, PRODUCERS * EACH);
  } finally {
    await sending.close();
    await receiving.close();
    await Promise.all([outbox.shutdown(), inbox.shutdown(), a.close(), b.close()]);
  }
});

test('link errors are typed: unknown peer, stream taken, bad options, shut-down bus or node', async () => {
  const { a, b } = await pair();
  const bus = await NetNode.create();
  try {
    await assert.rejects(a.sendBus(bus, 12345n), (e: unknown) => {
      assert.ok(e instanceof UnknownPeerError, String(e));
      assert.equal(e.kind, 'mesh:unknown_peer');
      return true;
    });

    // One receive link per peer and stream.
    const first = await b.receiveBus(bus, a.nodeId, { streamId: 9n });
    await assert.rejects(b.receiveBus(bus, a.nodeId, { streamId: 9n }), InvalidMeshConfigError);
    await first.close();

    // A link's streams are the bus link's own: the application's stream 10,
    // used fire-and-forget, does not stand in the way of a link on 10.
    const app = a.openStream(b.nodeId, 10n);
    app.send('fire and forget');
    const onTen = await a.sendBus(bus, b.nodeId, { streamId: 10n });
    assert.equal(onTen.stats().streamId, 10n);
    await onTen.close();
    assert.equal(app.stats().reliability, 'fire_and_forget');

    // Options are checked by the engine.
    const bad: Array<Record<string, unknown>> = [
      { maxBatch: 0 },
      { maxBatch: 65537 },
      { maxBatch: 1.5 },
      { maxBatch: NaN },
      { messageBytes: 5 },
      { messageBytes: 65424 },
      { streamId: -1n },
      { streamId: 2n ** 64n },
      { direction: 'both' },
    ];
    for (const options of bad) {
      const linked = a.linkBus(bus, b.nodeId, { direction: 'send', ...options } as never);
      await assert.rejects(linked, InvalidMeshConfigError, Object.keys(options)[0]);
    }
    await assert.rejects(a.linkBusFromConfig(bus, b.nodeId, '{"direction":"send","colour":"blue"}'), InvalidMeshConfigError);
    await assert.rejects(a.linkBusFromConfig(bus, b.nodeId, '{"stream_id":5}'), InvalidMeshConfigError);
    // What the SDK checks itself: the types of ids and the bus.
    await assert.rejects(a.sendBus(bus, b.nodeId, { streamId: 1.5 }), InvalidMeshArgumentError);
    await assert.rejects(a.sendBus(bus, -1n), InvalidMeshArgumentError);
    await assert.rejects(a.sendBus({} as NetNode, b.nodeId), InvalidMeshArgumentError);

    // A shut-down bus, then a shut-down node.
    const gone = await NetNode.create();
    await gone.shutdown();
    await assert.rejects(a.sendBus(gone, b.nodeId), ShutdownError);
    await assert.rejects(b.receiveBus(gone, a.nodeId), ShutdownError);
    await a.close();
    await assert.rejects(a.sendBus(bus, b.nodeId), MeshShutdownError);
    await assert.rejects(a.receiveBus(bus, b.nodeId), MeshShutdownError);
  } finally {
    await Promise.all([bus.shutdown(), a.close(), b.close()]);
  }
});

test('lifecycle: close twice, stopped after close; a shut-down node or bus ends its links', async () => {
  const { a, b } = await pair();
  const [outbox, inbox] = [await NetNode.create(), await NetNode.create()];
  try {
    const receiving = await b.receiveBus(inbox, a.nodeId);
    const sending = await a.sendBus(outbox, b.nodeId);
    outbox.emitRaw('before close');
    await pollAll(inbox, 1);
    await until(() => sending.stats().events === 1, 'the acknowledgement');

    // close is idempotent, concurrent calls included.
    await Promise.all([sending.close(), sending.close()]);
    await sending.close();
    const stopped = sending.stats();
    assert.deepEqual([stopped.running, stopped.error, stopped.events], [false, null, 1]);

    // The receiving node shuts down under its link.
    await b.close();
    await until(() => !receiving.stats().running, 'the receive link to stop');
    assert.match(receiving.stats().error ?? '', /^mesh:shutdown/);
    assert.equal(receiving.stats().events, 1);
    await receiving.close();
    await receiving.close();

    // The sending bus shuts down under a fresh send link.
    const c = await bind();
    try {
      const peer = await a.connect(c.localAddr, c.publicKey);
      const again = await a.sendBus(outbox, peer);
      await outbox.shutdown();
      await until(() => !again.stats().running, 'the send link to stop');
      assert.match(again.stats().error ?? '', /^bus:shutdown/);
      await again.close();
    } finally {
      await c.close();
    }
  } finally {
    await Promise.all([outbox.shutdown(), inbox.shutdown(), a.close(), b.close()]);
  }
});
