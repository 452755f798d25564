#!/usr/bin/env bash
# tests/install/run.sh DIST — installs every package in DIST (from
# scripts/package) the way a user would, in fresh directories outside the
# repository, and runs each language's quick start; its output must match the
# same quick start run from this checkout. Then breaks the installed native
# library in each way a user meets (missing, truncated, another ABI, another
# platform) and checks the error names the package and the fix.
#
# Prints one line per check and ends with "install: N passed, M failed".
set -uo pipefail
DIST=$(cd "${1:?usage: tests/install/run.sh DIST}" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -n 1)
LOGS="$ROOT/build/logs/install"
rm -rf "$LOGS"
mkdir -p "$LOGS"
# Outside the checkout. One fixed place (emptied first): Go's build cache keeps
# the -L paths pkg-config gave, so a new place each run would link stale ones.
TMP="/tmp/net-install-$(id -u)"
rm -rf "$TMP"
mkdir -p "$TMP"
[ -n "${KEEP_INSTALL_TMP:-}" ] || trap 'rm -rf "$TMP"' EXIT
EXPECTED="$TMP/expected"
mkdir -p "$EXPECTED"
export npm_config_loglevel=error npm_config_fund=false npm_config_audit=false
unset PYTHONPATH
passed=0
failed=0

# check <name> <command...>: one pass or one fail; output kept in a log.
check() {
  local name=$1; shift
  local log="$LOGS/${name//[^A-Za-z0-9]/_}.log"
  # A subshell: a check's `cd` and variables stay its own.
  if ("$@") >"$log" 2>&1; then
    echo "  ok    $name"; passed=$((passed + 1))
  else
    echo "  FAIL  $name (log: ${log#$ROOT/})"; tail -n 25 "$log" | sed 's/^/        /'; failed=$((failed + 1))
  fi
}
# same <expected file> <command...>: the command prints exactly what the checkout printed.
same() {
  local expected=$1; shift
  local out; out=$(mktemp "$TMP/out.XXXXXX")
  "$@" >"$out" || { cat "$out"; return 1; }
  diff -u "$expected" "$out"
}
# fails_with <text> <command...>: the command fails, and its output says <text>.
fails_with() {
  local text=$1; shift
  local out; out=$(mktemp "$TMP/out.XXXXXX")
  if "$@" >"$out" 2>&1; then cat "$out"; echo "expected a failure"; return 1; fi
  cat "$out"
  grep -qF -- "$text" "$out" || { echo "expected the output to say: $text"; return 1; }
}

# ---- What the quick starts print, run from this checkout ----------------
(
  cd "$ROOT"
  cargo run --release -q -p net-sdk --example quickstart >"$EXPECTED/rust.txt"
  gcc -Iinclude -o "$TMP/c_expected" examples/c/quickstart.c target/release/libnet.a -lpthread -ldl -lm
  "$TMP/c_expected" >"$EXPECTED/c.txt"
  cp target/release/lib_net.so bindings/python/python/net/_net.abi3.so
  PYTHONPATH="$ROOT/bindings/python/python:$ROOT/sdk-py" python3 examples/python/quickstart.py >"$EXPECTED/python.txt"
  [ -d examples/node/node_modules ] || (cd examples/node && npm install --no-audit --no-fund >/dev/null)
  cp target/release/libnet_node.so bindings/node/net.node
  (cd examples/node && node quickstart.mjs) >"$EXPECTED/node.txt"
  mkdir -p go/lib/linux_amd64 go/include
  cp target/release/libnet.a go/lib/linux_amd64/libnet.a
  cp include/net.h go/include/net.h
  (cd examples/go && go run ./quickstart) >"$EXPECTED/go.txt"
) >"$LOGS/expected.log" 2>&1 || { echo "  FAIL  the checkout's quick starts (log: build/logs/install/expected.log)"; tail -n 20 "$LOGS/expected.log"; echo "install: 0 passed, 1 failed"; exit 1; }

# ---- Python: two wheels into a new venv ---------------------------------
PY="$TMP/python"
mkdir -p "$PY"
cp "$ROOT/examples/python/quickstart.py" "$PY/"
py_install() {
  python3 -m venv "$PY/venv" &&
    "$PY/venv/bin/pip" install -q --disable-pip-version-check --no-index --only-binary :all: \
      --find-links "$DIST/python" "netmesh-sdk==$VERSION"
}
check "python: pip install the two wheels into a new venv" py_install
check "python: quick start" same "$EXPECTED/python.txt" bash -c "cd '$PY' && venv/bin/python quickstart.py"
check "python: the stubs and py.typed are installed" bash -c \
  "ls '$PY'/venv/lib/python3*/site-packages/net/_net.pyi '$PY'/venv/lib/python3*/site-packages/net/py.typed '$PY'/venv/lib/python3*/site-packages/net_sdk/py.typed"
PYNET=$(ls -d "$PY"/venv/lib/python3*/site-packages/net 2>/dev/null | head -n 1)
SO="$PYNET/_net.abi3.so"
py_import() { (cd "$PY" && venv/bin/python -c 'import net_sdk'); }
py_broken() { # py_broken <how> <text>
  local how=$1 text=$2
  cp "$SO" "$TMP/_net.saved"
  case "$how" in
    missing) rm -f "$SO" ;;
    truncated) head -c 4096 "$TMP/_net.saved" >"$SO" ;;
    abi) cp "$PYNET/_version.py" "$TMP/_version.saved"; sed -i 's/^EXPECTED_ABI_VERSION = .*/EXPECTED_ABI_VERSION = 999/' "$PYNET/_version.py" ;;
  esac
  fails_with "$text" py_import
  local rc=$?
  cp "$TMP/_net.saved" "$SO"
  [ "$how" != abi ] || cp "$TMP/_version.saved" "$PYNET/_version.py"
  return $rc
}
check "python: a missing native module names the package and the fix" py_broken missing \
  "netmesh: the native module net._net is missing; reinstall netmesh $VERSION for this platform (pip install --force-reinstall netmesh==$VERSION"
check "python: a truncated native module names the package and the fix" py_broken truncated \
  "is damaged (truncated: 4096 bytes); reinstall netmesh $VERSION"
check "python: another ABI names the fix" py_broken abi "speaks ABI 1, this package expects 999; reinstall netmesh"
py_sdist() {
  # Built as pip builds it for a platform with no wheel (maturin, cargo).
  cd "$TMP" && CARGO_TARGET_DIR="$TMP/sdist-target" "$PY/venv/bin/pip" wheel -q --no-cache-dir --disable-pip-version-check \
    --no-deps -w "$TMP/sdist-wheel" "$DIST/python/netmesh-$VERSION.tar.gz" &&
    python3 -m venv "$TMP/sdist-venv" &&
    "$TMP/sdist-venv/bin/pip" install -q --disable-pip-version-check --no-index "$TMP"/sdist-wheel/netmesh-*.whl \
      "$DIST/python/netmesh_sdk-$VERSION-py3-none-any.whl" &&
    "$TMP/sdist-venv/bin/pip" show -f netmesh >"$TMP/sdist-files.txt" && grep -q "_net.abi3.so" "$TMP/sdist-files.txt" &&
    (cd "$PY" && "$TMP/sdist-venv/bin/python" quickstart.py) >"$TMP/sdist.txt" && diff -u "$EXPECTED/python.txt" "$TMP/sdist.txt"
}
check "python: the sdist builds with a Rust toolchain and runs the quick start" py_sdist
py_other_platform() {
  local wheel; wheel=$(ls "$DIST"/python/netmesh-"$VERSION"-cp38-abi3-*.whl | head -n 1)
  local other="$TMP/$(basename "$wheel" | sed 's/_x86_64\.whl$/_aarch64.whl/')"
  cp "$wheel" "$other"
  fails_with "is not a supported wheel on this platform" "$PY/venv/bin/pip" install --no-index "$other"
}
check "python: pip refuses the wheel of another platform" py_other_platform

# ---- Node: three tarballs into a new project ----------------------------
NODE="$TMP/node"
mkdir -p "$NODE"
node_install() {
  cd "$NODE" && npm init -y >/dev/null &&
    npm install --no-audit --no-fund "$DIST/npm/netmesh-core-linux-x64-gnu-$VERSION.tgz" \
      "$DIST/npm/netmesh-core-$VERSION.tgz" "$DIST/npm/netmesh-sdk-$VERSION.tgz"
}
check "node: npm install the three tarballs into a new project" node_install
cp "$ROOT/examples/node/quickstart.mjs" "$NODE/quickstart.mjs"
# The same program as CommonJS: require instead of import, inside an async function.
{
  sed -n 's/^import { \(.*\) } from \(.*\);$/const { \1 } = require(\2);/p' "$ROOT/examples/node/quickstart.mjs"
  echo '(async () => {'
  grep -v '^import ' "$ROOT/examples/node/quickstart.mjs"
  echo '})().catch((err) => { console.error(err); process.exit(1); });'
} >"$NODE/quickstart.cjs"
cp "$ROOT/examples/node/quickstart.mjs" "$NODE/quickstart.mts"
check "node: quick start (ESM)" same "$EXPECTED/node.txt" bash -c "cd '$NODE' && node quickstart.mjs"
check "node: quick start (CommonJS)" same "$EXPECTED/node.txt" bash -c "cd '$NODE' && node quickstart.cjs"
node_tsc() {
  cd "$NODE" && npm install --no-audit --no-fund --no-save typescript@5 @types/node@20 >/dev/null &&
    npx tsc --strict --noEmit --module nodenext --moduleResolution nodenext --target es2022 --types node quickstart.mts
}
check "node: tsc --strict over a TypeScript file that imports the SDK" node_tsc
PLATFORM_PKG="$NODE/node_modules/@netmesh/core-linux-x64-gnu"
node_require() { (cd "$NODE" && node -e "require('@netmesh/sdk')"); }
node_broken() { # node_broken <how> <text>
  local how=$1 text=$2
  cp -r "$PLATFORM_PKG" "$TMP/platform.saved"
  cp "$NODE/node_modules/@netmesh/core/version.js" "$TMP/version.saved"
  case "$how" in
    missing) rm -rf "$PLATFORM_PKG" ;;
    truncated) head -c 4096 "$TMP/platform.saved/net.linux-x64-gnu.node" >"$PLATFORM_PKG/net.linux-x64-gnu.node" ;;
    abi) sed -i 's/abiVersion: [0-9]*/abiVersion: 999/' "$NODE/node_modules/@netmesh/core/version.js" ;;
    version) sed -i 's/"version": "[^"]*"/"version": "0.0.1"/' "$PLATFORM_PKG/package.json" ;;
  esac
  fails_with "$text" node_require
  local rc=$?
  rm -rf "$PLATFORM_PKG"
  cp -r "$TMP/platform.saved" "$PLATFORM_PKG"
  rm -rf "$TMP/platform.saved"
  cp "$TMP/version.saved" "$NODE/node_modules/@netmesh/core/version.js"
  return $rc
}
check "node: a missing platform package is named, with the install command" node_broken missing \
  "@netmesh/core-linux-x64-gnu@$VERSION, which is not installed; install it (npm install @netmesh/core-linux-x64-gnu@$VERSION)"
check "node: a truncated addon names the package to reinstall" node_broken truncated \
  "is damaged (truncated: 4096 bytes); reinstall @netmesh/core-linux-x64-gnu@$VERSION"
check "node: another ABI names the fix" node_broken abi "speaks ABI 1, this package expects 999"
check "node: a platform package of another release names the fix" node_broken version \
  "@netmesh/core-linux-x64-gnu is version 0.0.1, this package is $VERSION; install @netmesh/core-linux-x64-gnu@$VERSION"
echo "Object.defineProperty(process, 'platform', { value: 'freebsd' });" >"$TMP/freebsd.cjs"
check "node: an unsupported platform says so and how to build from source" fails_with \
  "no prebuilt native addon for freebsd-x64" bash -c "cd '$NODE' && node -r '$TMP/freebsd.cjs' -e \"require('@netmesh/sdk')\""

# ---- Go: go get from a file proxy, with no cargo on the PATH ------------
GODIR="$TMP/go"
mkdir -p "$GODIR"
NO_CARGO_PATH=$(echo "$PATH" | tr ':' '\n' | grep -v -e '\.cargo' -e 'rustup' | paste -sd: -)
go_env() {
  # A module cache of its own: the module comes from dist/ every run. The
  # version stays 0.1.0 while its files change, and Go's module index (kept in
  # the shared build cache) treats a module-cache path and version as
  # immutable, so it would list the files of an earlier run: goindex=0.
  env PATH="$NO_CARGO_PATH" GOPROXY="file://$DIST/go/proxy" GONOSUMDB="github.com/netmesh-dev" \
    GOMODCACHE="$TMP/gomodcache" GOFLAGS="-mod=mod -modcacherw" GOTOOLCHAIN=local GODEBUG=goindex=0 "$@"
}
go_get() {
  cd "$GODIR" && ! go_env bash -c 'command -v cargo' && go_env go mod init example.com/app &&
    go_env go get "github.com/netmesh-dev/net/go@v$VERSION" &&
    cp "$ROOT/examples/go/quickstart/main.go" . && go_env go build -o app .
}
check "go: go get from the file proxy and build, no cargo on the PATH" go_get
check "go: quick start" same "$EXPECTED/go.txt" bash -c "cd '$GODIR' && ./app"
go_without_cgo() { cd "$GODIR" && CGO_ENABLED=0 go_env go build -o /dev/null .; }
go_other_platform() { cd "$GODIR" && GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 go_env go build -o /dev/null .; }
check "go: without cgo the build says so" fails_with "net_needs_cgo__build_with_CGO_ENABLED_1_and_a_C_compiler" go_without_cgo
check "go: another platform says how to build libnet and use the netsystem tag" fails_with \
  "net_has_no_prebuilt_library_for_this_platform__build_libnet_and_use_tag_netsystem" go_other_platform

# ---- C: the install tarball, with pkg-config and with CMake -------------
C="$TMP/c"
mkdir -p "$C"
tar -C "$C" -xzf "$DIST/c/net-$VERSION-linux-x86_64.tar.gz"
PREFIX="$C/net-$VERSION"
cp "$ROOT/examples/c/quickstart.c" "$C/"
VALGRIND=(valgrind -q --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --error-exitcode=9)
c_pkg_config() {
  cd "$C" && export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" &&
    [ "$(pkg-config --modversion net)" = "$VERSION" ] &&
    gcc -Wall -Werror -o quickstart_shared quickstart.c $(pkg-config --cflags --libs net) -Wl,-rpath,"$PREFIX/lib" &&
    ldd quickstart_shared | grep -q "libnet.so.1 => $PREFIX/lib/libnet.so.1"
}
check "c: pkg-config --cflags --libs net, linked against libnet.so" c_pkg_config
check "c: quick start (shared) under valgrind" same "$EXPECTED/c.txt" "${VALGRIND[@]}" "$C/quickstart_shared"
c_cmake() {
  mkdir -p "$C/cmake" && cp "$C/quickstart.c" "$C/cmake/" && cat >"$C/cmake/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.16)
project(net_quickstart C)
find_package(net 0.1 REQUIRED)
add_executable(quickstart quickstart.c)
target_link_libraries(quickstart PRIVATE net::net_static)
EOF
  cmake -S "$C/cmake" -B "$C/cmake/build" -DCMAKE_PREFIX_PATH="$PREFIX" && cmake --build "$C/cmake/build" &&
    ! ldd "$C/cmake/build/quickstart" | grep -q libnet
}
check "c: CMake find_package(net), linked statically (net::net_static)" c_cmake
check "c: quick start (static) under valgrind" same "$EXPECTED/c.txt" "${VALGRIND[@]}" "$C/cmake/build/quickstart"
c_other_abi() {
  mkdir -p "$C/abi" && sed 's/^#define NET_ABI_VERSION .*/#define NET_ABI_VERSION 999/' "$PREFIX/include/net.h" >"$C/abi/net.h" &&
    gcc -I"$C/abi" -o "$C/abi/quickstart" "$C/quickstart.c" -L"$PREFIX/lib" -lnet -Wl,-rpath,"$PREFIX/lib" &&
    fails_with "libnet ABI 1, header 999" "$C/abi/quickstart"
}
check "c: a header of another ABI is caught by net_abi_version()" c_other_abi
c_missing_so() {
  mv "$PREFIX/lib" "$PREFIX/lib.away"
  fails_with "libnet.so.1: cannot open shared object file" "$C/quickstart_shared"
  local rc=$?
  mv "$PREFIX/lib.away" "$PREFIX/lib"
  return $rc
}
check "c: a missing libnet.so is named by its soname" c_missing_so
c_go_netsystem() {
  cd "$GODIR" && go_env env PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" go build -tags netsystem -o app_system . &&
    LD_LIBRARY_PATH="$PREFIX/lib" ./app_system >"$TMP/go_system.txt" && diff -u "$EXPECTED/go.txt" "$TMP/go_system.txt"
}
check "go: -tags netsystem takes libnet from pkg-config (the C prefix)" c_go_netsystem
# A libnet of another ABI, stood in for by a library that answers
# net_abi_version() with 999 ahead of the real one (LD_PRELOAD).
printf 'unsigned int net_abi_version(void) { return 999; }\n' >"$TMP/abi999.c"
gcc -shared -fPIC -o "$TMP/libabi999.so" "$TMP/abi999.c"
go_other_abi() {
  cd "$GODIR" && LD_LIBRARY_PATH="$PREFIX/lib" LD_PRELOAD="$TMP/libabi999.so" ./app_system
}
check "go: a libnet of another ABI fails the first call with ErrABIMismatch and the fix" fails_with \
  "libnet has ABI 999, this package (github.com/netmesh-dev/net/go $VERSION) expects 1: link the libnet of the same release" go_other_abi
c_preloaded_abi() { LD_PRELOAD="$TMP/libabi999.so" "$C/quickstart_shared"; }
check "c: a libnet.so of another ABI is caught by net_abi_version()" fails_with "libnet ABI 999, header 1" c_preloaded_abi

# ---- Rust: a new cargo project on the packaged crates -------------------
RUST="$TMP/rust"
mkdir -p "$RUST/crates"
rust_app() {
  for crate in net-core net-ffi net-sdk; do tar -C "$RUST/crates" -xzf "$DIST/rust/$crate-$VERSION.crate" || return 1; done
  cd "$RUST" && cargo new -q app && cd app &&
    cat >>Cargo.toml <<EOF
net-sdk = { path = "../crates/net-sdk-$VERSION" }
futures = "0.3"
serde = { version = "1", features = ["derive"] }
serde_json = "1"
tokio = { version = "1", features = ["macros", "rt-multi-thread"] }

[patch.crates-io]
net-core = { path = "../crates/net-core-$VERSION" }
EOF
  cp "$ROOT/examples/rust/quickstart.rs" src/main.rs &&
    CARGO_TARGET_DIR="$ROOT/target/install-test" cargo build -q
}
check "rust: cargo new with net-sdk from the packaged crates" rust_app
check "rust: quick start" same "$EXPECTED/rust.txt" "$ROOT/target/install-test/debug/app"

echo "install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
