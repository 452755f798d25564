import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import native = require('@netmesh/core');
import { ERRORS_BY_KIND, engineErrorKinds } from '../src';

const dts = fs.readFileSync(path.join(path.dirname(require.resolve('@netmesh/core')), 'index.d.ts'), 'utf8');

function declared(block: string): string[] {
  return [...block.matchAll(/^\s{2}(\w+)\(/gm)].map((m) => m[1]).filter((n) => n !== 'constructor');
}

test('index.d.ts declares exactly what the addon exports', () => {
  const functions = [...dts.matchAll(/^export function (\w+)/gm)].map((m) => m[1]);
  const classes = [...dts.matchAll(/^export class (\w+) \{([\s\S]*?)^\}/gm)];
  const consts = [...dts.matchAll(/^export const (\w+)/gm)].map((m) => m[1]);
  const exported = Object.keys(native).sort();
  assert.deepEqual([...functions, ...classes.map((c) => c[1]), ...consts].sort(), exported);
  for (const [, name, body] of classes) {
    const proto = (native as unknown as Record<string, { prototype: object }>)[name].prototype;
    const methods = Object.getOwnPropertyNames(proto).filter((n) => n !== 'constructor').sort();
    assert.deepEqual(declared(body).sort(), methods, name);
    const statics = [...body.matchAll(/^\s{2}static (\w+)\(/gm)].map((m) => m[1]).sort();
    const ctor = (native as unknown as Record<string, object>)[name];
    const own = Object.getOwnPropertyNames(ctor).filter((n) => !['length', 'name', 'prototype', 'arguments', 'caller'].includes(n));
    assert.deepEqual(statics, own.sort(), `${name} statics`);
  }
});

test('every engine error kind has its class', () => {
  const kinds = engineErrorKinds();
  assert.equal(kinds.length, ERRORS_BY_KIND.size);
  for (const { kind, area, reason, code } of kinds) {
    const cls = ERRORS_BY_KIND.get(kind);
    assert.ok(cls, kind);
    const err = new cls(`${kind}: x`);
    assert.deepEqual([err.code, err.kind, err.area, err.reason, err.status, err.detail], [kind, kind, area, reason, code, 'x']);
  }
});

test('the addon throws and rejects with err.code set to the kind, not only in the message', async () => {
  try {
    native.headerDecode(Buffer.alloc(1));
    assert.fail('expected wire:malformed');
  } catch (err) {
    assert.equal((err as { code?: unknown }).code, 'wire:malformed');
  }
  const mesh = native.Mesh.bind(JSON.stringify({ network_key: '07'.repeat(32), bind: '127.0.0.1:0' }));
  await mesh.shutdown();
  await assert.rejects(mesh.recv(1, 10), (err: unknown) => {
    assert.equal((err as { code?: unknown }).code, 'mesh:shutdown');
    assert.match(String((err as Error).message), /^mesh:shutdown: /);
    return true;
  });
  // A wrong JS type fails in napi's marshalling, before the engine: napi's status.
  assert.throws(
    () => native.headerDecode('not a buffer' as unknown as Buffer),
    (err: unknown) => typeof (err as { code?: unknown }).code === 'string',
  );
});
