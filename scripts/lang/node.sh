#!/usr/bin/env bash
# Node/TypeScript: npm install, strict tsc, build, node --test (fixtures included),
# example, benchmark. Usage: scripts/lang/node.sh test|bench|demo
# (expects target/release/libnet_node.so and examples/mesh_echo from the workspace build)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
[ -f target/release/libnet_node.so ] || cargo build --release -p net-node
# The Rust peer of the cross-process mesh test.
[ -f target/release/examples/mesh_echo ] || cargo build --release -p net-sdk --examples
# The addon built by the workspace build, placed where the loader expects it.
cp target/release/libnet_node.so bindings/node/net.node
export npm_config_loglevel=error npm_config_fund=false npm_config_audit=false
(cd sdk-ts && npm install --no-audit --no-fund >/dev/null 2>&1 || npm install --no-audit --no-fund)
mkdir -p build

case "${1:-test}" in
test)
  passed=0; failed=0
  check() { # check <name> <command...>
    local name=$1; shift
    if "$@" >"$ROOT/build/node-step.log" 2>&1; then
      echo "  ok    $name"; passed=$((passed + 1))
    else
      echo "  FAIL  $name"; tail -n 30 "$ROOT/build/node-step.log"; failed=$((failed + 1))
    fi
  }
  check "tsc --noEmit (strict)" bash -c "cd sdk-ts && npx tsc -p . --noEmit"
  check "tsc build" bash -c "cd sdk-ts && rm -rf dist && npx tsc -p ."
  set +e
  (cd sdk-ts && node --test dist/test/) >build/node-test.log 2>&1
  rc=$?
  set -e
  tp=$(grep -Eo '^# pass [0-9]+' build/node-test.log | grep -Eo '[0-9]+' || echo 0)
  tf=$(grep -Eo '^# fail [0-9]+' build/node-test.log | grep -Eo '[0-9]+' || echo 0)
  if [ $rc -ne 0 ] && [ "$tf" = 0 ]; then tf=1; fi
  [ $rc -eq 0 ] || grep -E "^not ok|error:|expected|actual" build/node-test.log | head -n 30
  echo "  node --test: $tp passed, $tf failed"
  passed=$((passed + tp)); failed=$((failed + tf))
  check "example quickstart" bash -c "cd examples/node && npm install --no-audit --no-fund >/dev/null 2>&1 && node quickstart.mjs"
  check "example state" bash -c "cd examples/node && node state.mjs"
  check "example mesh" bash -c "cd examples/node && node mesh.mjs"
  check "example bus over mesh" bash -c "cd examples/node && node bus_over_mesh.mjs"
  check "example handlers" bash -c "cd examples/node && node handlers.mjs"
  check "example tokens" bash -c "cd examples/node && node tokens.mjs"
  check "example capabilities" bash -c "cd examples/node && node capabilities.mjs"
  check "example channels" bash -c "cd examples/node && node channels.mjs"
  check "example typed channels" bash -c "cd examples/node && node typed_channels.mjs"
  echo "node: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  ;;
bench)
  mkdir -p bench-results
  (cd sdk-ts && npx tsc -p . >/dev/null && node bench/bench.mjs && node bench/bench_state.mjs && node bench/bench_mesh.mjs) | tee -a bench-results/node.jsonl
  ;;
demo)
  (cd sdk-ts && npx tsc -p . >/dev/null)
  (cd examples/node && npm install --no-audit --no-fund >/dev/null 2>&1 && node quickstart.mjs)
  (cd sdk-ts && node bench/bench.mjs)
  ;;
*) echo "usage: $0 test|bench|demo" >&2; exit 2 ;;
esac
