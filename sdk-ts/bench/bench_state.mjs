// Node binding benchmarks for local state: RedEX appends and NetDB calls.
// Prints JSON lines (one per benchmark).
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { NetDb, Redex } = require('../dist/src/index.js');

function perCall(bench, fn, payloadBytes = null, seconds = 1) {
  let n = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(seconds * 1e9);
  while (process.hrtime.bigint() < end) {
    for (let i = 0; i < 100; i++) fn(n++);
  }
  const ns = Number(process.hrtime.bigint() - start) / n;
  console.log(JSON.stringify({ lang: 'node', bench, ns_per_call: Math.round(ns * 10) / 10, payload_bytes: payloadBytes }));
}

const rx = Redex.open();
const log = rx.openLog('bench', { maxEvents: 1 << 16 });
const payload = Buffer.alloc(32, 'p');
perCall('log_append_32B', (i) => {
  log.append(payload);
  if ((i & 0xffff) === 0xffff) log.sweepRetention();
}, 32);
const batch = Array.from({ length: 64 }, () => Buffer.alloc(64, 'e'));
perCall('log_append_batch_64x64B', (i) => {
  log.appendBatch(batch);
  if ((i & 0x3ff) === 0x3ff) log.sweepRetention();
}, 64);
rx.close();

let db = NetDb.open({ memories: false });
perCall('tasks_create', (i) => db.tasks.create(i, 'write the benchmark', i));
db.close();
db = NetDb.open({ memories: false });
let last;
for (let i = 0; i < 1000; i++) {
  last = db.tasks.create(i, 'task', i);
  if (i % 2 === 0) last = db.tasks.complete(i, i);
}
await db.tasks.waitForToken(last);
perCall('tasks_find_many_1k', () => {
  if (db.tasks.findMany({ status: 'pending' }).length !== 500) throw new Error('wrong result');
});
perCall('tasks_find_unique', (i) => db.tasks.findUnique(i % 1000));
db.close();
