'use strict';
// Loads the native addon and checks it, failing with one clear error that
// names the package to install and how:
//
// * a local build next to this file (`net.node`: a development checkout, or
//   a build from source), else
// * the prebuilt package for this platform, `@netmesh/core-<platform>`, an
//   optional dependency npm installs on the platform it is for.
//
// The addon must be the same release (package version) and speak the same C
// ABI as this package.
const path = require('path');
const fs = require('fs');
const { version, abiVersion: EXPECTED_ABI_VERSION } = require('./version.js');

/** The prebuilt addon packages published with this release, by target. */
const PREBUILT = { 'linux-x64-gnu': '@netmesh/core-linux-x64-gnu' };
const FROM_SOURCE =
  'build it from source (`cargo build --release -p net-node` in a clone of Net) and copy ' +
  `target/release/libnet_node.so to ${path.join(__dirname, 'net.node')}`;

function fail(message) {
  const err = new Error(`@netmesh/core: ${message}`);
  err.code = 'ERR_NETMESH_NATIVE';
  return err;
}

/** `linux-x64-gnu`, `linux-x64-musl`, `darwin-arm64`, ... */
function target() {
  const base = `${process.platform}-${process.arch}`;
  if (process.platform !== 'linux') return base;
  const report = process.report && process.report.getReport();
  const glibc = report && report.header && report.header.glibcVersionRuntime;
  return `${base}-${glibc ? 'gnu' : 'musl'}`;
}

/** Where the addon is and which package it came from. */
function locate() {
  const local = path.join(__dirname, 'net.node');
  if (fs.existsSync(local)) return { file: local, from: 'a local build' };
  const here = target();
  const pkg = PREBUILT[here];
  if (!pkg) {
    throw fail(
      `no prebuilt native addon for ${here} (prebuilt: ${Object.keys(PREBUILT).join(', ')}); ${FROM_SOURCE}`,
    );
  }
  let manifest;
  try {
    manifest = require.resolve(`${pkg}/package.json`);
  } catch {
    throw fail(
      `the native addon for ${here} is in the package ${pkg}@${version}, which is not installed; ` +
        `install it (npm install ${pkg}@${version}), or reinstall without --omit=optional`,
    );
  }
  const found = JSON.parse(fs.readFileSync(manifest, 'utf8')).version;
  if (found !== version) {
    throw fail(`${pkg} is version ${found}, this package is ${version}; install ${pkg}@${version}`);
  }
  return { file: path.join(path.dirname(manifest), `net.${here}.node`), from: `${pkg}@${version}` };
}

/**
 * Why the ELF shared library `file` cannot be whole, or null. A truncated
 * addon is not refused by the dynamic loader: it maps the missing pages and
 * the process dies of SIGBUS. Its headers tell first.
 */
function damage(file) {
  const size = fs.statSync(file).size;
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(64);
    const got = fs.readSync(fd, head, 0, 64, 0);
    if (got < 64 || head.readUInt32BE(0) !== 0x7f454c46) return 'not an ELF shared library';
    if (head[4] !== 2 || head[5] !== 1) return null; // only 64-bit little-endian files are looked into
    const phoff = Number(head.readBigUInt64LE(0x20));
    const shoff = Number(head.readBigUInt64LE(0x28));
    const [phentsize, phnum, shentsize, shnum] = [0x36, 0x38, 0x3a, 0x3c].map((at) => head.readUInt16LE(at));
    if (phoff + phnum * phentsize > size || shoff + shnum * shentsize > size) return `truncated: ${size} bytes`;
    const table = Buffer.alloc(phnum * phentsize);
    fs.readSync(fd, table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      const loadable = table.readUInt32LE(at) === 1;
      if (loadable && Number(table.readBigUInt64LE(at + 8)) + Number(table.readBigUInt64LE(at + 32)) > size) {
        return `truncated: ${size} bytes`;
      }
    }
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

function load() {
  const { file, from } = locate();
  const fix = from === 'a local build' ? 'rebuild it, or remove it to use the prebuilt package' : `reinstall ${from}`;
  const broken = process.platform === 'linux' ? damage(file) : null;
  if (broken) throw fail(`the native addon ${file} (${from}) is damaged (${broken}); ${fix}`);
  let native;
  try {
    native = require(file);
  } catch (e) {
    throw fail(`the native addon ${file} (${from}) does not load: ${e.message.split('\n')[0]}; ${fix}`);
  }
  const abi = typeof native.abiVersion === 'function' ? native.abiVersion() : undefined;
  if (abi !== EXPECTED_ABI_VERSION) {
    throw fail(
      `the native addon ${file} (${from}) speaks ABI ${abi}, this package expects ${EXPECTED_ABI_VERSION}; ` +
        `install the same release of both (@netmesh/core@${version})`,
    );
  }
  return native;
}

module.exports = load();
module.exports.EXPECTED_ABI_VERSION = EXPECTED_ABI_VERSION;
module.exports.VERSION = version;
