import { test } from 'node:test';
import assert from 'node:assert/strict';
import { until } from './support/until';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { promisify } from 'node:util';
import {
  HandshakeFailedError,
  Identity,
  InvalidMeshArgumentError,
  InvalidKeyError,
  InvalidMeshConfigError,
  InvalidSeedError,
  Mesh,
  MeshMessage,
  MeshOptions,
  MeshShutdownError,
  MeshTimeoutError,
  MessageTooLargeError,
  PeerHealth,
  StreamBackpressureError,
  UnknownPeerError,
  UntrustedPeerError,
} from '../src';

const KEY = '07'.repeat(32);
const ROOT = path.resolve(__dirname, '..', '..', '..');
const MAX_RELIABLE = 65423;
const MAX_UNRELIABLE = 65427;
const U64_MAX = 2n ** 64n - 1n;

function bind(extra: Partial<MeshOptions> = {}): Promise<Mesh> {
  return Mesh.bind({ networkKey: KEY, bind: '127.0.0.1:0', ...extra });
}

/**
 * Two connected nodes: `a` connected to `b`, and `b` holding the session too
 * (connect resolves once `a` has sent its confirmation, which `b` may not
 * have read yet).
 */
async function pair(): Promise<{ a: Mesh; b: Mesh; peer: bigint }> {
  const a = await bind();
  const b = await bind();
  const peer = await a.connect(b.localAddr, b.publicKey);
  await until(() => b.peers().some((p) => p.nodeId === a.nodeId), 'the session at b');
  return { a, b, peer };
}

async function recvOne(mesh: Mesh, timeoutMs = 5000): Promise<MeshMessage> {
  const m = await mesh.recv({ timeoutMs });
  assert.ok(m, `no message within ${timeoutMs} ms`);
  return m;
}

test('two nodes talk both ways: reliable, fire-and-forget, empty and largest payloads', async () => {
  const { a, b, peer } = await pair();
  try {
    assert.equal(typeof peer, 'bigint');
    assert.equal(peer, b.nodeId);
    assert.match(a.localAddr, /^127\.0\.0\.1:\d+$/);
    assert.equal(a.publicKey.length, 32);
    const [seen] = a.peers();
    assert.deepEqual([seen.nodeId, seen.publicKey, seen.addr, seen.confirmed], [b.nodeId, b.publicKey, b.localAddr, true]);
    // Both sides agreed one packet cipher.
    const bSees = b.peers().find((p) => p.nodeId === a.nodeId);
    assert.equal(bSees?.cipher, seen.cipher);
    assert.ok(['aes-256-gcm', 'chacha20-poly1305'].includes(seen.cipher));

    // A -> B, reliable: in order, including empty and the largest payload.
    const stream = a.openStream(peer, 2n, { reliable: true });
    assert.deepEqual([stream.peer, stream.id, stream.reliable], [peer, 2n, true]);
    const big = Buffer.alloc(MAX_RELIABLE, 0xab);
    await stream.sendBlocking('hello', { timeoutMs: 5000 });
    stream.send(Buffer.from('second'));
    await stream.sendWithRetry(new Uint8Array(0), 4);
    await stream.sendBlocking(big);
    await assert.rejects(stream.sendBlocking(Buffer.alloc(MAX_RELIABLE + 1)), MessageTooLargeError);
    const got = [await recvOne(b), await recvOne(b), await recvOne(b), await recvOne(b)];
    assert.deepEqual(got.map((m) => [m.from, m.streamId]), Array(4).fill([a.nodeId, 2n]));
    assert.deepEqual(got.slice(0, 3).map((m) => m.payload.toString()), ['hello', 'second', '']);
    assert.ok(got[3].payload.equals(big));
    assert.equal(b.peers()[0].nodeId, a.nodeId);

    // B -> A: fire-and-forget by ids (numbers are fine for small ids), then reliable.
    b.send(a.nodeId, 3, 'unreliable hi');
    b.send(a.nodeId, 5n, Buffer.alloc(MAX_UNRELIABLE, 1));
    assert.throws(() => b.send(a.nodeId, 5n, Buffer.alloc(MAX_UNRELIABLE + 1)), MessageTooLargeError);
    const ff = await recvOne(a);
    assert.deepEqual([ff.from, ff.streamId, ff.payload.toString()], [b.nodeId, 3n, 'unreliable hi']);
    assert.equal((await recvOne(a)).payload.length, MAX_UNRELIABLE);
    await b.openStream(a.nodeId, 4n, { reliable: true, window: 8 }).sendBlocking('reliable back', { timeoutMs: 5000 });
    const back = await recvOne(a);
    assert.deepEqual([back.streamId, back.payload.toString()], [4n, 'reliable back']);

    // Ids above 2^53 stay exact.
    b.send(a.nodeId, U64_MAX, 'top');
    const top = await recvOne(a);
    assert.equal(top.streamId, U64_MAX);
    assert.equal(a.streamStats(b.nodeId, U64_MAX)?.streamId, U64_MAX);

    // Nothing else is waiting.
    assert.equal(await a.recv({ timeoutMs: 20 }), null);
    assert.deepEqual(await a.recvBatch(10, { timeoutMs: 0 }), []);

    // Stats.
    await until(() => stream.stats().inFlight === 0, 'acks');
    const s = stream.stats();
    assert.deepEqual(
      [s.peer, s.streamId, s.reliability, s.sent, s.inFlight, s.window],
      [peer, 2n, 'reliable', 4, 0, 256],
    );
    assert.equal(a.streamStats(peer, 2n)?.sent, 4);
    assert.equal(a.streamStats(peer, 999n), null);
    assert.equal(b.streamStats(a.nodeId, 2n)?.received, 4);
    const stats = a.stats();
    assert.ok(stats.packetsSent >= 5 && stats.handshakesCompleted === 1, JSON.stringify(stats));
    assert.ok(b.stats().bytesReceived >= MAX_RELIABLE);
  } finally {
    await a.close();
    await b.close();
  }
});

test('messages() iterates in order, and break leaves the rest for recv', async () => {
  const { a, b, peer } = await pair();
  try {
    const stream = a.openStream(peer, 6n, { reliable: true });
    for (let i = 0; i < 10; i++) await stream.sendBlocking(`m${i}`, { timeoutMs: 5000 });
    await until(() => b.streamStats(a.nodeId, 6n)?.received === 10, 'ten messages at b');
    const seen: string[] = [];
    for await (const m of b.messages()) {
      seen.push(m.payload.toString());
      if (seen.length === 4) break;
    }
    assert.deepEqual(seen, ['m0', 'm1', 'm2', 'm3']);
    assert.equal((await recvOne(b)).payload.toString(), 'm4');
    const rest = await b.recvBatch(100, { timeoutMs: 1000 });
    assert.deepEqual(rest.map((m) => m.payload.toString()), ['m5', 'm6', 'm7', 'm8', 'm9']);
  } finally {
    await a.close();
    await b.close();
  }
});

test('a seed gives a fixed identity; bad options are typed errors', async () => {
  const seeded = await bind({
    networkKey: Buffer.alloc(32, 7),
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    handshakeTimeoutMs: 2000,
    retransmitTimeoutMs: 50,
  });
  assert.equal(seeded.publicKey.toString('hex'), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
  assert.equal(seeded.nodeId, 13594199455360962225n);
  await seeded.close();

  await assert.rejects(bind({ networkKey: '0707' }), InvalidMeshConfigError);
  await assert.rejects(bind({ networkKey: new Uint8Array(31) }), InvalidMeshConfigError);
  await assert.rejects(bind({ bind: 'nowhere' }), InvalidMeshConfigError);
  // Loss is a test seam of the engine (mesh::conditions), not an option.
  await assert.rejects(bind({ simulatedLoss: 0.5 } as unknown as Partial<MeshOptions>), /mesh:invalid_config: .*simulated(_l|L)oss/);
  await assert.rejects(bind({ handshakeTimeoutMs: 0 }), InvalidMeshConfigError);
  await assert.rejects(bind({ colour: 'blue' } as unknown as Partial<MeshOptions>), /mesh:invalid_config: .*colour/);
  await assert.rejects(bind({ seed: '0102' }), InvalidSeedError);
  await assert.rejects(bind({ seed: new Uint8Array(33) }), InvalidSeedError);
  assert.throws(() => Mesh.fromConfig('not json'), InvalidMeshConfigError);
});

test('connect and stream errors are typed', async () => {
  const a = await bind({ handshakeTimeoutMs: 1500, handshakeRetryMs: 100 });
  const stranger = await bind({ networkKey: '08'.repeat(32) });
  const gone = await bind();
  const goneAddr = gone.localAddr;
  await gone.close();
  try {
    // Another network key: the handshake fails.
    await assert.rejects(a.connect(stranger.localAddr, stranger.publicKey), HandshakeFailedError);
    // Nobody answers: a timeout.
    await assert.rejects(a.connect(goneAddr, gone.publicKey), MeshTimeoutError);
    // Bad arguments.
    await assert.rejects(a.connect('not an address', stranger.publicKey), (e: unknown) => e instanceof InvalidMeshArgumentError && e.kind === 'mesh:invalid_argument');
    await assert.rejects(a.connect('127.0.0.1', stranger.publicKey), InvalidMeshArgumentError);
    await assert.rejects(a.connect(stranger.localAddr, stranger.publicKey.subarray(0, 31)), InvalidKeyError);
    await assert.rejects(a.connect(stranger.localAddr, 'zz'.repeat(32)), InvalidKeyError);
    await assert.rejects(a.connect(5 as unknown as string, stranger.publicKey), InvalidMeshArgumentError);
    assert.equal(a.stats().handshakesFailed >= 1, true);
    assert.equal(a.stats().handshakesThrottled, 0);
    assert.deepEqual(a.peers(), []);

    // No session: unknown peer.
    assert.throws(() => a.openStream(stranger.nodeId, 1n), UnknownPeerError);
    assert.throws(() => a.send(12345n, 1n, 'x'), UnknownPeerError);
    await assert.rejects(a.sendBlocking(12345n, 2n, 'x', { timeoutMs: 10 }), UnknownPeerError);
    await assert.rejects(a.sendWithRetry(12345n, 2n, 'x', 1), UnknownPeerError);

    // Ids and numbers out of range.
    assert.throws(() => a.openStream(-1n, 1n), InvalidMeshArgumentError);
    assert.throws(() => a.openStream(2n ** 64n, 1n), InvalidMeshArgumentError);
    assert.throws(() => a.send(1.5, 1n, 'x'), InvalidMeshArgumentError);
    assert.throws(() => a.streamStats(1n, -2n), InvalidMeshArgumentError);
    assert.throws(() => a.send(1n, 1n, 42 as unknown as string), InvalidMeshArgumentError);
    await assert.rejects(a.recv({ timeoutMs: -5 }), InvalidMeshArgumentError);
  } finally {
    await a.close();
    await stranger.close();
  }

  // Reopening a stream: same options fine, others not.
  const { a: x, b: y, peer } = await pair();
  try {
    x.openStream(peer, 2n, { reliable: true, window: 4 });
    x.openStream(peer, 2n, { reliable: true, window: 4 });
    assert.throws(() => x.openStream(peer, 2n, { reliable: true, window: 8 }), InvalidMeshConfigError);
    assert.throws(() => x.openStream(peer, 2n), InvalidMeshConfigError);
    assert.throws(() => x.openStream(peer, 3n, { reliable: true, window: -1 }), InvalidMeshArgumentError);
    assert.throws(() => x.openStream(peer, 3n, { reliable: true, window: 1 << 30 }), InvalidMeshConfigError);
  } finally {
    await x.close();
    await y.close();
  }
});

test('backpressure: a full window fails fast, retries give up, blocking sends time out', async () => {
  const { a, b, peer } = await pair();
  try {
    const stream = a.openStream(peer, 2n, { reliable: true, window: 2 });
    await b.close(); // no acks ever come back
    stream.send('one');
    stream.send('two');
    assert.throws(() => stream.send('three'), StreamBackpressureError);
    await assert.rejects(stream.sendWithRetry('three', 2), StreamBackpressureError);
    await assert.rejects(a.sendWithRetry(peer, 2n, 'three', 0), StreamBackpressureError);
    const started = Date.now();
    await assert.rejects(stream.sendBlocking('three', { timeoutMs: 30 }), MeshTimeoutError);
    assert.ok(Date.now() - started >= 25);
    const s = stream.stats();
    assert.equal(s.inFlight, 2);
    assert.equal(s.window, 2);
    assert.ok(s.backpressureEvents >= 1);

    // A send waiting without limit wakes when its node closes.
    const waiting = assert.rejects(stream.sendBlocking('four'), MeshShutdownError);
    await a.close();
    await waiting;
  } finally {
    await a.close();
    await b.close();
  }
});

test('close is idempotent, wakes waiters, and later calls throw MeshShutdownError', async () => {
  const { a, b, peer } = await pair();
  b.send(a.nodeId, 1n, 'before close');
  await until(() => a.streamStats(peer, 1n)?.received === 1, 'the message at a');

  const idle = await bind();
  const pendingRecv = assert.rejects(idle.recv(), MeshShutdownError);
  const iterator = idle.messages()[Symbol.asyncIterator]();
  const pendingNext = iterator.next();
  await Promise.all([idle.close(), idle.close()]);
  await pendingRecv;
  assert.deepEqual(await pendingNext, { value: undefined, done: true });

  const addrA = a.localAddr;
  await a.close();
  await a.close();
  // The port is free at once: a new node binds the same address.
  assert.throws(() => a.localAddr, MeshShutdownError);
  const rebound = await bind({ bind: addrA });
  assert.equal(rebound.localAddr, addrA);
  await rebound.close();
  // Already received messages can still be taken, then recv reports shutdown.
  assert.equal((await recvOne(a)).payload.toString(), 'before close');
  await assert.rejects(a.recv({ timeoutMs: 1000 }), MeshShutdownError);
  await assert.rejects(a.recv(), MeshShutdownError);
  assert.throws(() => a.send(peer, 1n, 'x'), MeshShutdownError);
  assert.throws(() => a.openStream(peer, 2n), MeshShutdownError);
  await assert.rejects(a.connect(b.localAddr, b.publicKey), MeshShutdownError);
  await assert.rejects(a.sendBlocking(peer, 1n, 'x', { timeoutMs: 10 }), MeshShutdownError);
  assert.ok(a.stats().packetsReceived >= 1); // counters stay readable
  for await (const m of a.messages()) assert.fail(`unexpected ${m.payload}`);
  await b.close();
});

test('concurrent senders on four reliable streams: each delivered in order', async () => {
  const { a, b, peer } = await pair();
  const streams = [10n, 11n, 12n, 13n];
  const perStream = 300;
  try {
    const senders = streams.map(async (id) => {
      const stream = a.openStream(peer, id, { reliable: true, window: 16 });
      for (let i = 0; i < perStream; i++) await stream.sendBlocking(`${id}:${i}`, { timeoutMs: 10000 });
    });
    const receiver = (async () => {
      const seen = new Map<bigint, number[]>(streams.map((id) => [id, []]));
      let total = 0;
      for await (const m of b.messages()) {
        const [id, i] = m.payload.toString().split(':');
        assert.equal(BigInt(id), m.streamId);
        seen.get(m.streamId)?.push(Number(i));
        if (++total === streams.length * perStream) break;
      }
      return seen;
    })();
    await Promise.all(senders);
    const seen = await receiver;
    for (const id of streams) assert.deepEqual(seen.get(id), Array.from({ length: perStream }, (_, i) => i), `stream ${id}`);
    assert.equal(await b.recv({ timeoutMs: 50 }), null);
  } finally {
    await a.close();
    await b.close();
  }
});

test('relaying: A reaches C through B from beacons; routes, routed peers, health and forwarding counters', async () => {
  const fast = { beaconIntervalMs: 50 };
  const a = await bind(fast);
  const b = await bind(fast);
  const c = await bind({ ...fast, maxHops: 4 });
  try {
    // A and C are each B's neighbour, not each other's.
    assert.equal(await a.connect(b.localAddr, b.publicKey), b.nodeId);
    assert.equal(await c.connect(b.localAddr, b.publicKey), b.nodeId);
    const route = (m: Mesh, dest: bigint) => m.routes().find((r) => r.dest === dest);
    await until(() => route(a, c.nodeId) !== undefined && route(c, a.nodeId) !== undefined, 'routes A<->C via B');
    assert.deepEqual(route(a, c.nodeId), { dest: c.nodeId, nextHop: b.nodeId, hops: 2 });
    assert.deepEqual(route(c, a.nodeId), { dest: a.nodeId, nextHop: b.nodeId, hops: 2 });
    assert.deepEqual(route(a, b.nodeId), { dest: b.nodeId, nextHop: b.nodeId, hops: 1 });
    assert.ok(a.routes().every((r) => typeof r.dest === 'bigint' && typeof r.nextHop === 'bigint' && typeof r.hops === 'number'));

    // A handshake through B.
    const peer = await a.connectRouted(c.publicKey);
    assert.equal(typeof peer, 'bigint');
    assert.equal(peer, c.nodeId);
    const viaB = a.peers().find((p) => p.nodeId === c.nodeId);
    assert.ok(viaB);
    assert.deepEqual([viaB.routed, viaB.health, viaB.confirmed], [true, 'alive', true]);
    assert.ok(viaB.publicKey.equals(c.publicKey));

    // 100 messages A -> C, reliable, in order; then C replies.
    const total = 100;
    const stream = a.openStream(peer, 9n, { reliable: true });
    const received = (async () => {
      const got: string[] = [];
      while (got.length < total) {
        const m = await recvOne(c);
        assert.deepEqual([m.from, m.streamId], [a.nodeId, 9n]);
        got.push(m.payload.toString());
      }
      return got;
    })();
    for (let i = 0; i < total; i++) await stream.sendBlocking(`via-b-${i}`, { timeoutMs: 5000 });
    assert.deepEqual(await received, Array.from({ length: total }, (_, i) => `via-b-${i}`));
    await c.openStream(a.nodeId, 9n, { reliable: true }).sendBlocking('reply from c', { timeoutMs: 5000 });
    const reply = await recvOne(a);
    assert.deepEqual([reply.from, reply.streamId, reply.payload.toString()], [c.nodeId, 9n, 'reply from c']);
    await until(() => stream.stats().inFlight === 0, 'acks back through B');

    // B relayed it all, and holds sessions with A and C only.
    const relay = b.stats();
    assert.ok(relay.packetsForwarded >= total, JSON.stringify(relay));
    for (const n of [relay.droppedUnroutable, relay.peersSuspected, relay.peersFailed, relay.peersRecovered]) {
      assert.equal(typeof n, 'number');
    }
    const sorted = (ids: bigint[]) => [...ids].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    assert.deepEqual(sorted(b.peers().map((p) => p.nodeId)), sorted([a.nodeId, c.nodeId]));
    // Direct neighbours' health follows their beacons (on a loaded machine a
    // late one may briefly make them suspect); routed peers are always alive.
    const healths: readonly PeerHealth[] = ['alive', 'suspect', 'failed'];
    assert.ok(b.peers().every((p) => !p.routed && healths.includes(p.health)));

    // C sees A as routed and alive; B as a direct neighbour.
    const fromC = new Map(c.peers().map((p) => [p.nodeId, p]));
    assert.deepEqual([fromC.get(a.nodeId)?.routed, fromC.get(a.nodeId)?.health], [true, 'alive']);
    assert.equal(fromC.get(b.nodeId)?.routed, false);
    assert.equal(a.stats().packetsForwarded, 0);
  } finally {
    await a.close();
    await b.close();
    await c.close();
  }
});

test('relaying errors are typed: no route, bad keys, zero beacon interval or hop limit', async () => {
  const a = await bind({ beaconIntervalMs: 30, maxHops: 255 });
  try {
    // Nobody has told A of this node: no route.
    const stranger = Identity.generate();
    await assert.rejects(a.connectRouted(stranger.publicKey), (e: unknown) => {
      assert.ok(e instanceof UnknownPeerError, String(e));
      assert.equal(e.kind, 'mesh:unknown_peer');
      return true;
    });
    await assert.rejects(a.connectRouted(stranger.publicKey.toString('hex')), UnknownPeerError);
    // Keys of the wrong length or not hex.
    await assert.rejects(a.connectRouted(stranger.publicKey.subarray(0, 31)), InvalidKeyError);
    await assert.rejects(a.connectRouted(Buffer.alloc(33)), InvalidKeyError);
    await assert.rejects(a.connectRouted('ab'.repeat(31)), InvalidKeyError);
    await assert.rejects(a.connectRouted('zz'.repeat(32)), InvalidKeyError);
    assert.deepEqual(a.routes(), []);
    assert.deepEqual(a.peers(), []);
  } finally {
    await a.close();
  }
  await assert.rejects(a.connectRouted(Identity.generate().publicKey), MeshShutdownError);

  await assert.rejects(bind({ beaconIntervalMs: 0 }), (e: unknown) => e instanceof InvalidMeshConfigError && /beacon/.test(e.message));
  await assert.rejects(bind({ maxHops: 0 }), (e: unknown) => e instanceof InvalidMeshConfigError && /max_hops/.test(e.message));
  await assert.rejects(bind({ maxHops: 256 }), InvalidMeshConfigError);
  await assert.rejects(bind({ beaconIntervalMs: -1 }), InvalidMeshConfigError);
});

test('lifetimes: sessions are rekeyed on schedule and streams carry on', async () => {
  const a = await bind({ rekeyIntervalMs: 100 });
  const b = await bind();
  try {
    const peer = await a.connect(b.localAddr, b.publicKey);
    const stream = a.openStream(peer, 7n, { reliable: true });
    await stream.sendBlocking('before', { timeoutMs: 5000 });
    assert.equal((await recvOne(b)).payload.toString(), 'before');
    await until(() => a.stats().sessionsRekeyed >= 2, 'two rekeys', 10000);
    assert.equal(a.stats().sessionsExpired, 0);
    // Both ways still work on the new sessions.
    await stream.sendBlocking('after', { timeoutMs: 5000 });
    const m = await recvOne(b, 10000);
    assert.deepEqual([m.from, m.streamId, m.payload.toString()], [a.nodeId, 7n, 'after']);
    await b.openStream(a.nodeId, 8n, { reliable: true }).sendBlocking('back', { timeoutMs: 5000 });
    assert.equal((await recvOne(a, 10000)).payload.toString(), 'back');
    assert.deepEqual(a.peers().map((p) => p.nodeId), [peer]);
  } finally {
    await a.close();
    await b.close();
  }
});

test('lifetimes: a silent session expires; the peer is gone and sends fail with UnknownPeerError', async () => {
  const a = await bind({ beaconIntervalMs: 50, sessionTimeoutMs: 600 });
  const b = await bind({ beaconIntervalMs: 50 });
  try {
    const peer = await a.connect(b.localAddr, b.publicKey);
    assert.equal(a.stats().sessionsExpired, 0);
    await b.close();
    await until(() => a.stats().sessionsExpired === 1, 'the session to expire', 10000);
    assert.ok(!a.peers().some((p) => p.nodeId === peer));
    assert.throws(() => a.send(peer, 1n, 'anyone?'), UnknownPeerError);
  } finally {
    await a.close();
    await b.close();
  }
});

test('lifetimes: bad rekey intervals and session timeouts are typed errors', async () => {
  await assert.rejects(bind({ rekeyIntervalMs: 0 }), (e: unknown) => e instanceof InvalidMeshConfigError && /rekey/.test(e.message));
  await assert.rejects(bind({ rekeyIntervalMs: -5 }), InvalidMeshConfigError);
  await assert.rejects(bind({ beaconIntervalMs: 50, sessionTimeoutMs: 149 }), InvalidMeshConfigError);
  // Against the default beacon interval (1000).
  await assert.rejects(bind({ sessionTimeoutMs: 2999 }), (e: unknown) => e instanceof InvalidMeshConfigError && /session_timeout/.test(e.message));
  const ok = await bind({ beaconIntervalMs: 50, sessionTimeoutMs: 150, rekeyIntervalMs: 1 });
  await ok.close();
});

/** A fresh temporary directory, removed by the returned function. */
function tempDir(tag: string): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `net-ts-${tag}-`));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Node A in a child process (seed `seed`): binds 127.0.0.1:0, connects to
 * `peerAddr`, sends `message` reliably (acknowledged), closes and exits, so
 * its port is free again when this resolves (another process's node, as a
 * real peer would be).
 */
async function nodeInChild(seed: string, peerAddr: string, peerKey: Buffer, message: string): Promise<string> {
  const script = `
    const { Mesh } = require(${JSON.stringify(path.resolve(__dirname, '..', 'src'))});
    (async () => {
      const [key, seed, addr, peerKey, message] = process.argv.slice(1);
      const mesh = await Mesh.bind({ networkKey: key, bind: '127.0.0.1:0', seed });
      const peer = await mesh.connect(addr, peerKey);
      await mesh.openStream(peer, 1n, { reliable: true }).sendBlocking(message, { timeoutMs: 5000 });
      console.log(mesh.localAddr);
      await mesh.close();
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const args = ['-e', script, KEY, seed, peerAddr, peerKey.toString('hex'), message];
  const { stdout } = await promisify(execFile)(process.execPath, args, { timeout: 20000 });
  return stdout.trim();
}

interface AuditLine {
  side: string;
  addr: string;
  node_id: string;
  public_key: string;
  policy: string;
  decision: string;
  reason: string;
  kind: string;
  ts_ms: number;
  prev: string;
}

function auditLines(file: string): AuditLine[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as AuditLine);
}

test('trust: TOFU pins the first key at an address; an impostor there is refused, counted, remembered and audited', async () => {
  const { dir, remove } = tempDir('tofu');
  const audit = path.join(dir, 'audit.jsonl');
  const store = path.join(dir, 'peers.json');
  const b = await bind({ trust: { policy: 'tofu' }, peerStore: { path: store, flushIntervalMs: 50 }, auditLog: { path: audit } });
  const a = Identity.fromSeed(Buffer.alloc(32, 0x11));
  try {
    // A is the first key seen at its address: accepted and pinned.
    const addr = await nodeInChild(a.seed.toString('hex'), b.localAddr, b.publicKey, 'from a');
    assert.match(addr, /^127\.0\.0\.1:\d+$/);
    const m = await recvOne(b);
    assert.deepEqual([m.from, m.payload.toString()], [a.nodeId, 'from a']);

    // Another key at the same address: B stays silent, so the impostor times out.
    const impostor = await bind({ bind: addr, seed: '22'.repeat(32), handshakeTimeoutMs: 800 });
    try {
      assert.equal(impostor.localAddr, addr);
      await assert.rejects(impostor.connect(b.localAddr, b.publicKey), MeshTimeoutError);
      const stats = b.stats();
      assert.deepEqual([stats.trustAccepted, stats.trustRejected], [1, 1], JSON.stringify(stats));

      // The store remembers A (its key is the pin).
      const known = b.knownPeers();
      assert.equal(known.length, 1);
      assert.equal(known[0].addr, addr);
      assert.ok(Buffer.isBuffer(known[0].publicKey) && known[0].publicKey.equals(a.publicKey));
      assert.equal(typeof known[0].nodeId, 'bigint');
      assert.equal(known[0].nodeId, a.nodeId);
      assert.ok(known[0].lastSuccessMs > 0);
      assert.equal(typeof known[0].failures, 'number');

      // B itself refuses to connect to that address expecting the impostor's key, at once.
      const started = Date.now();
      await assert.rejects(b.connect(addr, impostor.publicKey), (e: unknown) => {
        assert.ok(e instanceof UntrustedPeerError, String(e));
        assert.deepEqual([e.kind, e.code, e.status], ['mesh:untrusted_peer', 'mesh:untrusted_peer', -88]);
        return true;
      });
      assert.ok(Date.now() - started < 500, `refusal took ${Date.now() - started} ms`);
      assert.equal(b.stats().trustRejected, 2);
    } finally {
      await impostor.close();
    }

    // The audit log: accept (A), reject (the impostor), reject (B's own connect), chained.
    await until(() => auditLines(audit).length >= 3, 'three audit lines');
    const lines = auditLines(audit);
    assert.equal(lines.length, 3);
    assert.deepEqual(lines.map((l) => l.decision), ['accept', 'reject', 'reject']);
    assert.deepEqual(lines.map((l) => l.side), ['responder', 'responder', 'initiator']);
    assert.ok(lines.every((l) => l.kind === 'trust_decision' && l.policy === 'tofu' && l.addr === addr), JSON.stringify(lines));
    assert.deepEqual([lines[0].node_id, lines[0].public_key], [String(a.nodeId), a.publicKey.toString('hex')]);
    const impostorKey = Identity.fromSeed(Buffer.alloc(32, 0x22)).publicKey.toString('hex');
    assert.deepEqual([lines[1].public_key, lines[2].public_key], [impostorKey, impostorKey]);
    assert.equal(new Set(lines.map((l) => l.prev)).size, 3);
    assert.ok(lines.every((l) => typeof l.ts_ms === 'number' && l.reason.length > 0));

    // On close the store is written: A's pin is in the file.
    await b.close();
    assert.ok(fs.readFileSync(store, 'utf8').includes(a.publicKey.toString('hex')));
  } finally {
    await b.close();
    remove();
  }
});

test('trust: an allowlist accepts only its keys; pinned keys hold under open', async () => {
  const a = await bind();
  const stranger = await bind({ handshakeTimeoutMs: 800 });
  const b = await bind({ trust: { policy: 'allowlist', allow: [a.publicKey] } });
  try {
    assert.equal(await a.connect(b.localAddr, b.publicKey), b.nodeId);
    await assert.rejects(stranger.connect(b.localAddr, b.publicKey), MeshTimeoutError);
    await assert.rejects(b.connect(stranger.localAddr, stranger.publicKey), UntrustedPeerError);
    const stats = b.stats();
    assert.deepEqual([stats.trustAccepted, stats.trustRejected], [1, 2], JSON.stringify(stats));
    assert.deepEqual(b.knownPeers(), []); // no store
    assert.deepEqual(b.peers().map((p) => p.nodeId), [a.nodeId]);
  } finally {
    await a.close();
    await stranger.close();
    await b.close();
  }

  // Open policy with a pin: another key at the pinned address is refused; the
  // addresses are taken exactly as written (an upper-case IPv6 one too).
  const target = await bind();
  const other = await bind();
  const pinned = await bind({
    trust: {
      policy: 'open',
      pinned: { [target.localAddr]: other.publicKey.toString('hex'), '[::FFFF:7F00:1]:9': other.publicKey },
    },
  });
  try {
    await assert.rejects(pinned.connect(target.localAddr, target.publicKey), UntrustedPeerError);
    assert.equal(await pinned.connect(other.localAddr, other.publicKey), other.nodeId);
  } finally {
    await target.close();
    await other.close();
    await pinned.close();
  }
});

test('trust, peer store and audit options: camelCase converted, bad values are typed errors', async () => {
  const { dir, remove } = tempDir('opts');
  const key = Identity.generate().publicKey.toString('hex');
  try {
    // Every nested option reaches the engine (it refuses unknown keys).
    const full = await bind({
      trust: { policy: 'allowlist', allow: [key.toUpperCase(), Identity.generate().publicKey], pinned: { '127.0.0.1:9': new Uint8Array(Identity.generate().publicKey) } },
      peerStore: { path: path.join(dir, 'p.json'), ttlMs: 60000, maxEntries: 8, flushIntervalMs: 50 },
      auditLog: { path: path.join(dir, 'a.jsonl'), maxBytes: 4096, keep: 2 },
    });
    assert.deepEqual(full.knownPeers(), []);
    assert.deepEqual([full.stats().trustAccepted, full.stats().trustRejected], [0, 0]);
    await full.close();

    const trust = (t: unknown) => bind({ trust: t as MeshOptions['trust'] });
    await assert.rejects(trust({ policy: 'sometimes' }), InvalidMeshConfigError);
    await assert.rejects(trust({ policy: 'tofu', colour: 'blue' }), /mesh:invalid_config: .*colour/);
    await assert.rejects(trust({ policy: 'open', pinned: { nowhere: key } }), InvalidMeshConfigError);
    await assert.rejects(trust({ policy: 'allowlist', allow: ['0102'] }), InvalidKeyError);
    await assert.rejects(trust({ policy: 'allowlist', allow: [new Uint8Array(31)] }), InvalidKeyError);
    await assert.rejects(trust({ policy: 'allowlist', allow: ['zz'.repeat(32)] }), InvalidKeyError);
    await assert.rejects(trust({ policy: 'open', pinned: { '127.0.0.1:9': 'ab'.repeat(31) } }), InvalidKeyError);
    await assert.rejects(trust({ policy: 'open', pinned: { '127.0.0.1:9': 'not hex' } }), InvalidKeyError);
    await assert.rejects(bind({ peerStore: { path: path.join(dir, 'q.json'), ttl: 5 } as unknown as MeshOptions['peerStore'] }), /ttl/);
    await assert.rejects(bind({ peerStore: {} as unknown as MeshOptions['peerStore'] }), InvalidMeshConfigError);
    await assert.rejects(bind({ auditLog: { path: path.join(dir, 'b.jsonl'), maxBytes: -1 } }), InvalidMeshConfigError);
  } finally {
    remove();
  }
});

test('cross-process: a Rust mesh_echo node echoes in order', async () => {
  const exe = path.join(ROOT, 'target', 'release', 'examples', 'mesh_echo');
  if (!fs.existsSync(exe)) {
    assert.fail(`${exe} is missing: build it with \`cargo build --release -p net-sdk --examples\``);
  }
  const child = spawn(exe, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const mesh = await bind();
  try {
    const lines = readline.createInterface({ input: child.stdout });
    const first = await Promise.race([
      new Promise<string>((resolve) => lines.once('line', resolve)),
      exited.then((code) => assert.fail(`mesh_echo exited (${code}) before printing its address`)),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('mesh_echo printed nothing in 10 s')), 10000).unref()),
    ]);
    // node_id is a decimal string; a bare number is kept exact too.
    const info = JSON.parse(first.replace(/"node_id":\s*(\d+)/, '"node_id":"$1"')) as { addr: string; public_key: string; node_id: string };
    const peer = await mesh.connect(info.addr, info.public_key);
    assert.equal(peer, BigInt(info.node_id));

    // 500 numbered messages on reliable stream 2, echoed in order exactly once.
    const total = 500;
    const stream = mesh.openStream(peer, 2n, { reliable: true });
    const sender = (async () => {
      for (let i = 0; i < total; i++) await stream.sendBlocking(`msg-${i}`, { timeoutMs: 10000 });
    })();
    const echoes: string[] = [];
    while (echoes.length < total) {
      const m = await recvOne(mesh, 10000);
      assert.deepEqual([m.from, m.streamId], [peer, 2n]);
      echoes.push(m.payload.toString());
    }
    await sender;
    assert.deepEqual(echoes, Array.from({ length: total }, (_, i) => `msg-${i}`));

    // Fire-and-forget on stream 1: loopback should not lose them, but only one is required.
    for (let i = 0; i < 5; i++) mesh.send(peer, 1n, `ff-${i}`);
    const ff: string[] = [await recvOne(mesh, 5000)].map((m) => {
      assert.equal(m.streamId, 1n);
      return m.payload.toString();
    });
    ff.push(...(await mesh.recvBatch(10, { timeoutMs: 200 })).map((m) => m.payload.toString()));
    assert.ok(ff.length >= 1 && ff.every((p) => /^ff-[0-4]$/.test(p)), ff.join());

    // bye: echoed, then the process leaves with 0.
    await stream.sendBlocking('bye', { timeoutMs: 5000 });
    let bye: MeshMessage;
    do bye = await recvOne(mesh, 5000);
    while (bye.streamId === 1n);
    assert.deepEqual([bye.streamId, bye.payload.toString()], [2n, 'bye']);
    const code = await Promise.race([
      exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('mesh_echo did not exit')), 10000).unref()),
    ]);
    assert.equal(code, 0);
    assert.equal(mesh.streamStats(peer, 2n)?.received, total + 1);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await mesh.close();
  }
});
