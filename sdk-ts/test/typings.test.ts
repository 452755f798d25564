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
  for (const { kind, code } of kinds) {
    const cls = ERRORS_BY_KIND.get(kind);
    assert.ok(cls, kind);
    assert.equal(new cls('x').code, code);
  }
});
