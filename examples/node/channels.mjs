// Channels in Node.js: a publisher registers a token-gated channel and trusts a
// root; a subscriber presents the root's grant and receives what is published;
// a revocation stops delivery on the next publish.
// Run: cd examples/node && npm install && node channels.mjs
import assert from 'node:assert/strict';
import { ChannelUnauthorizedError, Identity, Mesh } from '@netmesh/sdk';

const options = { networkKey: Buffer.alloc(32, 7), bind: '127.0.0.1:0' };
const publisher = await Mesh.bind(options);
const subscriber = await Mesh.bind(options);
await subscriber.connect(publisher.localAddr, publisher.publicKey);

// The publisher's channel wants a token; it trusts one root.
publisher.registerChannel('alerts/fire', { requireToken: true });
const root = Identity.fromSeed(Buffer.alloc(32, 42));
publisher.tokenCache.trust(root.publicKey);

// Without a token: refused with the reason.
try {
  await subscriber.subscribe(publisher.nodeId, 'alerts/fire');
} catch (e) {
  console.log('without a token:', e instanceof ChannelUnauthorizedError, e.code);
}

// With the root's grant for alerts/**: admitted.
const grant = root.issueToken({ subject: subscriber.publicKey, scope: ['subscribe'], channel: 'alerts/**', ttlMs: 600_000 });
const sub = await subscriber.subscribe(publisher.nodeId, 'alerts/*', { tokens: [grant] });
console.log('admitted to', sub.accepted);
for (const text of ['smoke', 'heat', 'flame']) publisher.publish('alerts/fire', text);
for (let i = 0; i < 3; i++) {
  const m = await sub.next({ timeoutMs: 5000 });
  console.log(`${m.payload} on ${m.channel}`);
}

// Revoked: the next publish skips the subscriber and drops it.
publisher.tokenCache.revoke(grant.id);
const report = publisher.publish('alerts/fire', 'after');
assert.equal(report.delivered, 0);
console.log('after revoking:', report);
sub.close();
await subscriber.close();
await publisher.close();
