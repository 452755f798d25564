// Local state in TypeScript/Node: a RedEX log with a live tail, then NetDB tasks
// with read-your-writes, a query and a snapshot restored into a second database.
// Run: cd examples/node && npm install && node state.mjs
import { NetDb, Redex } from '@netmesh/sdk';

// A raw log: append, read back, tail from a sequence.
const rx = Redex.open(); // Redex.open({ dir: './data' }) persists the logs
const orders = rx.openLog('orders');
orders.append('order 1');
orders.appendBatch(['order 2', 'order 3']);
for (const entry of orders.readRange()) console.log(`log #${entry.seq}: ${entry.payload}`);
const tail = orders.tail(2);
const live = await tail.nextBatch(10, 1000);
console.log(`tail from #2 sees ${live?.length ?? 0} entry`);
tail.close();
rx.close();

// NetDB: writes return tokens; waiting on one gives read-your-writes.
const db = NetDb.open({ memories: false });
db.tasks.create(1, 'write plan');
db.tasks.create(2, 'ship it');
await db.tasks.waitForToken(db.tasks.complete(1));
console.log('pending:', db.tasks.findMany({ status: 'pending' }).map((t) => t.title));

// A snapshot is bytes; any language restores it.
const snapshot = db.snapshot();
const copy = NetDb.restore(snapshot, { memories: false });
console.log(`restored ${copy.tasks.countWhere()} tasks from ${snapshot.length} bytes`);
copy.close();
db.close();
