'use strict';
// Loads the native addon (net.node), telling an unsupported platform apart from
// a missing build, and checks the ABI version.
const path = require('path');
const fs = require('fs');

const SUPPORTED = new Set(['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64']);
const EXPECTED_ABI_VERSION = 1;
const platform = `${process.platform}-${process.arch}`;
const file = path.join(__dirname, 'net.node');

if (!SUPPORTED.has(platform)) {
  throw new Error(`@netmesh/core: unsupported platform ${platform} (supported: ${[...SUPPORTED].join(', ')})`);
}
if (!fs.existsSync(file)) {
  throw new Error(
    `@netmesh/core: native module missing at ${file}; build it with ` +
      '`cargo build --release -p net-node` and copy target/release/libnet_node.so to bindings/node/net.node',
  );
}
const native = require(file);
if (native.abiVersion() !== EXPECTED_ABI_VERSION) {
  throw new Error(
    `@netmesh/core: the native module speaks ABI ${native.abiVersion()}, this package expects ${EXPECTED_ABI_VERSION}`,
  );
}
module.exports = native;
module.exports.EXPECTED_ABI_VERSION = EXPECTED_ABI_VERSION;
