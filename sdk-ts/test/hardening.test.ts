/**
 * Regression tests for defects found by an adversarial try of the SDK:
 * events lost on `break`, waits that spin or park libuv threads, numbers
 * wrapped modulo 2^32, 64-bit values rounded to doubles, unchecked options.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  InvalidArgumentError,
  InvalidConfigError,
  InvalidDbArgumentError,
  InvalidLogConfigError,
  InvalidMeshArgumentError,
  LogLockedError,
  Mesh,
  MeshShutdownError,
  NetDb,
  NetNode,
  Redex,
} from '../src';

const KEY = '07'.repeat(32);

/** Fails with `what` if `p` has not settled within `ms` (a hang guard, not a speed target). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, guard]);
  } finally {
    clearTimeout(timer);
  }
}

test('breaking out of for await gives back what the iterator had not yielded', async () => {
  const node = await NetNode.create({ shards: 1 });
  node.emitRawBatch(Array.from({ length: 10 }, (_, i) => `e${i}`));
  for await (const event of node.subscribe()) {
    assert.equal(event.text, 'e0');
    break;
  }
  const stats = node.stats();
  assert.deepEqual([stats.ingested, stats.dropped, stats.buffered], [10, 0, 9]);
  assert.deepEqual(
    node.poll({ limit: 100 }).events.map((e) => e.text),
    Array.from({ length: 9 }, (_, i) => `e${i + 1}`),
  );
  // close() while an iterator holds a fetched batch gives back too.
  const sub = node.subscribe();
  assert.equal(((await sub.next()).value as { text: string }).text, 'e1');
  sub.close();
  assert.equal(node.stats().buffered, 8);
  // nextBatch(max) takes no more than max from the bus.
  const batch = node.subscribe();
  assert.equal((await batch.nextBatch(3, 1000))?.length, 3);
  assert.equal(node.stats().buffered, 5);
  batch.close();
  await node.shutdown();
});

test('a NaN or negative timeout is refused at once instead of spinning', async () => {
  const node = await NetNode.create({ shards: 1 });
  const sub = node.subscribe();
  for (const bad of [NaN, -1, -Infinity]) {
    await within(
      assert.rejects(sub.nextBatch(1, bad), InvalidArgumentError),
      2000,
      `nextBatch(1, ${bad})`,
    );
  }
  node.emitRaw('x');
  assert.deepEqual((await sub.nextBatch(1, Infinity))?.map((e) => e.text), ['x']);
  sub.close();
  const db = NetDb.open();
  const watch = db.tasks.watch();
  await assert.rejects(watch.nextResult(NaN), InvalidDbArgumentError);
  await assert.rejects(db.tasks.waitForToken(db.tasks.create(1n, 't'), NaN), InvalidDbArgumentError);
  watch.close();
  db.close();
  await node.shutdown();
});

test('blocking sends without a timeout never hold every libuv thread', async () => {
  const a = await Mesh.bind({ networkKey: KEY, bind: '127.0.0.1:0' });
  const b = await Mesh.bind({ networkKey: KEY, bind: '127.0.0.1:0' });
  const peer = await a.connect(b.localAddr, b.publicKey);
  const stream = a.openStream(peer, 5n, { reliable: true, window: 1 });
  await b.close(); // nobody acknowledges: the window stays full
  stream.send('fills the window');
  // More waiting sends than libuv has pool threads (4 by default).
  const waits = Array.from({ length: 6 }, (_, i) => stream.sendBlocking(`wait ${i}`));
  const settled = waits.map((w) => w.then(() => 'sent', (e: unknown) => e));
  // Before: the pool was full and this read never ran.
  const text = await within(fs.promises.readFile(__filename, 'utf8'), 5000, 'readFile behind blocking sends');
  assert.ok(text.includes('libuv'));
  await a.close();
  for (const outcome of await within(Promise.all(settled), 5000, 'waits after close')) {
    assert.ok(outcome instanceof MeshShutdownError, `a wait ended with ${String(outcome)}`);
  }
});

test('connects nobody answers never hold every libuv thread', async () => {
  const dgram = await import('node:dgram');
  const silent = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
  const other = await Mesh.bind({ networkKey: KEY, bind: '127.0.0.1:0' });
  const a = await Mesh.bind({ networkKey: KEY, bind: '127.0.0.1:0', handshakeTimeoutMs: 60_000 });
  const controller = new AbortController();
  // More pending handshakes than libuv has pool threads (4 by default).
  const connects = Array.from({ length: 6 }, () =>
    a.connect(`127.0.0.1:${silent.address().port}`, other.publicKey, { signal: controller.signal }).then(
      () => 'connected',
      (e: unknown) => e,
    ),
  );
  // Before: each connect held a pool thread until its handshake timeout.
  const text = await within(fs.promises.readFile(__filename, 'utf8'), 5000, 'readFile behind pending connects');
  assert.ok(text.includes('libuv'));
  controller.abort();
  for (const outcome of await within(Promise.all(connects), 5000, 'connects after the abort')) {
    assert.equal((outcome as Error).name, 'AbortError');
  }
  silent.close();
  await a.close();
  await other.close();
});

test('counts are checked, not wrapped modulo 2^32', async () => {
  const node = await NetNode.create({ shards: 1 });
  node.emitRaw('x');
  for (const bad of [-1, NaN, 1.5, Infinity, 0]) {
    assert.throws(() => node.poll({ limit: bad }), InvalidArgumentError, `limit ${bad}`);
  }
  assert.equal(node.poll({ limit: 2 ** 32 }).events.length, 1);
  const sub = node.subscribe();
  await assert.rejects(sub.nextBatch(-1, 10), InvalidArgumentError);
  sub.close();
  await node.shutdown();
});

test('invalid options reach the engine instead of being dropped', async () => {
  for (const options of [
    { shards: NaN },
    { shards: Infinity },
    { ringBufferCapacity: NaN },
    { shards: 0 },
    { bogus: 1 } as unknown as { shards: number },
  ]) {
    await assert.rejects(NetNode.create(options), InvalidConfigError, JSON.stringify(options));
  }
  const node = await NetNode.create({ shards: 2 });
  assert.equal(node.health().num_shards, 2);
  await node.shutdown();
});

test('64-bit ids, tokens and timestamps are exact bigints', async () => {
  const db = NetDb.open();
  const last = 2n ** 64n - 1n;
  const past = 2n ** 53n + 1n;
  await db.tasks.waitForToken(db.tasks.create(last, 'last', last - 1n));
  const token = db.tasks.create(past, 'past 2^53', 1733130000123456789n);
  assert.equal(typeof token.seq, 'bigint');
  await db.tasks.waitForToken(token);
  await db.tasks.waitForToken(db.tasks.create(2n ** 53n, '2^53', 5));
  assert.deepEqual(db.tasks.findUnique(past), {
    id: past,
    title: 'past 2^53',
    status: 'pending',
    created_ns: 1733130000123456789n,
    updated_ns: 1733130000123456789n,
  });
  assert.equal(db.tasks.findUnique(2n ** 53n)?.title, '2^53');
  assert.deepEqual(db.tasks.findMany().map((t) => t.id), [2n ** 53n, past, last]);
  assert.throws(() => db.tasks.create(2 ** 53 + 2, 'unsafe number'), InvalidDbArgumentError);
  assert.throws(() => db.tasks.create(-1n, 'negative'), InvalidDbArgumentError);
  assert.throws(() => db.tasks.create(1n, undefined as unknown as string), InvalidDbArgumentError);
  const restored = NetDb.restore(db.snapshot());
  assert.equal(restored.tasks.findUnique(last)?.created_ns, last - 1n);
  restored.close();
  db.close();
});

test('a RedEX log directory has one writer; a zero fsync interval is refused', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'net-lock-'));
  try {
    const first = Redex.open({ dir });
    const log = first.openLog('orders');
    assert.equal(log.append('one'), 0n);
    const second = Redex.open({ dir });
    assert.throws(() => second.openLog('orders'), LogLockedError);
    assert.throws(() => second.openLog('busy', { fsync: { intervalMs: 0 } }), InvalidLogConfigError);
    first.close();
    assert.equal(second.openLog('orders').append('two'), 1n);
    second.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('connecting a node to itself is refused at once', async () => {
  const a = await Mesh.bind({ networkKey: KEY, bind: '127.0.0.1:0', handshakeTimeoutMs: 30_000 });
  await within(assert.rejects(a.connect(a.localAddr, a.publicKey), InvalidMeshArgumentError), 10_000, 'self-connect');
  await a.close();
});
