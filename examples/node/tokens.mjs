// Permission tokens in Node.js: a root grant, a delegation that narrows it, a
// chain checked by a token cache, and a revocation.
// Run: cd examples/node && npm install && node tokens.mjs
import { Identity, NetError, TokenCache } from '@netmesh/sdk';

const [root, gateway, sensor] = [1, 2, 3].map((n) => Identity.fromSeed(Buffer.alloc(32, n)));

// The root lets the gateway subscribe below sensors/ and pass that on once.
const grant = root.issueToken({
  subject: gateway.publicKey,
  scope: ['subscribe', 'delegate'],
  channel: 'sensors/**',
  ttlMs: 3_600_000,
  depth: 1,
});
// The gateway lets one sensor reader subscribe to the lidar channels only.
const narrow = gateway.delegateToken(grant, { subject: sensor.publicKey, scope: 'subscribe', channel: 'sensors/lidar/*', ttlMs: 600_000 });
console.log(`token: ${narrow.bytes.length} bytes, id ${narrow.id}`);
// Widening is refused.
try {
  gateway.delegateToken(grant, { subject: sensor.publicKey, scope: 'publish', channel: 'sensors/lidar/*', ttlMs: 600_000 });
} catch (err) {
  if (err instanceof NetError) console.log('publish from a subscribe grant:', err.kind);
}

// A node that trusts the root checks the chain, then revokes it.
const cache = new TokenCache();
cache.trust(root.publicKey);
cache.install([grant, narrow], { subject: sensor.publicKey, scope: 'subscribe', channel: 'sensors/lidar/front' });
const allowed = (channel) => {
  try {
    cache.check({ subject: sensor.publicKey, scope: 'subscribe', channel });
    return true;
  } catch {
    return false;
  }
};
console.log('lidar/front allowed:', allowed('sensors/lidar/front'));
console.log('temp allowed:', allowed('sensors/temp'));
cache.revoke(grant.id);
console.log('after revoking the root grant:', allowed('sensors/lidar/front'));
