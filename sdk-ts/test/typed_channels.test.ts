import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import {
  channelConfigJson,
  InvalidChannelConfigError,
  InvalidChannelMessageError,
  InvalidChannelNameError,
  Mesh,
  NetNode,
  normalizeChannelConfig,
  ShutdownError,
} from '../src';

const Reading = z.object({ sensorId: z.string(), celsius: z.number() });
type Reading = z.infer<typeof Reading>;

test('seed quick start: typed channel lines', async () => {
  // The typed-channel lines of the seed README's TypeScript quick start, as written.
  const node = await NetNode.create({ shards: 4 });
  const watcher = node.subscribeChannel('sensors/temperature');
  const temps = node.channel<{ celsius: number }>('sensors/temperature');
  temps.publish({ celsius: 22.5 });
  const m = await watcher.next({ timeoutMs: 1000 });
  assert.equal(m?.payload.toString(), '{"celsius":22.5}');
  await node.shutdown();
});

test('raw local channels fan out, in order', async () => {
  const node = await NetNode.create();
  const exact = node.subscribeChannel('sensors/temp');
  const every = node.subscribeChannel('sensors/**');
  assert.equal(exact.publisher, 0n);
  assert.deepEqual(every.accepted, ['sensors/**']);
  assert.equal(node.publish('sensors/temp', '21'), 2);
  assert.equal(node.publish('sensors/a/b', Buffer.from([0, 255])), 1);
  assert.equal(node.publish('alerts/fire', 'x'), 0);
  const first = await exact.next({ timeoutMs: 1000 });
  assert.deepEqual([first?.channel, first?.payload.toString(), first?.publisher], ['sensors/temp', '21', 0n]);
  assert.equal(await exact.next({ timeoutMs: 20 }), null);
  assert.equal((await every.next({ timeoutMs: 1000 }))?.payload.toString(), '21');
  assert.deepEqual([...((await every.next({ timeoutMs: 1000 }))?.payload ?? [])], [0, 255]);
  assert.deepEqual(node.channelStats(), { published: 3, delivered: 3, dropped: 0, subscriptions: 2 });
  assert.throws(() => node.publish('a//b', 'x'), InvalidChannelNameError);
  assert.throws(() => node.subscribeChannel('a/**/b'), InvalidChannelNameError);
  exact.close();
  assert.equal(node.channelStats().subscriptions, 1);
  await node.shutdown();
});

test('typed channels with a Zod schema, and unchecked', async () => {
  const node = await NetNode.create();
  const temps = node.channel('t/zod', Reading);
  const loose = node.channel<{ any: unknown[] }>('t/plain');
  const a = temps.subscribe();
  const b = loose.subscribe();
  assert.equal(temps.publish({ sensorId: 'A1', celsius: 22.5 }), 1);
  assert.equal(loose.publish({ any: ['json', 1, null] }), 1);
  const got: Reading | null = await a.next({ timeoutMs: 1000 });
  assert.deepEqual(got, { sensorId: 'A1', celsius: 22.5 });
  assert.deepEqual(await b.next({ timeoutMs: 1000 }), { any: ['json', 1, null] });
  assert.equal(a.publisher, 0n);
  await node.shutdown();
});

test('a bad message throws and the subscription goes on', async () => {
  const node = await NetNode.create();
  const temps = node.channel('t', Reading);
  const sub = temps.subscribe();
  for (const bad of ['{"sensorId": 1, "celsius": 2}', 'not json', '{"sensorId": "A"}', '[]']) node.publish('t', bad);
  temps.publish({ sensorId: 'ok', celsius: 1.5 });
  for (let i = 0; i < 4; i++) {
    await assert.rejects(sub.next({ timeoutMs: 1000 }), (e: unknown) => {
      assert.ok(e instanceof InvalidChannelMessageError);
      assert.equal(e.kind, 'channel:invalid_message');
      assert.ok((e as Error & { cause?: unknown }).cause !== undefined);
      return true;
    });
  }
  assert.deepEqual(await sub.next({ timeoutMs: 1000 }), { sensorId: 'ok', celsius: 1.5 });
  // The loop throws on a bad one; a new loop over the same subscription goes on.
  node.publish('t', '{}');
  temps.publish({ sensorId: 'after', celsius: 2 });
  await assert.rejects(
    (async () => {
      for await (const _ of sub) void _;
    })(),
    InvalidChannelMessageError,
  );
  for await (const r of sub) {
    assert.deepEqual(r, { sensorId: 'after', celsius: 2 });
    break;
  }
  await node.shutdown();
});

test('a value the schema refuses, or with no JSON form, is not published', async () => {
  const node = await NetNode.create();
  const watcher = node.subscribeChannel('t');
  const temps = node.channel('t', Reading);
  assert.throws(() => temps.publish({ sensorId: 'A', celsius: 'hot' } as unknown as Reading), InvalidChannelMessageError);
  assert.throws(() => node.channel('t').publish(undefined), InvalidChannelMessageError);
  assert.throws(() => node.channel('t').publish({ big: 1n }), InvalidChannelMessageError);
  assert.throws(() => node.channel('bad name', Reading), InvalidChannelNameError);
  assert.equal(await watcher.next({ timeoutMs: 20 }), null);
  await node.shutdown();
});

test('shutdown ends typed subscriptions after what is queued', async () => {
  const node = await NetNode.create();
  const temps = node.channel('t', Reading);
  const sub = temps.subscribe();
  temps.publish({ sensorId: 'last', celsius: 0 });
  await node.shutdown();
  assert.deepEqual(await sub.next({ timeoutMs: 1000 }), { sensorId: 'last', celsius: 0 });
  await assert.rejects(sub.next({ timeoutMs: 1000 }), ShutdownError);
  assert.throws(() => temps.publish({ sensorId: 'late', celsius: 0 }), ShutdownError);
});

test('a typed channel over the mesh', async () => {
  const options = { networkKey: Buffer.alloc(32, 3), bind: '127.0.0.1:0' };
  const publisher = await Mesh.bind(options);
  const subscriber = await Mesh.bind(options);
  await subscriber.connect(publisher.localAddr, publisher.publicKey);
  // Priority 5: the channel's messages travel on their own data stream.
  publisher.registerChannel('plant/temps', { priority: 5 });
  assert.throws(() => publisher.registerChannel('plant/other', { priority: 8 }), InvalidChannelConfigError);
  // The answer is waited for in slices: a signal ends the wait.
  const stop = new AbortController();
  stop.abort(new Error('stopped'));
  await assert.rejects(subscriber.subscribe(publisher.nodeId, 'plant/temps', { signal: stop.signal }), /stopped/);
  await assert.rejects(subscriber.subscribe(publisher.nodeId, 'plant/none'), (e: unknown) => (e as { code?: string }).code === 'channel:unknown_channel');
  const out = publisher.channel('plant/temps', Reading);
  const sub = await subscriber.channel('plant/temps', Reading).subscribe(publisher.nodeId);
  assert.deepEqual(sub.accepted, ['plant/temps']);
  for (let i = 0; i < 10; i++) {
    const report = i % 2 ? out.publish({ sensorId: `s${i}`, celsius: i / 2 }) : await out.publishAsync({ sensorId: `s${i}`, celsius: i / 2 });
    assert.equal(report.delivered, 1);
  }
  await assert.rejects(publisher.publishAsync('not/registered', 'x'), (e: unknown) => e instanceof Error && (e as { code?: string }).code === 'channel:unknown_channel');
  for (let i = 0; i < 10; i++) assert.deepEqual(await sub.next({ timeoutMs: 5000 }), { sensorId: `s${i}`, celsius: i / 2 });
  publisher.publish('plant/temps', '{"celsius": "hot"}');
  await assert.rejects(sub.next({ timeoutMs: 5000 }), InvalidChannelMessageError);
  sub.close();
  await subscriber.close();
  await publisher.close();
});

test('channel config defaults come from the engine', () => {
  assert.deepEqual(normalizeChannelConfig(channelConfigJson('a')), {
    name: 'a',
    visibility: 'global',
    publish_caps: null,
    subscribe_caps: null,
    require_token: false,
    reliable: true,
    congestion: 'block',
    block_timeout_ms: 1000,
    priority: 0,
  });
  const got = normalizeChannelConfig(channelConfigJson('a', { reliable: false, congestion: 'drop', blockTimeoutMs: 2 }));
  assert.deepEqual([got.reliable, got.congestion, got.block_timeout_ms], [false, 'drop', 2]);
  assert.throws(() => normalizeChannelConfig(channelConfigJson('a', { blockTimeoutMs: -1 })), InvalidChannelConfigError);
  assert.equal(normalizeChannelConfig(channelConfigJson('a', { priority: 7 })).priority, 7);
  assert.throws(() => normalizeChannelConfig(channelConfigJson('a', { priority: 8 })), InvalidChannelConfigError);
});

test('push handlers on channel subscriptions', async () => {
  const node = await NetNode.create();
  const temps = node.channel('push/t', Reading);
  const sub = temps.subscribe();
  const got: unknown[] = [];
  const handler = sub.onMessage((r) => got.push(r), { onInvalid: (e) => got.push(e.kind) });
  for (let i = 0; i < 50; i++) temps.publish({ sensorId: `s${i}`, celsius: i });
  node.publish('push/t', '{}');
  const until = async (n: number) => {
    const deadline = Date.now() + 5000;
    while (got.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  };
  await until(51);
  assert.deepEqual(got.slice(0, 50), Array.from({ length: 50 }, (_, i) => ({ sensorId: `s${i}`, celsius: i })));
  assert.equal(got[50], 'channel:invalid_message');
  // Closing the subscription ends the handler after what was queued.
  temps.publish({ sensorId: 'last', celsius: 0 });
  sub.close();
  await until(52);
  assert.deepEqual(got[51], { sensorId: 'last', celsius: 0 });
  const deadline = Date.now() + 5000;
  while (!handler.stats().closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.equal(handler.stats().closed, true);

  const raw = node.subscribeChannel('push/**');
  const seen: Array<[string, string, bigint]> = [];
  const h = raw.onMessage((m) => seen.push([m.channel, m.payload.toString(), m.publisher]));
  node.publish('push/a/b', 'x');
  while (seen.length < 1) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(seen, [['push/a/b', 'x', 0n]]);
  h.close();
  node.publish('push/a/b', 'y');
  assert.equal((await raw.next({ timeoutMs: 1000 }))?.payload.toString(), 'y');
  await node.shutdown();
});
