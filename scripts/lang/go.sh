#!/usr/bin/env bash
# Go: lint, tests (race + cgocheck), golden fixtures, example, benchmarks.
# Usage: scripts/lang/go.sh test|bench|demo   (expects target/release/libnet.a)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
[ -f target/release/libnet.a ] || cargo build --release -p net-ffi
export CGO_ENABLED=1
# The module links the libnet.a and net.h it carries (go/lib, go/include), as
# the published module does: put this build's there.
mkdir -p go/lib/linux_amd64 go/include
cp target/release/libnet.a go/lib/linux_amd64/libnet.a
cp include/net.h go/include/net.h

case "${1:-test}" in
test)
  passed=0; failed=0
  step() { # step <name> <command...>
    local name=$1; shift
    if "$@" >"$ROOT/build/go-step.log" 2>&1; then
      echo "  ok    $name"; passed=$((passed + 1))
    else
      echo "  FAIL  $name"; tail -n 40 "$ROOT/build/go-step.log"; failed=$((failed + 1))
    fi
  }
  mkdir -p build
  cd go
  fmt_out=$(gofmt -l . ../examples/go)
  if [ -n "$fmt_out" ]; then echo "  FAIL  gofmt: $fmt_out"; failed=$((failed + 1)); else echo "  ok    gofmt"; passed=$((passed + 1)); fi
  step "go vet" go vet ./...
  # Tests (fixture runner included), counted per test function.
  if GODEBUG=cgocheck=1 go test -race -count=1 -v ./... >"$ROOT/build/go-test.log" 2>&1; then :; fi
  tp=$(grep -c '^--- PASS' "$ROOT/build/go-test.log" || true)
  tf=$(grep -c '^--- FAIL' "$ROOT/build/go-test.log" || true)
  if ! grep -q '^ok' "$ROOT/build/go-test.log"; then tf=$((tf > 0 ? tf : 1)); tail -n 40 "$ROOT/build/go-test.log"; fi
  echo "  go test -race (cgocheck=1): $tp passed, $tf failed"
  passed=$((passed + tp)); failed=$((failed + tf))
  cd ../examples/go
  step "go vet (example)" go vet ./...
  step "example quickstart" go run ./quickstart
  step "example state" go run ./state
  step "example mesh" go run ./mesh
  step "example bus_over_mesh" go run ./bus_over_mesh
  step "example handlers" go run ./handlers
  step "example tokens" go run ./tokens
  step "example capabilities" go run ./capabilities
  step "example channels" go run ./channels
  step "example typed channels" go run ./typed_channels
  echo "go: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  ;;
bench)
  mkdir -p bench-results
  cd go
  go test -run '^$' -bench . -benchtime 2s | tee "$ROOT/build/go-bench.txt"
  python3 - "$ROOT/build/go-bench.txt" >>"$ROOT/bench-results/go.jsonl" <<'PY'
import json, re, sys
for line in open(sys.argv[1]):
    m = re.match(r"Benchmark(\S+?)-\d+\s+\d+\s+([\d.]+) ns/op(.*)", line)
    if not m:
        continue
    name, ns, rest = m.group(1), float(m.group(2)), m.group(3)
    eps = re.search(r"([\d.e+]+) events/s", rest)
    size = re.search(r"(\d+)B$", name)
    row = {"lang": "go", "bench": name, "payload_bytes": int(size.group(1)) if size else None}
    if eps:
        row["events_per_sec"] = round(float(eps.group(1)))
    else:
        row["ns_per_call"] = ns
    print(json.dumps(row))
PY
  tail -n 2 "$ROOT/bench-results/go.jsonl"
  ;;
demo)
  (cd examples/go && go run ./quickstart)
  (cd go && go test -run '^$' -bench 'IngestRaw' -benchtime 1s | grep -E '^Benchmark')
  ;;
*) echo "usage: $0 test|bench|demo" >&2; exit 2 ;;
esac
