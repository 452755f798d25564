// Handlers in TypeScript/Node: the engine calls your function for each bus
// event and each mesh message (push), instead of you awaiting them (pull).
// Handlers run on the event loop. Run: cd examples/node && npm install && node handlers.mjs
import { Mesh, NetNode } from '@netmesh/sdk';

const node = await NetNode.create({ shards: 1 });
const texts = [];
const three = new Promise((resolve) => {
  const handler = node.onEvent((event) => {
    texts.push(event.text);
    if (texts.length === 3) {
      handler.close(); // closing from inside the handler is fine
      resolve();
    }
  });
});
for (const text of ['a', 'b', 'c']) node.emitRaw(text);
await three;
console.log(`handler got ${texts.join(', ')}`);
await node.shutdown();

const networkKey = '07'.repeat(32);
const alice = await Mesh.bind({ networkKey, bind: '127.0.0.1:0' });
const bob = await Mesh.bind({ networkKey, bind: '127.0.0.1:0' });
const peer = await alice.connect(bob.localAddr, bob.publicKey);
// Calling back into Net from inside a handler is fine.
bob.onMessage((m) => bob.send(m.from, m.streamId, Buffer.concat([Buffer.from('re: '), m.payload])));
await alice.openStream(peer, 1n, { reliable: true }).sendBlocking('hello', { timeoutMs: 5000 });
const answer = await alice.recv({ timeoutMs: 5000 });
console.log(`alice got "${answer.payload}"`);
await alice.close();
await bob.close();
