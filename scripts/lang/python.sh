#!/usr/bin/env bash
# Python: venv, lint (ruff), tests (pytest, fixtures included), example, benchmark.
# Usage: scripts/lang/python.sh test|bench|demo  (expects target/release/lib_net.so)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
[ -f target/release/lib_net.so ] || cargo build --release -p net-python
# The native module built by the workspace build, placed where the package expects it.
cp target/release/lib_net.so bindings/python/python/net/_net.abi3.so
VENV="$ROOT/build/venv"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check pytest ruff pydantic >/dev/null
export PYTHONPATH="$ROOT/bindings/python/python:$ROOT/sdk-py"
PY="$VENV/bin/python"

case "${1:-test}" in
test)
  passed=0; failed=0
  if "$VENV/bin/ruff" check --config sdk-py/pyproject.toml sdk-py bindings/python/python examples/python tests/cross_proc >build/py-ruff.log 2>&1 \
     && "$VENV/bin/ruff" format --check --config sdk-py/pyproject.toml sdk-py bindings/python/python examples/python tests/cross_proc >>build/py-ruff.log 2>&1; then
    echo "  ok    ruff"; passed=$((passed + 1))
  else
    echo "  FAIL  ruff"; cat build/py-ruff.log | tail -n 30; failed=$((failed + 1))
  fi
  set +e
  "$PY" -m pytest -q -p no:cacheprovider sdk-py/tests >build/py-test.log 2>&1
  rc=$?
  set -e
  summary=$(tail -n 1 build/py-test.log)
  tp=$(echo "$summary" | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+' || echo 0)
  tf=$(echo "$summary" | grep -Eo '[0-9]+ (failed|error)' | grep -Eo '[0-9]+' | paste -sd+ | bc 2>/dev/null || echo 0)
  [ -n "$tf" ] || tf=0
  if [ $rc -ne 0 ] && [ "$tf" = 0 ]; then tf=1; fi   # includes pytest's exit 5 (no tests)
  [ $rc -eq 0 ] || tail -n 40 build/py-test.log
  echo "  pytest: $tp passed, $tf failed"
  passed=$((passed + tp)); failed=$((failed + tf))
  if "$PY" examples/python/quickstart.py >build/py-example.log 2>&1; then
    echo "  ok    example quickstart"; passed=$((passed + 1))
  else
    echo "  FAIL  example quickstart"; tail -n 20 build/py-example.log; failed=$((failed + 1))
  fi
  if "$PY" examples/python/state.py >build/py-example-state.log 2>&1; then
    echo "  ok    example state"; passed=$((passed + 1))
  else
    echo "  FAIL  example state"; tail -n 20 build/py-example-state.log; failed=$((failed + 1))
  fi
  if "$PY" examples/python/mesh.py >build/py-example-mesh.log 2>&1; then
    echo "  ok    example mesh"; passed=$((passed + 1))
  else
    echo "  FAIL  example mesh"; tail -n 20 build/py-example-mesh.log; failed=$((failed + 1))
  fi
  if "$PY" examples/python/bus_over_mesh.py >build/py-example-bus-over-mesh.log 2>&1; then
    echo "  ok    example bus_over_mesh"; passed=$((passed + 1))
  else
    echo "  FAIL  example bus_over_mesh"; tail -n 20 build/py-example-bus-over-mesh.log; failed=$((failed + 1))
  fi
  if "$PY" examples/python/handlers.py >build/py-example-handlers.log 2>&1; then
    echo "  ok    example handlers"; passed=$((passed + 1))
  else
    echo "  FAIL  example handlers"; tail -n 20 build/py-example-handlers.log; failed=$((failed + 1))
  fi
  if "$PY" examples/python/tokens.py >build/py-example-tokens.log 2>&1; then
    echo "  ok    example tokens"; passed=$((passed + 1))
  else
    echo "  FAIL  example tokens"; tail -n 20 build/py-example-tokens.log; failed=$((failed + 1))
  fi
  if "$PY" examples/python/capabilities.py >build/py-example-capabilities.log 2>&1; then
    echo "  ok    example capabilities"; passed=$((passed + 1))
  else
    echo "  FAIL  example capabilities"; tail -n 20 build/py-example-capabilities.log; failed=$((failed + 1))
  fi
  if "$PY" examples/python/channels.py >build/py-example-channels.log 2>&1; then
    echo "  ok    example channels"; passed=$((passed + 1))
  else
    echo "  FAIL  example channels"; tail -n 20 build/py-example-channels.log; failed=$((failed + 1))
  fi
  if "$PY" examples/python/typed_channels.py >build/py-example-typed-channels.log 2>&1; then
    echo "  ok    example typed channels"; passed=$((passed + 1))
  else
    echo "  FAIL  example typed channels"; tail -n 20 build/py-example-typed-channels.log; failed=$((failed + 1))
  fi
  echo "python: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  ;;
bench)
  mkdir -p bench-results
  "$PY" sdk-py/bench/bench_bus.py | tee -a bench-results/python.jsonl
  "$PY" sdk-py/bench/bench_state.py | tee -a bench-results/python.jsonl
  "$PY" sdk-py/bench/bench_mesh.py | tee -a bench-results/python.jsonl
  ;;
demo)
  "$PY" examples/python/quickstart.py
  "$PY" sdk-py/bench/bench_bus.py
  ;;
*) echo "usage: $0 test|bench|demo" >&2; exit 2 ;;
esac
