// Typed channels in TypeScript/JavaScript: values checked by a Zod schema on a
// channel, on a node's local channels (every subscriber gets every value) and
// over the mesh. Run: cd examples/node && node typed_channels.mjs
import { z } from 'zod';
import { InvalidChannelMessageError, Mesh, NetNode } from '@netmesh/sdk';

const Reading = z.object({ sensorId: z.string(), celsius: z.number() });

// On one node: publish and subscribe, no registration.
const node = await NetNode.create({ shards: 4 });
const temps = node.channel('sensors/temperature', Reading);
const sub = temps.subscribe();
const n = temps.publish({ sensorId: 'A1', celsius: 22.5 });
console.log(`local: ${n} subscriber got`, await sub.next({ timeoutMs: 5000 }));

// A message that is not a Reading throws; the subscription goes on.
node.publish('sensors/temperature', '{"celsius": "hot"}');
try {
  await sub.next({ timeoutMs: 5000 });
} catch (e) {
  console.log('a bad message:', e instanceof InvalidChannelMessageError, e.code);
}
sub.close();

// Or pushed: the engine calls a function for each value (on the event loop).
const pushed = temps.subscribe();
const value = new Promise((resolve) => pushed.onMessage(resolve));
temps.publish({ sensorId: 'A2', celsius: 19 });
console.log('pushed:', await value);
pushed.close();
await node.shutdown();

// Over the mesh: the publisher registers the channel, a peer subscribes.
const options = { networkKey: Buffer.alloc(32, 7), bind: '127.0.0.1:0' };
const publisher = await Mesh.bind(options);
const subscriber = await Mesh.bind(options);
await subscriber.connect(publisher.localAddr, publisher.publicKey);
publisher.registerChannel('plant/temps');
const out = publisher.channel('plant/temps', Reading);
const remote = await subscriber.channel('plant/temps', Reading).subscribe(publisher.nodeId);
const report = out.publish({ sensorId: 'boiler', celsius: 81 });
console.log(`mesh: delivered ${report.delivered}, got`, await remote.next({ timeoutMs: 5000 }));
remote.close();
await subscriber.close();
await publisher.close();
