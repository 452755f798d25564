/**
 * Cancellation: an AbortSignal cancels the engine's token, so a blocked
 * receive or subscription wakes at once (not at the next slice), rejects with
 * the signal's reason, and takes nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Mesh, NetDb, NetNode, Redex } from '../src';

const KEY = '07'.repeat(32);

test('aborting a blocked recv rejects with the reason, and a later message still comes', async () => {
  const a = await Mesh.bind({ networkKey: KEY, bind: '127.0.0.1:0' });
  const b = await Mesh.bind({ networkKey: KEY, bind: '127.0.0.1:0' });
  try {
    await a.connect(b.localAddr, b.publicKey);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    // No timeout: only the abort ends this wait.
    await assert.rejects(b.recv({ signal: controller.signal }), (err: unknown) => {
      assert.equal((err as Error).name, 'AbortError');
      return true;
    });
    // An aborted signal refuses at once.
    await assert.rejects(b.recv({ signal: controller.signal }), { name: 'AbortError' });
    a.send(b.nodeId, 3n, 'later');
    const got = await b.recv({ timeoutMs: 5000 });
    assert.equal(got?.payload.toString(), 'later');
  } finally {
    await a.close();
    await b.close();
  }
});

test('aborting a subscription wait takes nothing; a custom reason is kept', async () => {
  const node = await NetNode.create();
  const sub = node.subscribe();
  try {
    const controller = new AbortController();
    const reason = new Error('stop now');
    setTimeout(() => controller.abort(reason), 30);
    await assert.rejects(sub.nextBatch(16, Infinity, { signal: controller.signal }), (err: unknown) => err === reason);
    node.emitRaw('after');
    const batch = await sub.nextBatch(16, 5000);
    assert.deepEqual(
      batch?.map((e) => e.raw.toString()),
      ['after'],
    );
  } finally {
    sub.close();
    await node.shutdown();
  }
});

/** Aborts after 30 ms; the wait must reject with an AbortError. */
async function abortsSoon(wait: (signal: AbortSignal) => Promise<unknown>): Promise<void> {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 30);
  await assert.rejects(wait(controller.signal), { name: 'AbortError' });
}

test('aborting a blocking send, a tail, a watch and a NetDB wait', async () => {
  const a = await Mesh.bind({ networkKey: KEY, bind: '127.0.0.1:0' });
  const b = await Mesh.bind({ networkKey: KEY, bind: '127.0.0.1:0' });
  const rx = Redex.open();
  const db = NetDb.open();
  try {
    // A window of one that is never acknowledged: the peer is gone.
    const peer = await a.connect(b.localAddr, b.publicKey);
    await b.close();
    const stream = a.openStream(peer, 5n, { reliable: true, window: 1 });
    stream.send('first');
    await abortsSoon((signal) => stream.sendBlocking('second', { signal }));
    await abortsSoon((signal) => a.sendBlocking(peer, 5n, 'third', { signal }));
    assert.equal(stream.stats().sent, 1);

    const tail = rx.openLog('live').tail(0);
    await abortsSoon((signal) => tail.nextBatch(16, Infinity, { signal }));

    const watch = db.tasks.watch({ status: 'completed' });
    assert.deepEqual(await watch.nextResult(5000), []);
    await abortsSoon((signal) => watch.nextResult(Infinity, { signal }));
    const token = db.tasks.create(1, 'a');
    await db.tasks.waitForToken(token);
    await abortsSoon((signal) => db.tasks.waitForToken({ ...token, seq: token.seq + 1000n }, Infinity, { signal }));
  } finally {
    db.close();
    rx.close();
    await a.close();
  }
});

test('aborting a connect nobody answers rejects with the reason and abandons it', async () => {
  // A socket that never answers: the handshake would wait out its timeout.
  const silent = (await import('node:dgram')).createSocket('udp4');
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
  const port = silent.address().port;
  const quiet = await Mesh.bind({ networkKey: KEY, bind: '127.0.0.1:0' });
  const a = await Mesh.bind({ networkKey: KEY, bind: '127.0.0.1:0', handshakeTimeoutMs: 60_000 });
  try {
    const controller = new AbortController();
    const reason = new Error('gave up');
    const started = Date.now();
    setTimeout(() => controller.abort(reason), 50);
    await assert.rejects(a.connect(`127.0.0.1:${port}`, quiet.publicKey, { signal: controller.signal }), (err: unknown) => {
      assert.equal(err, reason);
      return true;
    });
    assert.ok(Date.now() - started < 30_000, 'the abort ended the connect, not its timeout');
    assert.equal(a.peers().length, 0);
    // An aborted signal refuses at once; a real connect still works.
    await assert.rejects(a.connect(quiet.localAddr, quiet.publicKey, { signal: controller.signal }), (err: unknown) => err === reason);
    assert.equal(await a.connect(quiet.localAddr, quiet.publicKey), quiet.nodeId);
  } finally {
    silent.close();
    await a.close();
    await quiet.close();
  }
});
