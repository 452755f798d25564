// Node binding benchmarks: batch ingest of 64-byte events and per-call cost.
// Prints JSON lines.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { NetNode } = require('../dist/src/index.js');

const EVENT = Buffer.from('{"token":"hello","index":12345,"pad":"' + 'x'.repeat(24) + '"}');
if (EVENT.length !== 64) throw new Error(`event is ${EVENT.length} bytes`);

function rate(fn, seconds = 1) {
  let n = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(seconds * 1e9);
  while (process.hrtime.bigint() < end) n += fn();
  return [n, Number(process.hrtime.bigint() - start) / 1e9];
}

const node = await NetNode.create({ shards: 4, backpressure: 'drop_oldest' });
const batch = Array.from({ length: 1000 }, () => EVENT);
let [count, secs] = rate(() => node.emitRawBatch(batch));
console.log(JSON.stringify({ lang: 'node', bench: 'emitRawBatch_1000x64B', events_per_sec: Math.round(count / secs), payload_bytes: 64 }));
[count, secs] = rate(() => {
  for (let i = 0; i < 1000; i++) node.emitRaw(EVENT);
  return 1000;
});
console.log(JSON.stringify({ lang: 'node', bench: 'emitRaw_single_64B', ns_per_call: Math.round((secs / count) * 1e10) / 10, payload_bytes: 64 }));
// Iterating a subscription (batches of 256 taken per wait) over 100k events,
// then leaving a loop early (the unyielded rest of a batch goes back). Equal
// payloads land on one shard, so a fresh node whose shards hold all 100k.
await node.shutdown();
const subNode = await NetNode.create({ shards: 4, ringBufferCapacity: 1 << 17, backpressure: 'drop_oldest' });
const sub = subNode.subscribe();
for (let i = 0; i < 100; i++) subNode.emitRawBatch(batch);
let seen = 0;
let start = process.hrtime.bigint();
for await (const _ of sub) {
  if (++seen === 100_000) break;
}
secs = Number(process.hrtime.bigint() - start) / 1e9;
console.log(JSON.stringify({ lang: 'node', bench: 'subscribe_for_await_100k_64B', events_per_sec: Math.round(seen / secs), payload_bytes: 64 }));
// Each leave consumes the one event it yielded: 10k events, 10k leaves.
for (let i = 0; i < 10; i++) subNode.emitRawBatch(batch);
const leaves = 10_000;
start = process.hrtime.bigint();
for (let i = 0; i < leaves; i++) {
  for await (const _ of subNode.subscribe()) break;
}
secs = Number(process.hrtime.bigint() - start) / 1e9;
console.log(JSON.stringify({ lang: 'node', bench: 'subscribe_take_one_and_leave_64B', us_per_leave: Math.round((secs / leaves) * 1e7) / 10, payload_bytes: 64 }));
await subNode.shutdown();

// Push: a handler on the event loop, per event (batches of up to 256 per
// event-loop turn).
const pushNode = await NetNode.create({ shards: 1, ringBufferCapacity: 1 << 17 });
let handled = 0;
const total = 100_000;
const all = new Promise((resolve) => {
  const handler = pushNode.onEvent(() => {
    if (++handled === total) {
      handler.close();
      resolve();
    }
  });
});
start = process.hrtime.bigint();
for (let i = 0; i < total / 1000; i++) pushNode.emitRawBatch(batch);
await all;
secs = Number(process.hrtime.bigint() - start) / 1e9;
console.log(JSON.stringify({ lang: 'node', bench: 'handler_100k_64B', events_per_sec: Math.round(handled / secs), payload_bytes: 64 }));
// Latency: emit one event, await the handler's call.
let arrived = () => {};
const latency = pushNode.onEvent(() => arrived());
const samples = [];
for (let i = 0; i < 2000; i++) {
  const called = new Promise((resolve) => { arrived = resolve; });
  const t0 = process.hrtime.bigint();
  pushNode.emitRaw(EVENT);
  await called;
  samples.push(Number(process.hrtime.bigint() - t0) / 1e3);
}
latency.close();
samples.sort((a, b) => a - b);
console.log(JSON.stringify({ lang: 'node', bench: 'handler_emit_to_call_64B', p50_us: Math.round(samples[1000] * 10) / 10, p99_us: Math.round(samples[1980] * 10) / 10, payload_bytes: 64 }));
await pushNode.shutdown();
