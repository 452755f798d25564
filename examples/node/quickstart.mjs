// Net bus quick start in Node.js: emit, poll, subscribe, typed errors.
// Run: cd examples/node && npm install && node quickstart.mjs
import { NetNode, InvalidJsonError } from '@netmesh/sdk';

const node = await NetNode.create({ shards: 4 });

// Emit
node.emit({ token: 'hello', index: 0 });
node.emitRaw('{"token": "world"}');
console.log('batch accepted', node.emitBatch([{ a: 1 }, { a: 2 }]));

// Poll (reads without consuming; pass nextCursor back to acknowledge)
for (const event of node.poll({ limit: 100 }).events) {
  console.log('polled', event.text);
}

// Bad input is a typed error
try {
  node.emitStr('{oops');
} catch (err) {
  if (err instanceof InvalidJsonError) console.log('rejected:', err.kind);
}

// Stream
for await (const event of node.subscribe({ limit: 4 })) {
  console.log('streamed', event.raw.toString());
}

console.log(node.stats());
await node.shutdown();
