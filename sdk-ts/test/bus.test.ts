import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import {
  BackpressureError,
  EventTooLargeError,
  InvalidConfigError,
  InvalidCursorError,
  InvalidFilterError,
  InvalidJsonError,
  NetError,
  NetNode,
  ShutdownError,
} from '../src';

test('seed quick start shape', async () => {
  const node = await NetNode.create({ shards: 4 });
  node.emit({ token: 'hello', index: 0 });
  const seen: string[] = [];
  for await (const event of node.subscribe({ limit: 1 })) {
    seen.push(event.text);
  }
  assert.deepEqual(seen, ['{"token":"hello","index":0}']);
  await node.shutdown();
});

test('emit variants, poll and cursors', async () => {
  const node = await NetNode.create({ shards: 1 });
  assert.equal(node.emit({ a: 1 }).seq, 0n);
  assert.equal(node.emitStr('{"b": 2}').seq, 1n);
  assert.equal(node.emitRaw('text').seq, 2n);
  assert.equal(node.emitBatch([1, 2]), 2);
  assert.equal(node.emitStrBatch(['[3]']), 1);
  assert.equal(node.emitRawBatch([Buffer.from('x'), 'y', new Uint8Array([122])]), 3);
  const page = node.poll({ limit: 4 });
  assert.deepEqual(page.events.map((e) => e.text), ['{"a":1}', '{"b": 2}', 'text', '1']);
  assert.equal(page.hasMore, true);
  const rest = node.poll({ limit: 100, cursor: page.nextCursor });
  assert.deepEqual(rest.events.map((e) => e.text), ['2', '[3]', 'x', 'y', 'z']);
  assert.equal(node.stats().buffered, 5);
  assert.deepEqual(page.events[0].json(), { a: 1 });
  assert.equal(typeof page.events[0].timestampNs, 'bigint');
  await node.shutdown();
});

test('typed errors', async () => {
  await assert.rejects(NetNode.create({ shards: 0 }), InvalidConfigError);
  assert.throws(() => NetNode.fromConfig('{"shards": 4}'), InvalidConfigError);
  const node = await NetNode.create({ shards: 1, maxEventSize: 8, ringBufferCapacity: 1, backpressure: 'fail' });
  assert.throws(() => node.emitRaw('123456789'), EventTooLargeError);
  assert.throws(() => node.emitStr('{nope'), InvalidJsonError);
  assert.throws(() => node.emit(undefined), InvalidJsonError);
  assert.throws(() => node.poll({ cursor: 'garbage' }), InvalidCursorError);
  assert.throws(() => node.poll({ filter: { xor: [] } }), InvalidFilterError);
  node.emitRaw('1');
  try {
    node.emitRaw('2');
    assert.fail('expected backpressure');
  } catch (err) {
    assert.ok(err instanceof BackpressureError && err instanceof NetError);
    assert.equal(err.kind, 'bus:backpressure');
    assert.equal(err.code, 'bus:backpressure');
    assert.equal(err.status, -11);
    assert.deepEqual([err.area, err.reason], ['bus', 'backpressure']);
    assert.match(err.message, /^bus:backpressure: /);
    assert.equal(`bus:backpressure: ${err.detail}`, err.message);
  }
  await node.shutdown();
});

test('shutdown is final; stats and health still answer', async () => {
  const node = await NetNode.create({ shards: 2 });
  node.emitRaw('kept');
  await node.shutdown();
  await node.shutdown();
  assert.throws(() => node.emit({ a: 1 }), ShutdownError);
  assert.throws(() => node.emitRawBatch(['x']), ShutdownError);
  assert.throws(() => node.poll(), ShutdownError);
  assert.throws(() => node.subscribe(), ShutdownError);
  await assert.rejects(node.flush(), ShutdownError);
  assert.equal(node.stats().ingested, 1);
  assert.equal(node.health().status, 'shutdown');
});

test('subscriptions: live events, typed decode, close ends the iterator', async () => {
  const node = await NetNode.create({ shards: 1 });
  const sub = node.subscribe({ decode: (e) => e.json<{ n: number }>().n });
  setTimeout(() => node.emit({ n: 7 }), 20);
  const first = await sub.next();
  assert.deepEqual(first, { value: 7, done: false });
  assert.deepEqual(await sub.nextBatch(10, 50), []);
  setTimeout(() => sub.close(), 20);
  assert.equal((await sub.next()).done, true);
  await node.shutdown();
});

test('breaking out of for-await lets the process exit', () => {
  const script = `
    const { NetNode } = require(${JSON.stringify(path.resolve(__dirname, '../src'))});
    (async () => {
      const node = await NetNode.create({ shards: 1 });
      node.emit({ a: 1 });
      for await (const e of node.subscribe()) { console.log(e.text); break; }
    })();`;
  const started = Date.now();
  const r = spawnSync(process.execPath, ['-e', script], { timeout: 10_000, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '{"a":1}');
  assert.ok(Date.now() - started < 8_000);
});

test('worker threads emit while the main thread shuts down; nothing is lost', async () => {
  const { Worker } = await import('node:worker_threads');
  const node = await NetNode.create({ shards: 4, ringBufferCapacity: 64 });
  // Workers cannot share the node object, so they emit into their own nodes
  // concurrently (the addon loads in every thread) while the main thread drains
  // its node and shuts it down under a producer on the main loop.
  const workerScript = `
    const { parentPort } = require('node:worker_threads');
    const { NetNode } = require(${JSON.stringify(path.resolve(__dirname, '../src'))});
    const node = NetNode.fromConfig('{"num_shards":2}');
    let n = 0;
    for (let i = 0; i < 2000; i++) n += node.emitRawBatch(['a', 'b']);
    parentPort.postMessage(n === node.stats().ingested ? n : -1);`;
  const workers = Array.from({ length: 3 }, () => new Worker(workerScript, { eval: true }));
  // Listen from the start: a fast worker may report before the main loop ends.
  const reports = workers.map((w) => new Promise((res, rej) => w.once('message', res).once('error', rej)));
  const sub = node.subscribe();
  const seen = new Set<string>();
  const consumer = (async () => {
    for await (const e of sub) {
      const key = `${e.shard}/${e.seq}`;
      assert.ok(!seen.has(key));
      seen.add(key);
    }
  })();
  let receipts = 0;
  for (let i = 0; i < 2000; i++) {
    receipts += node.emitRawBatch(['p', 'q', 'r']);
    if (i % 100 === 0) await new Promise((r) => setImmediate(r));
  }
  await node.shutdown();
  await consumer;
  const counts = await Promise.all(reports);
  assert.deepEqual(counts, [4000, 4000, 4000]);
  const stats = node.stats();
  assert.equal(stats.ingested, receipts);
  assert.equal(seen.size + stats.dropped, receipts);
});

test('identity and wire surface', async () => {
  const { Identity, verify, decodeNetHeader, encodeNetHeader, BadSignatureError, InvalidSeedError, MalformedError } =
    await import('../src');
  const id = Identity.generate();
  const again = Identity.fromSeed(id.seed);
  assert.ok(again.publicKey.equals(id.publicKey));
  assert.equal(again.nodeId, id.nodeId);
  assert.ok(!JSON.stringify(id).includes(id.seed.toString('hex')));
  const sig = id.sign(Buffer.from('m'));
  sig[0] ^= 1;
  assert.throws(() => verify(id.publicKey, Buffer.from('m'), sig), BadSignatureError);
  assert.throws(() => Identity.fromSeed(Buffer.alloc(31)), InvalidSeedError);
  const header = {
    version: 1, flags: 0, priority: 0, hopTtl: 0, hopCount: 0, fragFlags: 0, subprotocolId: 0, channelHash: 0,
    nonce: Buffer.alloc(12, 1), sessionId: 2n ** 64n - 1n, streamId: 0n, sequence: 5n, subnetId: 0, originHash: 0,
    fragmentId: 0, fragmentOffset: 0, payloadLen: 3, eventCount: 1,
  };
  assert.deepEqual(decodeNetHeader(encodeNetHeader(header)), header);
  assert.throws(() => decodeNetHeader(Buffer.from('short')), MalformedError);
});

test('netdb: CRUD, typed errors, snapshot and restore', async () => {
  const { NetDb, InvalidDbArgumentError, LogClosedError } = await import('../src');
  const db = NetDb.open();
  await db.tasks.waitForToken(db.tasks.create(1, 'plan', 10));
  await db.tasks.waitForToken(db.tasks.complete(1, 20));
  assert.deepEqual(db.tasks.findUnique(1), { id: 1n, title: 'plan', status: 'completed', created_ns: 10n, updated_ns: 20n });
  assert.equal(db.tasks.findUnique(2), null);
  await db.memories.waitForToken(db.memories.store(5, 'note', ['b', 'a'], 'chat'));
  assert.deepEqual(db.memories.findMany({ tag: 'a' })[0].tags, ['a', 'b']);
  assert.throws(() => db.tasks.findMany({ bogus: 1 } as never), InvalidDbArgumentError);
  const restored = NetDb.restore(db.snapshot());
  db.close();
  assert.equal(restored.tasks.countWhere({ status: 'completed' }), 1);
  restored.close();
  assert.throws(() => restored.tasks.create(9, 'late'), LogClosedError);
});

test('netdb watch: current result, then changes, ends on close', async () => {
  const { NetDb } = await import('../src');
  const db = NetDb.open();
  const watch = db.tasks.watch({ status: 'completed' });
  assert.deepEqual(await watch.nextResult(5000), []);
  await db.tasks.waitForToken(db.tasks.create(1, 'a'));
  assert.equal(await watch.nextResult(100), null);
  db.tasks.complete(1);
  const changed = await watch.nextResult(5000);
  assert.deepEqual(changed?.map((t) => t.id), [1n]);
  setTimeout(() => db.close(), 50);
  const rest: unknown[] = [];
  for await (const r of watch) rest.push(r);
  assert.deepEqual(rest, []);
});
