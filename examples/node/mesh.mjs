// Two mesh nodes talking in TypeScript/Node: connect, a reliable stream, an answer.
// Run: cd examples/node && npm install && node mesh.mjs
import { Mesh } from '@netmesh/sdk';

// Every node of a mesh shares its network key; it is the realm boundary.
const networkKey = '07'.repeat(32);
const alice = await Mesh.bind({ networkKey, bind: '127.0.0.1:0' });
const bob = await Mesh.bind({ networkKey, bind: '127.0.0.1:0' });

// Alice knows Bob's address and public key; the handshake proves both.
const peer = await alice.connect(bob.localAddr, bob.publicKey);
console.log(`alice connected to ${peer.toString(16)}`); // node ids are bigints

// A reliable stream: in order, exactly once, with a credit window.
const stream = alice.openStream(peer, 1n, { reliable: true });
for (let i = 0; i < 3; i++) await stream.sendBlocking(`hello #${i}`, { timeoutMs: 5000 });
for (let i = 0; i < 3; i++) {
  const message = await bob.recv({ timeoutMs: 5000 });
  console.log(`bob got "${message.payload}" from ${message.from.toString(16)} on stream ${message.streamId}`);
}

// Bob answers on a fire-and-forget stream (the default).
bob.send(alice.nodeId, 2n, 'hi alice');
for await (const answer of alice.messages()) {
  console.log(`alice got "${answer.payload}"`);
  break;
}
const stats = stream.stats();
console.log(`stream 1: sent ${stats.sent}, in flight ${stats.inFlight}`);

await alice.close();
await bob.close();
