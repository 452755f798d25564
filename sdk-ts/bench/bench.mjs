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
await node.shutdown();
