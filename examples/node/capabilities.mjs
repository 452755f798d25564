// Capabilities in Node.js: describe a node, ask questions of it, validate and
// diff sets, derive subnets, and find a node over the mesh by what it can do.
// Run: cd examples/node && npm install && node capabilities.mjs
import assert from 'node:assert/strict';
import { CapabilitySet, Mesh, Predicate, SubnetId, SubnetPolicy, visibilityAllows } from '@netmesh/sdk';

// A GPU node: typed hardware becomes tags, beside free-form ones.
const gpuNode = new CapabilitySet(['software.model=llama3-70b', 'region:eu']).withHardware({
  cpuCores: 16,
  memoryGb: 64,
  gpu: { vendor: 'nvidia', vramGb: 24 },
});
console.log('tags:', gpuNode.tags);
console.log('valid:', gpuNode.validate().valid);

// A question, evaluated in the engine (the same JSON in every language).
const wants = Predicate.exists('hardware.gpu')
  .and(Predicate.atLeast('hardware.gpu.vram_gb', 16))
  .and(Predicate.equals('software.model', 'llama3-70b'));
console.log(JSON.stringify(wants), '->', wants.matches(gpuNode));

// What changed when a model was added.
console.log('diff added:', gpuNode.withTags('software.model=whisper').diff(gpuNode).added);

// Subnets: the policy every node shares turns tags into a subnet.
const policy = new SubnetPolicy().addRule({ prefix: 'region:', level: 0, values: { eu: 4 } });
const subnet = policy.assign(gpuNode);
console.log('subnet:', subnet.toString(), '| subnet_local reaches 5.0.0.0:', visibilityAllows('subnet_local', subnet, SubnetId.parse('5')));

// Over the mesh: b announces, a finds it by what it can do.
const options = { networkKey: Buffer.alloc(32, 7), bind: '127.0.0.1:0' };
const a = await Mesh.bind(options);
const b = await Mesh.bind(options);
await a.connect(b.localAddr, b.publicKey);
b.announceCapabilities(gpuNode);
const deadline = Date.now() + 5000;
while (a.findNodes(wants).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
assert.deepEqual(a.findNodes(wants), [b.nodeId]);
console.log('a finds b:', a.findNodes(wants)[0] === b.nodeId);
await a.close();
await b.close();
