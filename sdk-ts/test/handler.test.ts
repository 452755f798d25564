import { test } from 'node:test';
import assert from 'node:assert/strict';
import { until } from './support/until';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Event, Handler, InvalidFilterError, Mesh, MeshMessage, MeshShutdownError, NetNode } from '../src';


const KEY = '07'.repeat(32);


test('every event reaches the handler once, in order, and a handler may emit', async () => {
  const node = await NetNode.create({ shards: 1 });
  try {
    for (let i = 0; i < 10; i++) node.emitRaw(String(i));
    const seen: string[] = [];
    const handler = node.onEvent((event: Event) => {
      seen.push(event.text);
      if (event.text === 'ping') node.emitRaw('pong'); // re-entry
    });
    assert.ok(handler instanceof Handler);
    for (let i = 10; i < 100; i++) node.emitRaw(String(i));
    node.emitRaw('ping');
    await until(() => seen.length === 102, '102 events');
    assert.deepEqual(seen, [...Array.from({ length: 100 }, (_, i) => String(i)), 'ping', 'pong']);
    assert.deepEqual(handler.stats(), { delivered: 102n, failed: 0n, closed: false });
    handler.close();
    handler.close();
    assert.equal(handler.closed, true);
    node.emitRaw('after');
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(seen.length, 102);
  } finally {
    await node.shutdown();
  }
});

test('a throw or a rejected promise is counted and reported; the handler goes on', async () => {
  const node = await NetNode.create({ shards: 1 });
  try {
    const errors: unknown[] = [];
    let calls = 0;
    const handler = node.onEvent(
      (event: Event) => {
        calls += 1;
        if (event.seq % 3n === 0n) throw new Error(`bad ${event.seq}`);
        if (event.seq % 3n === 1n) return Promise.reject(new Error('async bad'));
        return undefined;
      },
      { onError: (err) => errors.push(err) },
    );
    for (let i = 0; i < 9; i++) node.emitRaw('x');
    await until(() => calls === 9 && errors.length === 6, 'nine calls, six failures');
    assert.deepEqual(handler.stats(), { delivered: 3n, failed: 6n, closed: false });
    handler.close();
  } finally {
    await node.shutdown();
  }
});

test('closing from inside stops at once and gives the rest of the batch back', async () => {
  const node = await NetNode.create({ shards: 1 });
  try {
    for (let i = 0; i < 10; i++) node.emitRaw(String(i));
    const seqs: bigint[] = [];
    const handler: Handler = node.onEvent((event: Event) => {
      seqs.push(event.seq);
      if (seqs.length === 3) handler.close();
    });
    await until(() => handler.closed, 'closed');
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(seqs, [0n, 1n, 2n]);
    assert.equal(handler.stats().delivered, 3n);
    const rest: bigint[] = [];
    for await (const event of node.subscribe({ limit: 7 })) rest.push(event.seq);
    assert.deepEqual(rest, [3n, 4n, 5n, 6n, 7n, 8n, 9n]);
    assert.throws(() => node.onEvent(() => undefined, { filter: '{nope' }), InvalidFilterError);
  } finally {
    await node.shutdown();
  }
});

test('mesh messages reach a handler that replies from inside; the node end ends it', async () => {
  const a = await Mesh.bind({ networkKey: KEY, bind: '127.0.0.1:0' });
  const b = await Mesh.bind({ networkKey: KEY, bind: '127.0.0.1:0' });
  try {
    const peer = await a.connect(b.localAddr, b.publicKey);
    const handler = b.onMessage((m: MeshMessage) => {
      b.send(m.from, m.streamId, Buffer.concat([Buffer.from('re:'), m.payload]));
    });
    const stream = a.openStream(peer, 5, { reliable: true });
    for (let i = 0; i < 10; i++) await stream.sendBlocking(Buffer.from([i]), { timeoutMs: 5000 });
    const replies: number[] = [];
    for (let i = 0; i < 10; i++) {
      const m = await a.recv({ timeoutMs: 5000 });
      assert.ok(m && m.payload.subarray(0, 3).toString() === 're:');
      replies.push(m.payload[3]);
    }
    assert.deepEqual(replies.sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await b.close();
    await until(() => handler.closed, 'the handler to end with the node');
    assert.equal(handler.stats().delivered, 10n);
    assert.throws(() => b.onMessage(() => undefined), MeshShutdownError);
  } finally {
    await a.close();
    await b.close();
  }
});

test('a live handler keeps the process alive until closed; unref() opts out', async () => {
  const sdk = path.resolve(__dirname, '..', 'src', 'index.js');
  const run = async (body: string): Promise<{ stdout: string; ms: number }> => {
    const code = `const { NetNode } = require(${JSON.stringify(sdk)});
      (async () => { const node = await NetNode.create({ shards: 1 }); ${body} })();`;
    const t0 = Date.now();
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', code], { timeout: 20000 });
    return { stdout, ms: Date.now() - t0 };
  };
  // Awaiting a handler's result works: nothing else holds the event loop.
  const awaited = await run(`
    let calls = 0;
    await new Promise((resolve) => {
      const h = node.onEvent(() => { if (++calls === 1000) { h.close(); resolve(); } else node.emitRaw('again'); });
      node.emitRaw('start');
    });
    console.log('calls', calls);`);
  assert.match(awaited.stdout, /calls 1000/);
  // Unref'd and never closed: the process exits once its own work is done.
  const unrefd = await run(`node.onEvent(() => undefined).unref(); node.emitRaw('x'); console.log('done');`);
  assert.match(unrefd.stdout, /done/);
});
