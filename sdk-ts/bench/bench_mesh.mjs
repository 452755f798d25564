// Mesh benchmarks through the Node binding: two nodes in one process on
// loopback; bursts of 64 messages sent, then received (recvBatch), for
// fire-and-forget and reliable streams at 64 B and 1 KiB; plus one awaited
// sendBlocking per message (the cost of a trip through the libuv pool);
// and 64 B events carried from a bus on one node to a bus on the other by a
// bus link (rounds of 4096 events emitted, then read on the far bus).
// Prints JSON lines.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { Mesh, NetNode, StreamBackpressureError } = require('../dist/src/index.js');

const KEY = '07'.repeat(32);
const BURST = 64;
const SECONDS = 1;

const a = await Mesh.bind({ networkKey: KEY, bind: '127.0.0.1:0' });
const b = await Mesh.bind({ networkKey: KEY, bind: '127.0.0.1:0' });
const peer = await a.connect(b.localAddr, b.publicKey);

/** Receives `n` messages at b; returns how many arrived (fire-and-forget may lose some). */
async function drain(n) {
  let got = 0;
  while (got < n) {
    const batch = await b.recvBatch(n - got, { timeoutMs: 1000 });
    if (batch.length === 0) break;
    got += batch.length;
  }
  return got;
}

async function burst(stream, payload) {
  for (let i = 0; i < BURST; i++) {
    try {
      stream.send(payload);
    } catch (err) {
      if (!(err instanceof StreamBackpressureError)) throw err;
      await stream.sendBlocking(payload, { timeoutMs: 5000 });
    }
  }
  return drain(BURST);
}

async function oneByOne(stream, payload) {
  for (let i = 0; i < BURST; i++) await stream.sendBlocking(payload, { timeoutMs: 5000 });
  return drain(BURST);
}

async function measure(name, stream, size, round) {
  const payload = Buffer.alloc(size, 0x5a);
  for (let i = 0; i < 20; i++) await round(stream, payload); // warm up
  let sent = 0;
  let received = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(SECONDS * 1e9);
  while (process.hrtime.bigint() < end) {
    received += await round(stream, payload);
    sent += BURST;
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(
    JSON.stringify({
      lang: 'node',
      bench: `mesh_${name}_${size}B`,
      msgs_per_sec: Math.round(received / secs),
      payload_bytes: size,
      lost: sent - received,
    }),
  );
}

let id = 100n;
for (const size of [64, 1024]) {
  await measure('ff_burst64', a.openStream(peer, id++), size, burst);
  await measure('reliable_burst64', a.openStream(peer, id++, { reliable: true }), size, burst);
  await measure('reliable_sendBlocking', a.openStream(peer, id++, { reliable: true }), size, oneByOne);
}
/** Events through a bus link: rounds of ROUND events emitted on a's bus, read on b's. */
async function measureBusLink(size) {
  const ROUND = 4096;
  const outbox = await NetNode.create();
  const inbox = await NetNode.create();
  const receiving = await b.receiveBus(inbox, a.nodeId);
  const sending = await a.sendBus(outbox, peer);
  const sub = inbox.subscribe();
  const events = Array.from({ length: ROUND }, () => Buffer.alloc(size, 0x5a));
  const round = async () => {
    outbox.emitRawBatch(events);
    let got = 0;
    while (got < ROUND) {
      const batch = await sub.nextBatch(ROUND - got, 5000);
      if (batch === null || batch.length === 0) throw new Error(`bus link: ${got} of ${ROUND} events arrived`);
      got += batch.length;
    }
  };
  for (let i = 0; i < 3; i++) await round(); // warm up
  let carried = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(SECONDS * 1e9);
  while (process.hrtime.bigint() < end) {
    await round();
    carried += ROUND;
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(
    JSON.stringify({
      lang: 'node',
      bench: `mesh_bus_link_${size}B`,
      events_per_sec: Math.round(carried / secs),
      payload_bytes: size,
    }),
  );
  sub.close();
  await sending.close();
  await receiving.close();
  await outbox.shutdown();
  await inbox.shutdown();
}
await measureBusLink(64);

await a.close();
await b.close();
