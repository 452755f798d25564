// The bus over the mesh in TypeScript/Node: events emitted on node A's bus
// arrive on node B's bus, carried by a send link and a receive link.
// Run: cd examples/node && npm install && node bus_over_mesh.mjs
import { Mesh, NetNode } from '@netmesh/sdk';

const networkKey = '07'.repeat(32);
const a = await Mesh.bind({ networkKey, bind: '127.0.0.1:0' });
const b = await Mesh.bind({ networkKey, bind: '127.0.0.1:0' });
const peer = await a.connect(b.localAddr, b.publicKey);

// One bus per node: A's events go out, B's take them in.
const outbox = await NetNode.create();
const inbox = await NetNode.create();
// The receive link claims the stream from A; the send link consumes A's bus
// and frees each batch once B acknowledged it.
const receiving = await b.receiveBus(inbox, a.nodeId);
const sending = await a.sendBus(outbox, peer);

for (const [i, fruit] of ['apple', 'pear', 'plum'].entries()) outbox.emit({ n: i + 1, fruit });

// B reads them like local events.
const arrived = [];
for await (const event of inbox.subscribe({ limit: 3 })) {
  arrived.push(event.json());
  console.log(`b got ${event.text}`);
}

// The send link counts an event once B acknowledged it.
while (sending.stats().events < 3) await new Promise((r) => setTimeout(r, 5));
for (const link of [sending, receiving]) {
  const s = link.stats();
  console.log(`${s.direction} link (peer ${s.peer.toString(16)}, stream ${s.streamId}): ${s.events} events, ${s.bytes} bytes, ${s.messages} messages`);
}

await sending.close();
await receiving.close();
await outbox.shutdown();
await inbox.shutdown();
await a.close();
await b.close();
console.log(`bus over mesh: ${arrived.length} events arrived`);
