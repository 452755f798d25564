/** Permission tokens, the token cache and channel names through the TypeScript SDK. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  channelHash,
  channelMatches,
  checkChannelName,
  Identity,
  InvalidChannelNameError,
  InvalidKeyError,
  InvalidTokenArgumentError,
  PermissionToken,
  TOKEN_LEN,
  TokenBrokenChainError,
  TokenCache,
  TokenDeniedError,
  TokenExpiredError,
  TokenMalformedError,
  TokenRevokedError,
  TokenUntrustedError,
  TokenWidenedError,
  TokenZeroTtlError,
} from '../src';

const NOW = 1_800_000_000;

test('issue, delegate and check a chain', () => {
  const [root, alice, bob] = [Identity.generate(), Identity.generate(), Identity.generate()];
  const grant = root.issueToken({
    subject: alice.publicKey,
    scope: ['subscribe', 'delegate'],
    channel: 'sensors/**',
    ttlMs: 3_600_000,
    depth: 1,
    now: NOW,
  });
  assert.equal(grant.bytes.length, TOKEN_LEN);
  grant.verify(NOW);
  assert.throws(() => grant.verify(NOW + 3600), TokenExpiredError);
  const child = alice.delegateToken(grant, { subject: bob.publicKey, scope: 'subscribe', channel: 'sensors/lidar', ttlMs: 300_000, now: NOW });
  const info = child.info();
  assert.deepEqual([info.scope, info.parent, info.expires, info.channelKind], [['subscribe'], grant.id, NOW + 300, 'exact']);
  assert.deepEqual(info.issuer, alice.publicKey);
  assert.throws(() => alice.delegateToken(grant, { subject: bob.publicKey, scope: ['publish'], channel: 'sensors/lidar', ttlMs: 1000, now: NOW }), TokenWidenedError);
  assert.throws(() => bob.delegateToken(grant, { subject: bob.publicKey, scope: ['subscribe'], channel: 'sensors/lidar', ttlMs: 1000, now: NOW }), TokenBrokenChainError);
  const cache = new TokenCache();
  const access = { subject: bob.publicKey, scope: 'subscribe' as const, channel: 'sensors/lidar' };
  assert.throws(() => cache.install([grant, child], access, NOW), TokenUntrustedError);
  cache.trust(root.publicKey);
  const leaf = cache.install([grant, child], access, NOW);
  assert.equal(leaf, child.id);
  assert.equal(cache.size, 1);
  assert.equal(cache.check(access, new Date((NOW + 1) * 1000)), leaf);
  assert.throws(() => cache.check({ ...access, scope: 'publish' }, NOW + 1), TokenDeniedError);
  assert.throws(() => cache.check(access, NOW + 300), TokenExpiredError);
  cache.revoke(grant.id);
  assert.ok(cache.isRevoked(Buffer.from(grant.id, 'hex')));
  assert.throws(() => cache.check(access, NOW + 1), TokenDeniedError);
  assert.throws(() => cache.verify([grant, child], access, NOW), TokenRevokedError);
  assert.equal(cache.sweep(NOW), 0);
  assert.equal(cache.size, 0);
});

test('bad input is a typed error', () => {
  const [root, alice] = [Identity.generate(), Identity.generate()];
  const base = { subject: alice.publicKey, scope: ['admin'] as const, channel: 'a', ttlMs: 10_000 };
  assert.throws(() => root.tryIssueToken({ ...base, ttlMs: 0 }), TokenZeroTtlError);
  assert.equal(root.issueToken({ ...base, ttlMs: 0, now: NOW }).info().expires, NOW + 1);
  assert.throws(() => root.issueToken({ ...base, scope: ['write' as 'admin'] }), InvalidTokenArgumentError);
  assert.throws(() => root.issueToken({ ...base, scope: [] }), InvalidTokenArgumentError);
  assert.throws(() => root.issueToken({ ...base, subject: Buffer.from([1, 2]) }), InvalidKeyError);
  assert.throws(() => root.issueToken({ ...base, channel: 'a//b' }), InvalidChannelNameError);
  assert.throws(() => root.issueToken({ ...base, ttlMs: -1 }), InvalidTokenArgumentError);
  assert.throws(() => root.issueToken({ ...base, ttlMs: Number.NaN }), InvalidTokenArgumentError);
  assert.throws(() => PermissionToken.fromBytes(Buffer.from('not a token')), TokenMalformedError);
  assert.throws(() => new PermissionToken(Buffer.alloc(TOKEN_LEN)).verify(), TokenMalformedError);
  const cache = new TokenCache();
  assert.throws(() => cache.revoke('abcd'), InvalidTokenArgumentError);
  assert.throws(() => cache.trust(Buffer.from([1])), InvalidKeyError);
  assert.throws(() => cache.check({ subject: alice.publicKey, scope: ['write' as 'admin'], channel: 'a' }), InvalidTokenArgumentError);
  assert.throws(() => cache.check({ subject: alice.publicKey, scope: 'admin', channel: 'a' }, Number.NaN), InvalidTokenArgumentError);
});

test('channel names', () => {
  checkChannelName('sensors/lidar');
  assert.throws(() => checkChannelName('/sensors'), InvalidChannelNameError);
  assert.equal(channelMatches('sensors/*', 'sensors/lidar'), true);
  assert.equal(channelMatches('sensors/*', 'sensors/lidar/front'), false);
  assert.notEqual(channelHash('a'), channelHash('b'));
});
