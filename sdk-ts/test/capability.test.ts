import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CapabilitySet,
  InvalidCapabilityDiffError,
  InvalidCapabilitySetError,
  InvalidCapabilityTagError,
  InvalidPredicateError,
  InvalidSubnetError,
  InvalidSubnetPolicyError,
  Predicate,
  SubnetId,
  SubnetPolicy,
  visibilityAllows,
} from '../src';

const gpuNode = (): CapabilitySet =>
  new CapabilitySet(['inference'])
    .withHardware({ cpuCores: 16, memoryGb: 64, gpu: { vendor: 'nvidia', model: 'RTX 4090', vramGb: 24 } })
    .withMetadata('intent', 'ml-training');

test('builders are canonical and views read back', () => {
  const caps = gpuNode();
  assert.deepEqual(caps.tags.slice(0, 3), ['hardware.cpu.cores=16', 'hardware.gpu', 'hardware.gpu.model=RTX 4090']);
  assert.ok(caps.has('inference'));
  const views = caps.views();
  assert.equal(views.hardware.gpu?.vramGb, 24);
  assert.equal(views.hardware.cpuCores, 16);
  const more = caps.withSoftware({ models: ['llama3-70b'], runtimes: { python: '3.11' } }).withLimits({ maxConcurrent: 4 });
  assert.deepEqual(more.views().software.models, ['llama3-70b']);
  assert.equal(more.views().limits.maxConcurrent, 4);
  assert.ok(CapabilitySet.fromJSON(JSON.stringify(more)).equals(more));
  const report = caps.validate();
  assert.ok(report.valid);
  assert.deepEqual(report.warnings, []);
});

test('predicates compose and round-trip', () => {
  const caps = gpuNode();
  const want = Predicate.exists('hardware.gpu')
    .and(Predicate.atLeast('hardware.gpu.vram_gb', 16))
    .and(Predicate.oneOf('region', ['cn']).not());
  assert.equal(want.matches(caps), true);
  assert.equal(Predicate.atMost('hardware.cpu.cores', 8).matches(caps), false);
  assert.equal(Predicate.anyOf().matches(caps), false);
  assert.equal(Predicate.allOf().matches(caps), true);
  assert.deepEqual(Predicate.fromJSON(want.toJSON()).toJSON(), want.toJSON());
  assert.equal((want.toJSON().and as unknown[]).length, 3);
});

test('errors are typed', () => {
  assert.throws(() => new CapabilitySet(['a b']), InvalidCapabilityTagError);
  assert.throws(() => CapabilitySet.fromJSON('[1]'), InvalidCapabilitySetError);
  assert.throws(() => new CapabilitySet().withHardware({ cpuCores: -1 }), InvalidCapabilitySetError);
  assert.throws(() => Predicate.fromJSON('{"exist":"a"}'), InvalidPredicateError);
  assert.throws(() => Predicate.semverCompatible('a', 'x.y').matches(gpuNode()), InvalidPredicateError);
  assert.throws(() => SubnetId.parse('0.7'), InvalidSubnetError);
  assert.throws(() => new SubnetId(0x00070000), InvalidSubnetError);
  assert.throws(() => SubnetId.fromLevels(256), InvalidSubnetError);
  assert.throws(() => new SubnetPolicy([{ prefix: 'x:', level: 4, values: { a: 1 } }]).assign(new CapabilitySet()), InvalidSubnetPolicyError);
  assert.throws(() => visibilityAllows('public' as never, SubnetId.GLOBAL, SubnetId.GLOBAL), InvalidSubnetPolicyError);
});

test('diff and apply', () => {
  const before = gpuNode();
  const after = before.withTags('software.model=llama3-70b');
  const diff = after.diff(before);
  assert.deepEqual(diff.added, ['software.model=llama3-70b']);
  assert.ok(before.apply(diff).equals(after));
  assert.deepEqual(after.diff(after).added, []);
  assert.throws(() => after.apply(diff), InvalidCapabilityDiffError);
});

test('subnets and visibility', () => {
  const fleet = SubnetId.fromLevels(3, 7);
  assert.equal(fleet.toString(), '3.7.0.0');
  assert.equal(fleet.value, 0x03070000);
  assert.deepEqual(fleet.levels, [3, 7]);
  const child = SubnetId.parse('3.7.1');
  assert.equal(visibilityAllows('subnet_local', fleet, child), false);
  assert.equal(visibilityAllows('parent_visible', fleet, child), true);
  const policy = new SubnetPolicy()
    .addRule({ prefix: 'region:', level: 0, values: { us: 3 } })
    .addRule({ prefix: 'fleet:', level: 1, values: { blue: 7 } });
  assert.ok(policy.assign(new CapabilitySet(['region:us', 'fleet:blue'])).equals(fleet));
  assert.deepEqual(SubnetPolicy.fromJSON(JSON.stringify(policy)).rules, policy.rules);
  const big = SubnetId.fromLevels(255, 255, 255, 255);
  assert.equal(big.value, 0xffffffff);
  assert.deepEqual(big.levels, [255, 255, 255, 255]);
});

test('announcements cross a line of three meshes', async () => {
  const { Mesh, InvalidMeshConfigError } = await import('../src');
  const policy = new SubnetPolicy().addRule({ prefix: 'region:', level: 0, values: { eu: 4 } });
  const home = SubnetId.parse('3.7');
  const options = {
    networkKey: Buffer.alloc(32, 7),
    bind: '127.0.0.1:0',
    capabilities: { subnet: home, subnetPolicy: policy, minAnnounceIntervalMs: 50 },
  };
  const nodes = [await Mesh.bind(options), await Mesh.bind(options), await Mesh.bind(options)];
  try {
    for (let i = 0; i < 2; i++) await nodes[i].connect(nodes[i + 1].localAddr, nodes[i + 1].publicKey);
    const origin = nodes[2];
    origin.announceCapabilities(gpuNode().withTags('region:eu'));
    const want = Predicate.exists('hardware.gpu').and(Predicate.atLeast('hardware.gpu.vram_gb', 16));
    const deadline = Date.now() + 5000;
    while (nodes[0].findNodes(want).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(nodes[0].findNodes(want), [origin.nodeId]);
    assert.deepEqual(origin.findNodes(want), [origin.nodeId]);
    assert.ok(nodes[0].capabilitiesOf(origin.nodeId)?.has('region:eu'));
    assert.equal(nodes[0].capabilitiesOf(12345n), null);
    assert.equal(nodes[0].subnetOf(origin.nodeId)?.toString(), '4.0.0.0');
    assert.ok(nodes[0].subnetOf(nodes[0].nodeId)?.equals(home));
    assert.equal(nodes[0].subnetOf(12345n), null);
    assert.deepEqual(nodes[0].findNodes(want, 'global'), [origin.nodeId]);
    const stats = nodes[1].capabilityStats();
    assert.equal(stats.forwarded, 1);
    assert.equal(stats.indexed, 1);
    assert.throws(() => nodes[0].findNodes(want, 'planet'), InvalidPredicateError);
  } finally {
    for (const n of nodes) await n.close();
  }
  await assert.rejects(
    Mesh.bind({ networkKey: Buffer.alloc(32, 7), bind: '127.0.0.1:0', capabilities: { ttlMs: 1 } }),
    InvalidMeshConfigError,
  );
});

test('channels: token-gated subscribe, publish, receive, revoke', async () => {
  const { Mesh, Identity, ChannelUnauthorizedError, UnknownChannelError, InvalidChannelConfigError } = await import('../src');
  const options = { networkKey: Buffer.alloc(32, 7), bind: '127.0.0.1:0' };
  const p = await Mesh.bind(options);
  const s = await Mesh.bind(options);
  try {
    await s.connect(p.localAddr, p.publicKey);
    p.registerChannel('alerts/fire', { requireToken: true });
    assert.throws(() => p.registerChannel('alerts/fire'), InvalidChannelConfigError);
    const root = Identity.fromSeed(Buffer.alloc(32, 42));
    p.tokenCache.trust(root.publicKey);
    const token = root.issueToken({ subject: s.publicKey, scope: ['subscribe'], channel: 'alerts/**', ttlMs: 600_000 });
    await assert.rejects(s.subscribe(p.nodeId, 'alerts/fire'), ChannelUnauthorizedError);
    await assert.rejects(s.subscribe(p.nodeId, 'alerts/none', { tokens: [token] }), UnknownChannelError);
    const sub = await s.subscribe(p.nodeId, 'alerts/*', { tokens: [token] });
    assert.deepEqual(sub.accepted, ['alerts/fire']);
    assert.equal(sub.publisher, p.nodeId);
    assert.deepEqual(p.channelSubscribers('alerts/fire'), [s.nodeId]);
    for (let i = 0; i < 20; i++) {
      const report = p.publish('alerts/fire', Buffer.from([i]));
      assert.deepEqual([report.attempted, report.delivered, report.skipped.length], [1, 1, 0]);
    }
    let i = 0;
    for await (const m of sub) {
      assert.equal(m.channel, 'alerts/fire');
      assert.deepEqual([...m.payload], [i]);
      if (++i === 20) break;
    }
    // Leaving the loop unsubscribed.
    const deadline = Date.now() + 5000;
    while (p.channelSubscribers('alerts/fire').length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(p.channelSubscribers('alerts/fire'), []);
    const again = await s.subscribe(p.nodeId, 'alerts/fire', { tokens: [token] });
    p.tokenCache.revoke(token.id);
    const report = p.publish('alerts/fire', 'after');
    assert.equal(report.delivered, 0);
    assert.deepEqual(report.skipped, [{ nodeId: s.nodeId, reason: 'revoked' }]);
    assert.equal(await again.next({ timeoutMs: 100 }), null);
    again.close();
    assert.throws(() => p.publish('nope', ''), UnknownChannelError);
    assert.equal(p.channelStats().evictedRevoked, 1);
    assert.equal(p.unregisterChannel('alerts/fire'), true);
    assert.equal(p.unregisterChannel('alerts/fire'), false);
  } finally {
    await s.close();
    await p.close();
  }
});
