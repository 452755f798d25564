import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  DecodeError,
  InvalidLogArgumentError,
  InvalidLogConfigError,
  LogClosedError,
  MalformedError,
  PayloadTooLargeError,
  Redex,
  decodeRecord,
  encodeInlineRecord,
  frameEvent,
  unframeEvent,
} from '../src';

test('append, batch, read, tail, close and reopen', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'net-redex-'));
  try {
    const rx = Redex.open({ dir });
    const log = rx.openLog('orders/eu', { maxPayload: 64, fsync: { everyN: 2 } });
    assert.equal(log.append('first'), 0n);
    assert.equal(log.append(Buffer.from('8 bytes!')), 1n);
    assert.throws(() => log.append(Buffer.alloc(65)), PayloadTooLargeError);
    assert.equal(log.appendBatch(['a', 'bb', '']), 2n);
    assert.equal(log.appendBatch([]), null);
    assert.throws(() => log.appendBatch(['ok', Buffer.alloc(100)]), PayloadTooLargeError);
    assert.equal(log.nextSeq, 5n);
    assert.equal(log.length, 5);
    const got = log.readRange(1, 4);
    assert.deepEqual(got.map((e) => [e.seq, e.payload.toString()]), [[1n, '8 bytes!'], [2n, 'a'], [3n, 'bb']]);
    assert.ok(got.every((e) => e.timestampNs > 0n));
    const tail = log.tail(3);
    assert.deepEqual((await tail.nextBatch(10, 5000))?.map((e) => e.seq), [3n, 4n]);
    assert.deepEqual(await tail.nextBatch(10, 50), []);
    log.sync();
    log.close();
    assert.equal(await tail.nextBatch(10, 5000), null);
    assert.throws(() => log.append('late'), LogClosedError);
    rx.close();

    const again = Redex.open({ dir });
    const reopened = again.openLog('orders/eu');
    assert.equal(reopened.recovery.entries, 5);
    assert.deepEqual(reopened.recovery.corruptSeqs, []);
    assert.deepEqual(reopened.readRange().map((e) => e.payload.toString()), ['first', '8 bytes!', 'a', 'bb', '']);
    assert.equal(reopened.append('after reopen'), 5n);
    again.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('for await over a tail sees concurrent appends once, in order', async () => {
  const rx = Redex.open();
  const log = rx.openLog('live');
  const total = 2000;
  const writer = (async () => {
    for (let i = 0; i < total; i++) {
      log.append(`e${i}`);
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    }
  })();
  const seen: bigint[] = [];
  for await (const entry of log.tail(0)) {
    seen.push(entry.seq);
    assert.equal(entry.payload.toString(), `e${entry.seq}`);
    if (seen.length === total) break;
  }
  await writer;
  assert.deepEqual(seen, Array.from({ length: total }, (_, i) => BigInt(i)));
  rx.close();
});

test('retention sweep keeps the newest entries', () => {
  const rx = Redex.open();
  const log = rx.openLog('metrics', { maxEvents: 3 });
  for (let i = 0; i < 10; i++) log.append(String(i));
  assert.equal(log.sweepRetention(), 7);
  assert.deepEqual(log.readRange().map((e) => e.payload.toString()), ['7', '8', '9']);
  rx.close();
});

test('bad input fails with typed errors', () => {
  const rx = Redex.open();
  assert.throws(() => rx.openLog('../escape'), InvalidLogArgumentError);
  assert.throws(() => rx.openLog('x', { fsync: { everyN: 1, intervalMs: 5 } }), InvalidLogConfigError);
  assert.throws(() => rx.openLog('x', { maxPayload: 0 }), InvalidLogConfigError);
  assert.throws(() => decodeRecord(Buffer.from('short')), MalformedError);
  assert.throws(() => encodeInlineRecord(1n, Buffer.from('seven!!')), InvalidLogArgumentError);
  assert.throws(() => encodeInlineRecord(-1n, Buffer.alloc(8)), InvalidLogArgumentError);
  const framed = frameEvent(0x81, 1, 2n, Buffer.from('payload'));
  framed[framed.length - 1] ^= 1;
  assert.throws(() => unframeEvent(framed), DecodeError);
  rx.close();
});
