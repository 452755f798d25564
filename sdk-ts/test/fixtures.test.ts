/**
 * Golden fixtures through the public SDK; writes build/parity/node.tsv. Files
 * listed in GAPS (none today) would be reported as gaps, not run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import {
  CapabilitySet,
  ERRORS_BY_KIND,
  Event,
  Handler,
  Identity,
  Mesh,
  NetDb,
  NetError,
  NetNode,
  ChannelSubscription,
  normalizeChannelConfig,
  Redex,
  Subscription,
  PermissionToken,
  Predicate,
  SubnetId,
  SubnetPolicy,
  TokenCache,
  TokenRequest,
  WriteToken,
  channelHash,
  channelMatches,
  checkChannelName,
  decodeNetHeader,
  diffToJson,
  decodeRecord,
  decodeRoutingHeader,
  encodeHeapRecord,
  encodeInlineRecord,
  encodeNetHeader,
  encodeRoutingHeader,
  engineErrorKinds,
  frameEvent,
  publicKeyIds,
  unframeEvent,
  verify,
  visibilityAllows,
} from '../src';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
const ROOT = path.resolve(__dirname, '..', '..', '..');
const FIXTURES = path.join(ROOT, 'tests', 'cross_lang');
const AREAS = new Set(['bus', 'capability', 'channel', 'cortex', 'errors', 'identity', 'mesh', 'redex', 'subnet', 'token', 'wire']);
// Listed gaps: files of covered areas whose subject TypeScript does not expose yet.
const GAPS = new Set<string>([]);

function eventMatches(raw: Buffer, want: Json): boolean {
  if ('json' in want) {
    try {
      assert.deepEqual(JSON.parse(raw.toString('utf8')), want.json);
      return true;
    } catch {
      return false;
    }
  }
  if ('text' in want) return raw.equals(Buffer.from(want.text, 'utf8'));
  return raw.equals(Buffer.from(want.hex, 'hex'));
}

class Case {
  cursor: string | null = null;
  sub: Subscription | null = null;
  handler: Handler | null = null;
  seen: Buffer[] = [];
  constructor(readonly node: NetNode) {}

  onEvent(step: Json): Json {
    const failOn: string[] = step.fail_on ?? [];
    const handler: Handler = this.node.onEvent(
      (event: Event) => {
        this.seen.push(event.raw);
        if (step.emit_on !== undefined && event.text === step.emit_on.when) this.node.emitRaw(step.emit_on.text);
        if (step.close_after !== undefined && this.seen.length === step.close_after) handler.close();
        if (failOn.includes(event.text)) throw new Error('the fixture handler fails on this event');
      },
      {
        cursor: this.cursorOf(step),
        filter: 'filter_text' in step ? step.filter_text : step.filter,
        onError: () => undefined, // expected failures; counted all the same
      },
    );
    this.handler = handler;
    return {};
  }

  cursorOf(step: Json): string | null {
    if (typeof step.cursor_text === 'string') return step.cursor_text;
    return step.cursor === 'previous' ? this.cursor : null;
  }

  items(step: Json): Buffer[] {
    return step.texts ? step.texts.map((t: string) => Buffer.from(t)) : step.hexes.map((h: string) => Buffer.from(h, 'hex'));
  }

  async run(step: Json): Promise<Json> {
    const n = this.node;
    switch (step.op) {
      case 'emit':
        return n.emit(step.value);
      case 'emit_str':
        return n.emitStr(step.json);
      case 'emit_raw':
        return n.emitRaw('text' in step ? Buffer.from(step.text) : Buffer.from(step.hex, 'hex'));
      case 'emit_batch':
        return { count: n.emitBatch(step.values) };
      case 'emit_str_batch':
        return { count: n.emitStrBatch(step.jsons) };
      case 'emit_raw_batch':
        return { count: n.emitRawBatch(this.items(step)) };
      case 'poll': {
        const page = n.poll({ limit: step.limit, cursor: this.cursorOf(step), filter: step.filter });
        this.cursor = page.nextCursor;
        return { raws: page.events.map((e) => e.raw), count: page.events.length, has_more: page.hasMore };
      }
      case 'subscribe':
        this.sub = n.subscribe({ cursor: this.cursorOf(step), filter: step.filter });
        return {};
      case 'next': {
        const want: Json[] | undefined = step.expect.events;
        const deadline = Date.now() + step.timeout_ms;
        const raws: Buffer[] = [];
        let done = false;
        while (want === undefined || raws.length < want.length || want.length === 0) {
          const left = deadline - Date.now();
          if (left <= 0) break;
          const batch = await (this.sub as Subscription).nextBatch(256, left);
          if (batch === null) {
            done = true;
            break;
          }
          raws.push(...batch.map((e) => e.raw));
        }
        return { raws, done };
      }
      case 'leave': {
        // for await + break: the iterator's return() gives back what it had not yielded.
        const raws: Buffer[] = [];
        for await (const event of this.sub as Subscription) {
          raws.push(event.raw);
          if (raws.length === step.take) break;
        }
        return { raws };
      }
      case 'on_event':
        return this.onEvent(step);
      case 'handler_wait': {
        const handler = this.handler as Handler;
        const want = step.expect;
        const end = Date.now() + 5000;
        while (Date.now() < end && (this.seen.length < (want.events ?? []).length || (want.closed && !handler.closed))) {
          await new Promise((r) => setTimeout(r, 2));
        }
        return { raws: [...this.seen], ...handler.stats() };
      }
      case 'handler_close':
        (this.handler as Handler).close();
        return {};
      case 'flush':
        await n.flush();
        return {};
      case 'shutdown':
        await n.shutdown();
        return {};
      case 'stats':
        return n.stats();
      case 'health':
        return n.health();
    }
    throw new Error(`unknown op ${step.op}`);
  }
}

const MODEL_WRITES = new Set(['create', 'rename', 'complete', 'delete', 'store', 'retag', 'pin', 'unpin']);

/** A fixture's 64-bit field (a number or a decimal string) as the SDK takes it. */
const big = (v: Json): bigint | undefined => (v === undefined ? undefined : BigInt(v));

/** Integers (numbers and bigints) as decimal strings, so values compare exactly. */
function norm(v: Json): Json {
  if (typeof v === 'bigint' || typeof v === 'number') return String(v);
  if (Array.isArray(v)) return v.map(norm);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  return v;
}

/** Records must carry their 64-bit fields as bigints, never numbers. */
function assertBigints(v: Json, where: string): void {
  const rows = Array.isArray(v) ? v : v === null || typeof v !== 'object' ? [] : [v];
  for (const row of rows) {
    for (const key of ['id', 'created_ns', 'updated_ns']) {
      if (key in row) assert.equal(typeof row[key], 'bigint', `${where}: ${key} is a ${typeof row[key]}`);
    }
  }
}

async function runModelCase(c: Json): Promise<void> {
  const db = NetDb.open();
  const model = c.model === 'tasks' ? db.tasks : db.memories;
  try {
    for (const [i, step] of (c.steps as Json[]).entries()) {
      const { op, expect, filter, ...args } = step;
      const where = `step ${i} (${op})`;
      if (MODEL_WRITES.has(op)) {
        const m = model as unknown as Record<string, (...a: unknown[]) => WriteToken>;
        const [id, ts] = [big(args.id), big(args.ts)];
        const token =
          op === 'create' || op === 'rename' ? m[op].call(model, id, args.title, ts)
          : op === 'store' ? m[op].call(model, id, args.content, args.tags, args.source, ts)
          : op === 'retag' ? m[op].call(model, id, args.tags, ts)
          : op === 'delete' ? m[op].call(model, id)
          : m[op].call(model, id, ts);
        await model.waitForToken(token);
        continue;
      }
      const found = op === 'find_unique' ? model.findUnique(big(args.id) as bigint) : op === 'find_many' ? model.findMany(filter) : null;
      if (found !== null) assertBigints(found, where);
      const got =
        op === 'find_unique' ? found
        : op === 'find_many' ? (found as Array<{ id: bigint }>).map((r) => r.id)
        : op === 'count_where' ? model.countWhere(filter)
        : op === 'exists_where' ? model.existsWhere(filter)
        : model.foldErrors();
      const want = op === 'find_many' ? expect.ids : Object.values(expect)[0];
      assert.deepEqual(norm(got), norm(want), where);
    }
  } finally {
    db.close();
  }
}

async function runCase(c: Json): Promise<void> {
  if (c.model) return runModelCase(c);
  const config = c.config !== undefined ? JSON.stringify(c.config) : (c.config_text ?? '');
  if (c.open_error) {
    assert.throws(() => NetNode.fromConfig(config), (e: unknown) => e instanceof NetError && e.kind === c.open_error);
    return;
  }
  const state = new Case(NetNode.fromConfig(config));
  try {
    for (const [i, step] of (c.steps as Json[]).entries()) {
      let got: Json;
      let error: unknown = null;
      try {
        got = await state.run(step);
      } catch (e) {
        error = e;
      }
      const where = `step ${i} (${step.op})`;
      if (step.error) {
        assert.ok(error instanceof NetError && error.kind === step.error, `${where}: expected ${step.error}, got ${error}`);
        continue;
      }
      assert.equal(error, null, `${where}: ${error}`);
      for (const [key, want] of Object.entries(step.expect ?? {})) {
        if (key === 'events') {
          const raws: Buffer[] = got.raws;
          assert.equal(raws.length, (want as Json[]).length, `${where}: event count`);
          (want as Json[]).forEach((w, j) => assert.ok(eventMatches(raws[j], w), `${where}: event ${j} is ${raws[j]}`));
        } else {
          assert.deepEqual(norm(got[key]), norm(want), `${where}: ${key}`);
        }
      }
    }
  } finally {
    state.sub?.close();
    state.handler?.close();
    await state.node.shutdown();
  }
}

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

function expectKind(kind: string, fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => e instanceof NetError && e.kind === kind);
}

/** identity/vectors.json, wire/headers.json, mesh/config.json, ...: one unit per entry. */
function codecUnits(doc: Json): Array<[string, () => void | Promise<void>]> {
  const units: Array<[string, () => void | Promise<void>]> = [];
  // mesh/config.json: the config object goes to the engine unchanged.
  for (const c of doc.configs ?? []) {
    units.push([c.name, async () => {
      const json = JSON.stringify(c.config);
      if (c.error) {
        expectKind(c.error, () => Mesh.fromConfig(json));
        return;
      }
      const mesh = Mesh.fromConfig(json);
      try {
        assert.match(mesh.localAddr, /^127\.0\.0\.1:\d+$/);
        if (c.public_key) assert.equal(mesh.publicKey.toString('hex'), c.public_key);
        if (c.node_id) assert.equal(mesh.nodeId, BigInt(c.node_id));
      } finally {
        await mesh.close();
      }
    }]);
  }
  for (const v of doc.vectors ?? []) {
    units.push([v.seed, () => {
      const id = Identity.fromSeed(hex(v.seed));
      assert.equal(id.publicKey.toString('hex'), v.public_key);
      const ids = publicKeyIds(id.publicKey);
      assert.equal(ids.nodeId, BigInt(v.node_id));
      assert.equal(ids.originHash, v.origin_hash);
      assert.equal(id.nodeId, BigInt(v.node_id));
      const sig = id.sign(hex(v.message));
      assert.equal(sig.toString('hex'), v.signature);
      verify(id.publicKey, hex(v.message), sig);
    }]);
  }
  for (const e of doc.errors ?? []) {
    units.push([e.op, () => {
      const calls: Record<string, () => unknown> = {
        from_seed: () => Identity.fromSeed(hex(e.seed)),
        ids: () => publicKeyIds(hex(e.public_key)),
        verify: () => verify(hex(e.public_key), hex(e.message), hex(e.signature)),
      };
      expectKind(e.error, calls[e.op]);
    }]);
  }
  const camelize = (o: Json): Json =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), v]));
  for (const h of doc.headers ?? []) {
    units.push([h.hex, () => {
      const f = camelize(h.fields);
      const header = { ...f, nonce: hex(f.nonce), sessionId: BigInt(f.sessionId), streamId: BigInt(f.streamId), sequence: BigInt(f.sequence) };
      assert.equal(encodeNetHeader(header).toString('hex'), h.hex);
      assert.deepEqual(decodeNetHeader(hex(h.hex)), header);
    }]);
  }
  for (const r of doc.routing_headers ?? []) {
    units.push([r.hex, () => {
      const routing = { ...camelize(r.fields), destId: BigInt(r.fields.dest_id) };
      assert.equal(encodeRoutingHeader(routing).toString('hex'), r.hex);
      assert.deepEqual(decodeRoutingHeader(hex(r.hex)), routing);
    }]);
  }
  for (const c of doc.opens ?? []) {
    units.push([c.name, () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'net-open-'));
      try {
        const [first, second] = [Redex.open({ dir }), Redex.open({ dir })];
        first.openLog(c.first);
        if (c.error) {
          assert.throws(() => second.openLog(c.second), (e: unknown) => e instanceof NetError && e.kind === c.error);
        } else {
          second.openLog(c.second);
        }
        first.close();
        second.close();
        const again = Redex.open({ dir });
        again.openLog(c.second);
        again.close();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }]);
  }
  for (const snap of doc.snapshots ?? []) {
    const db = NetDb.restore(hex(snap.hex));
    for (const q of snap.queries) {
      units.push([`${q.model}.${q.op}`, () => {
        const model = q.model === 'tasks' ? db.tasks : db.memories;
        const want = Object.values(q.expect)[0];
        const got =
          q.op === 'find_unique' ? model.findUnique(BigInt(q.id))
          : q.op === 'find_many' ? model.findMany(q.filter).map((r) => r.id)
          : q.op === 'count_where' ? model.countWhere(q.filter)
          : model.existsWhere(q.filter);
        assert.deepEqual(norm(got), norm(want));
      }]);
    }
  }
  for (const h of doc.heap ?? []) {
    units.push([h.hex, () => {
      const payload = hex(h.payload_hex);
      assert.equal(encodeHeapRecord(BigInt(h.seq), h.offset, payload).toString('hex'), h.hex);
      const r = decodeRecord(hex(h.hex));
      assert.deepEqual([r.seq, r.offset, r.len, r.flagsChecksum, r.inline], [BigInt(h.seq), h.offset, payload.length, h.flags_checksum, false]);
    }]);
  }
  for (const i of doc.inline ?? []) {
    units.push([i.hex, () => {
      assert.equal(encodeInlineRecord(BigInt(i.seq), hex(i.payload_hex)).toString('hex'), i.hex);
      const r = decodeRecord(hex(i.hex));
      assert.ok(r.inline && r.seq === BigInt(i.seq));
      assert.equal(r.inlinePayload.toString('hex'), i.payload_hex);
    }]);
  }
  for (const f of doc.frames ?? []) {
    units.push([f.hex, () => {
      const payload = hex(f.payload_hex);
      assert.equal(frameEvent(f.dispatch, f.origin_hash, BigInt(f.seq_or_ts), payload).toString('hex'), f.hex);
      const [meta, back] = unframeEvent(hex(f.hex));
      assert.deepEqual([meta.dispatch, meta.originHash, meta.seqOrTs, back.toString('hex')], [f.dispatch, f.origin_hash, BigInt(f.seq_or_ts), f.payload_hex]);
    }]);
  }
  const decoders: Record<string, (b: Buffer) => unknown> = { record: decodeRecord, frame: (b) => unframeEvent(b) };
  const codec = doc.inline ? 'record' : doc.frames ? 'frame' : null;
  for (const m of codec ? doc.malformed : []) {
    units.push([m.hex, () => expectKind(m.error, () => decoders[codec as string](hex(m.hex)))]);
  }
  for (const m of doc.headers ? doc.malformed : []) {
    units.push([m.reason, () => {
      const decode = m.decoder === 'header' ? decodeNetHeader : decodeRoutingHeader;
      assert.throws(() => decode(hex(m.hex)), (e: unknown) => e instanceof NetError && e.kind === m.error && e.message.includes(m.reason));
    }]);
  }
  return units;
}

type Unit = [string, () => void | Promise<void>];

/**
 * mesh/bus_link.json: nodes A and B (A connected to B) shared by the file's
 * units; `options` open a link on A from the engine's JSON, `transfers` go
 * through the typed sendBus/receiveBus.
 */
function busLinkUnits(doc: Json): { units: Unit[]; close: () => Promise<void> } {
  let nodes: Promise<[Mesh, Mesh]> | null = null;
  const pair = (): Promise<[Mesh, Mesh]> =>
    (nodes ??= (async () => {
      const bind = () => Mesh.bind({ networkKey: '07'.repeat(32), bind: '127.0.0.1:0' });
      const [a, b] = [await bind(), await bind()];
      await a.connect(b.localAddr, b.publicKey);
      return [a, b];
    })());
  const units: Unit[] = [];
  for (const c of doc.options) {
    units.push([c.name, async () => {
      const [a, b] = await pair();
      const outbox = await NetNode.create();
      try {
        const linked = a.linkBusFromConfig(outbox, b.nodeId, JSON.stringify(c.options));
        if (c.error) {
          await assert.rejects(linked, (e: unknown) => e instanceof NetError && e.kind === c.error);
          return;
        }
        const link = await linked;
        await link.close();
        assert.equal(link.stats().running, false);
      } finally {
        await outbox.shutdown();
      }
    }]);
  }
  for (const t of doc.transfers) {
    units.push([t.name, async () => {
      const [a, b] = await pair();
      const o = t.options;
      const options = {
        streamId: o.stream_id === undefined ? undefined : BigInt(o.stream_id),
        maxBatch: o.max_batch,
        messageBytes: o.message_bytes,
      };
      const [outbox, inbox] = [await NetNode.create(), await NetNode.create()];
      const receiving = await b.receiveBus(inbox, a.nodeId, options);
      const sending = await a.sendBus(outbox, b.nodeId, options);
      try {
        for (const text of t.events as string[]) outbox.emitRaw(text);
        const got: string[] = [];
        let cursor: string | null = null;
        const deadline = Date.now() + 10000;
        while (got.length < t.events.length && Date.now() < deadline) {
          const page = inbox.poll({ limit: 100, cursor });
          cursor = page.nextCursor;
          got.push(...page.events.map((e) => e.raw.toString('utf8')));
          if (page.events.length === 0) await new Promise((r) => setTimeout(r, 5));
        }
        assert.deepEqual(got, t.events);
      } finally {
        await sending.close();
        await receiving.close();
        await outbox.shutdown();
        await inbox.shutdown();
      }
    }]);
  }
  const close = async (): Promise<void> => {
    if (nodes === null) return;
    const [a, b] = await nodes;
    await a.close();
    await b.close();
  };
  return { units, close };
}

/** mesh/records.json: field names of the SDK's records and the stream defaults. */
function sharedRecordUnits(doc: Json): Unit[] {
  const camel = (name: string): string => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  const want = (key: string): string[] => (doc.records[key] as string[]).map(camel).sort();
  const withPair = async (body: (a: Mesh, b: Mesh) => Promise<void>): Promise<void> => {
    const bind = () => Mesh.bind({ networkKey: '07'.repeat(32), bind: '127.0.0.1:0' });
    const [a, b] = [await bind(), await bind()];
    try {
      await a.connect(b.localAddr, b.publicKey);
      await body(a, b);
    } finally {
      await a.close();
      await b.close();
    }
  };
  return [
    ['record fields', () => withPair(async (a, b) => {
      assert.deepEqual(Object.keys(a.stats()).sort(), want('mesh_stats'));
      const stream = a.openStream(b.nodeId, 11n);
      assert.deepEqual(Object.keys(stream.stats()).sort(), want('stream_stats'));
      stream.send('x');
      const message = await b.recv({ timeoutMs: 10_000 });
      assert.ok(message !== null);
      assert.deepEqual(Object.keys(message).sort(), want('message'));
    })],
    ['stream defaults', () => withPair(async (a, b) => {
      const plain = a.openStream(b.nodeId, 9n);
      assert.equal(plain.stats().reliability, doc.stream_defaults.reliability);
      assert.equal(plain.reliable, doc.stream_defaults.reliability === 'reliable');
      assert.equal(a.openStream(b.nodeId, 10n, { reliable: true }).stats().window, doc.stream_defaults.reliable_window);
      plain.send('x');
      const message = await b.recv({ timeoutMs: 10_000 });
      assert.ok(message !== null);
      assert.deepEqual([message.from, message.streamId], [a.nodeId, 9n]);
    })],
  ];
}

/** token/tokens.json: issue, delegate, verify, chains, covers, inspect. */
function tokenUnits(doc: Json): Unit[] {
  const identities = new Map<string, Identity>(
    Object.entries(doc.identities ?? {}).map(([name, seed]) => [name, Identity.fromSeed(hex(seed as string))]),
  );
  const who = (name: string): Identity => identities.get(name) as Identity;
  const request = (r: Json): TokenRequest => ({
    subject: hex(r.subject),
    scope: r.scope,
    channel: r.channel,
    ttlMs: r.ttl_ms,
    depth: r.depth ?? 0,
    ...(r.not_before !== undefined ? { notBefore: r.not_before } : {}),
    ...(r.now !== undefined ? { now: r.now } : {}),
    ...(r.nonce !== undefined ? { nonce: hex(r.nonce) } : {}),
  });
  const run = (c: Json): Record<string, unknown> => {
    switch (c.op) {
      case 'issue':
      case 'delegate': {
        const token =
          c.op === 'issue'
            ? c.strict
              ? who(c.issuer).tryIssueToken(request(c.request))
              : who(c.issuer).issueToken(request(c.request))
            : who(c.delegator).delegateToken(new PermissionToken(hex(c.parent)), request(c.request));
        return { token: token.bytes.toString('hex'), id: token.id };
      }
      case 'verify':
        new PermissionToken(hex(c.token)).verify(c.now);
        return {};
      case 'chain': {
        const cache = new TokenCache();
        for (const name of c.trust) cache.trust(who(name).publicKey);
        for (const id of c.revoked) cache.revoke(id);
        const access = { subject: who(c.subject).publicKey, scope: c.scope, channel: c.channel };
        const leaf = cache.install(c.chain.map((t: string) => new PermissionToken(hex(t))), access, c.now);
        assert.equal(cache.check(access, c.now), leaf);
        return { id: leaf };
      }
      case 'covers':
        return { covers: new PermissionToken(hex(c.token)).covers(c.channel) };
      case 'inspect': {
        const token = PermissionToken.fromBytes(hex(c.token));
        assert.deepEqual(token.toJSON(), c.json);
        const info = token.info();
        assert.deepEqual([info.id, info.scopeBits, info.scope, info.parent], [c.json.id, c.json.scope_bits, c.json.scope, c.json.parent]);
        return {};
      }
      default:
        throw new Error(`unknown op ${c.op}`);
    }
  };
  return (doc.tokens ?? []).map((c: Json): [string, () => void] => [
    c.name,
    () => {
      if (c.error) {
        expectKind(c.error, () => run(c));
        return;
      }
      for (const [key, value] of Object.entries(run(c))) assert.equal(value, c[key], key);
    },
  ]);
}

/** channel/names.json: names and their hashes, patterns matching names. */
function channelUnits(doc: Json): Unit[] {
  return (doc.names ?? []).map((c: Json): [string, () => void] => [
    c.name,
    () => {
      if (c.op === 'name') {
        if (c.error) {
          expectKind(c.error, () => checkChannelName(c.channel));
          expectKind(c.error, () => channelHash(c.channel));
        } else {
          checkChannelName(c.channel);
          assert.equal(channelHash(c.channel), BigInt(c.hash));
        }
      } else if (c.error) {
        expectKind(c.error, () => channelMatches(c.pattern, c.channel));
      } else {
        assert.equal(channelMatches(c.pattern, c.channel), c.matches);
      }
    },
  ]);
}

/** channel/configs.json: configs with their defaults filled in. */
function channelConfigUnits(doc: Json): Unit[] {
  return (doc.channel_configs ?? []).map((c: Json): Unit => [
    c.name,
    () => {
      const text = JSON.stringify(c.config);
      if (c.error) expectKind(c.error, () => normalizeChannelConfig(text));
      else assert.deepEqual(normalizeChannelConfig(text), c.normalized);
    },
  ]);
}

/** channel/local.json: a node's local channels, step by step. */
function localChannelUnits(doc: Json): Unit[] {
  return (doc.local ?? []).map((c: Json): Unit => [
    c.name,
    async () => {
      const node = NetNode.fromConfig(JSON.stringify(c.config ?? {}));
      const subs = new Map<string, ChannelSubscription>();
      for (const [i, step] of (c.steps as Json[]).entries()) {
        const run = async (): Promise<unknown> => {
          switch (step.op) {
            case 'subscribe':
              subs.set(step.id, node.subscribeChannel(step.pattern));
              return null;
            case 'publish': {
              const payload = step.hex !== undefined ? Buffer.from(step.hex, 'hex') : step.text;
              return { delivered: node.publish(step.channel, payload) };
            }
            case 'next': {
              const m = await (subs.get(step.id) as ChannelSubscription).next({ timeoutMs: 20 });
              if (m === null) return null;
              const got: Json = { channel: m.channel, publisher: m.publisher.toString() };
              if (step.expect && step.expect.hex !== undefined) got.hex = m.payload.toString('hex');
              else got.text = m.payload.toString('utf8');
              return got;
            }
            case 'close':
              subs.get(step.id)?.close();
              return null;
            case 'stats':
              return node.channelStats();
            case 'shutdown':
              await node.shutdown();
              return null;
            default:
              throw new Error(`unknown op ${step.op}`);
          }
        };
        if (step.error) {
          await assert.rejects(run(), (e: unknown) => e instanceof NetError && e.kind === step.error, `step ${i}`);
        } else {
          const got = await run();
          if ('expect' in step) assert.deepEqual(got, step.expect, `step ${i} (${step.op})`);
        }
      }
      await node.shutdown();
    },
  ]);
}

/** channel/typed.json: payloads decoded as the Reading type (a Zod schema). */
function typedChannelUnits(doc: Json): Unit[] {
  if (!doc.typed) return [];
  const Reading = z.object({ sensor_id: z.string(), celsius: z.number(), note: z.string().optional() });
  return (doc.typed as Json[]).map((c: Json): Unit => [
    c.name,
    async () => {
      const node = await NetNode.create();
      const channel = node.channel('fixtures/typed', Reading);
      const sub = channel.subscribe();
      node.publish('fixtures/typed', c.payload);
      if (c.error) {
        await assert.rejects(sub.next({ timeoutMs: 1000 }), (e: unknown) => e instanceof NetError && e.kind === c.error);
      } else {
        const got = await sub.next({ timeoutMs: 1000 });
        assert.deepEqual(got, c.value);
        channel.publish(got as z.infer<typeof Reading>);
        assert.deepEqual(await sub.next({ timeoutMs: 1000 }), c.value);
      }
      await node.shutdown();
    },
  ]);
}

/** capability/capability.json: sets, views, predicates, validation, diffs. */
function capabilityUnits(doc: Json): Unit[] {
  const set = (v: Json): CapabilitySet => CapabilitySet.fromJSON(v);
  const pairs = (issues: Json[]): string[][] => issues.map((i) => [i.code, i.key]);
  const run = (c: Json): Json => {
    switch (c.op) {
      case 'normalize':
        return { result: set(c.set).toJSON() };
      case 'views': {
        const v = set(c.set).views();
        const h = v.hardware;
        const snake = (o: Json): Json => Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined));
        const hardware = snake({
          cpu_cores: h.cpuCores,
          cpu_threads: h.cpuThreads,
          memory_gb: h.memoryGb,
          gpu: h.gpu && snake({ vendor: h.gpu.vendor, model: h.gpu.model, vram_gb: h.gpu.vramGb, count: h.gpu.count }),
        });
        const limits = snake({ max_concurrent: v.limits.maxConcurrent, max_payload_bytes: v.limits.maxPayloadBytes, max_rate_per_sec: v.limits.maxRatePerSec });
        return { result: { hardware, software: v.software, limits } };
      }
      case 'evaluate':
        return { matches: Predicate.fromJSON(c.predicate).matches(set(c.set)) };
      case 'predicate':
        return { result: Predicate.fromJSON(c.predicate).toJSON() };
      case 'validate': {
        const r = set(c.set).validate();
        return { valid: r.valid, errors: pairs(r.errors), warnings: pairs(r.warnings) };
      }
      case 'diff':
        return { result: diffToJson(set(c.after).diff(set(c.before))) };
      case 'apply':
        return { result: set(c.set).apply(JSON.stringify(c.diff)).toJSON() };
      default:
        throw new Error(`unknown op ${c.op}`);
    }
  };
  return (doc.capability ?? []).map((c: Json): [string, () => void] => [
    c.name,
    () => {
      if (c.error) {
        expectKind(c.error, () => run(c));
        return;
      }
      for (const [k, v] of Object.entries(run(c))) assert.deepEqual(v, c[k], k);
    },
  ]);
}

/** subnet/subnets.json: subnet texts, levels, visibility, policies. */
function subnetUnits(doc: Json): Unit[] {
  const run = (c: Json): Json => {
    if (c.op === 'visible') {
      return { allowed: visibilityAllows(c.visibility, SubnetId.parse(c.publisher), SubnetId.parse(c.peer)) };
    }
    let id: SubnetId;
    if (c.op === 'parse') id = SubnetId.parse(c.text);
    else if (c.op === 'levels') id = SubnetId.fromLevels(...c.levels);
    else if (c.op === 'value') id = new SubnetId(c.value);
    else id = SubnetPolicy.fromJSON(c.policy).assign(CapabilitySet.fromJSON(c.set));
    const out: Json = { result: id.toString() };
    if (c.op === 'parse' || c.op === 'levels') out.value = id.value;
    return out;
  };
  return (doc.subnet ?? []).map((c: Json): [string, () => void] => [
    c.name,
    () => {
      if (c.error) {
        expectKind(c.error, () => run(c));
        return;
      }
      for (const [k, v] of Object.entries(run(c))) assert.deepEqual(v, c[k], k);
    },
  ]);
}

test('golden fixtures', async () => {
  const files = fs
    .readdirSync(FIXTURES)
    .filter((d) => AREAS.has(d))
    .flatMap((d) => fs.readdirSync(path.join(FIXTURES, d)).filter((f) => f.endsWith('.json')).map((f) => `${d}/${f}`))
    .filter((rel) => !GAPS.has(rel))
    .sort();
  assert.ok(files.length > 0);
  const lines: string[] = [];
  const failures: string[] = [];
  for (const rel of files) {
    const doc = JSON.parse(fs.readFileSync(path.join(FIXTURES, rel), 'utf8'));
    assert.equal(doc.abi_version, 1);
    let passed = 0;
    let failed = 0;
    const links = doc.transfers ? busLinkUnits(doc) : null;
    const records = doc.records ? sharedRecordUnits(doc) : [];
    for (const [name, unit] of [...codecUnits(doc), ...(links?.units ?? []), ...records, ...tokenUnits(doc), ...channelUnits(doc), ...channelConfigUnits(doc), ...localChannelUnits(doc), ...typedChannelUnits(doc), ...capabilityUnits(doc), ...subnetUnits(doc)]) {
      try {
        await unit();
        passed++;
      } catch (e) {
        failed++;
        failures.push(`${rel} / ${name}: ${e}`);
      }
    }
    await links?.close();
    if (doc.kinds) {
      try {
        assert.deepEqual(engineErrorKinds(), doc.kinds);
        for (const k of doc.kinds) assert.equal(new (ERRORS_BY_KIND.get(k.kind) as typeof NetError)('x').status, k.code);
        passed++;
      } catch (e) {
        failed++;
        failures.push(`${rel}: ${e}`);
      }
    }
    for (const c of doc.cases ?? []) {
      try {
        await runCase(c);
        passed++;
      } catch (e) {
        failed++;
        failures.push(`${rel} / ${c.name}: ${e}`);
      }
    }
    lines.push(`${rel}\t${passed}\t${failed}\n`);
  }
  fs.mkdirSync(path.join(ROOT, 'build', 'parity'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'build', 'parity', 'node.tsv'), lines.join(''));
  assert.deepEqual(failures, []);
});
