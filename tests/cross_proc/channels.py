"""Channels across languages and processes, run by scripts/test.

A Python publisher (this process) registers a token-gated channel and trusts
one root; the root's grants are issued by a C program; a Go, a Node and a
Rust subscriber, each its own process with its own mesh node, first present
another subscriber's grant (and must be refused with ``unauthorized``), then
their own, and receive every message exactly once and in order. A
revocation of the Rust subscriber's grant must skip it on the next publish.

Run: PYTHONPATH=bindings/python/python:sdk-py python3 tests/cross_proc/channels.py
after the workspace build (the Rust example), the Node SDK build (sdk-ts/dist),
``build/c/issue_tokens`` from tests/cross_proc/issue_tokens.c and
``build/go/xproc.test`` (``go test -c -o ../build/go/xproc.test .`` in go/);
scripts/test does all of that.

Each subscriber reads its settings from ``XPROC_*`` variables, prints
``RESULT <lang> refused-wrong-token <count> in order`` when it has every
message, and leaves when its standard input closes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List

from net_sdk import ChannelConfig, Mesh, PermissionToken, public_key_ids

ROOT = Path(__file__).resolve().parents[2]
NETWORK_KEY = bytes([0x5A]) * 32
ROOT_SEED = "42" * 32
CHANNEL = "xlang/readings"
COUNT = 2000
SEEDS = {"go": "51" * 32, "node": "52" * 32, "rust": "53" * 32}
COMMANDS = {
    "go": (
        [str(ROOT / "build" / "go" / "xproc.test"), "-test.run", "^TestCrossProcessChannelSubscriber$"],
        ROOT / "go",
    ),
    "node": (["node", str(ROOT / "tests" / "cross_proc" / "subscriber.mjs")], ROOT),
    "rust": ([str(ROOT / "target" / "release" / "examples" / "channel_subscriber")], ROOT),
}


def payload(i: int) -> bytes:
    """Message ``i``, as every subscriber expects it (non-ASCII on purpose)."""
    return f"reading {i}: 21.5 \u00b0C \u2713".encode()


def issue_tokens() -> tuple[str, Dict[str, str], Dict[str, str]]:
    """The root key and, per subscriber, its public key and grant (from C)."""
    issuer = ROOT / "build" / "c" / "issue_tokens"
    names = list(SEEDS)
    out = subprocess.run(
        [str(issuer), ROOT_SEED, "xlang/**", "600", *(SEEDS[n] for n in names)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\n")
    keys, tokens = {}, {}
    for name, line in zip(names, out[1:]):
        keys[name], tokens[name] = line.split()
    return out[0], keys, tokens


def main() -> int:
    root_key, keys, tokens = issue_tokens()
    names = list(SEEDS)
    with Mesh(NETWORK_KEY, bind="127.0.0.1:0") as publisher:
        publisher.register_channel(ChannelConfig(CHANNEL, require_token=True))
        publisher.token_cache.trust(bytes.fromhex(root_key))
        procs: Dict[str, subprocess.Popen[str]] = {}
        for i, name in enumerate(names):
            command, cwd = COMMANDS[name]
            env = dict(
                os.environ,
                XPROC_NETWORK_KEY=NETWORK_KEY.hex(),
                XPROC_ADDR=publisher.local_addr,
                XPROC_PUBLIC_KEY=publisher.public_key.hex(),
                XPROC_PUBLISHER=str(publisher.node_id),
                XPROC_SEED=SEEDS[name],
                XPROC_TOKEN=tokens[name],
                # Another subscriber's grant: must be refused as unauthorized.
                XPROC_WRONG_TOKEN=tokens[names[(i + 1) % len(names)]],
                XPROC_CHANNEL=CHANNEL,
                XPROC_COUNT=str(COUNT),
            )
            procs[name] = subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        try:
            return run(publisher, procs, keys, tokens)
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.kill()


def run(
    publisher: Mesh,
    procs: Dict[str, subprocess.Popen[str]],
    keys: Dict[str, str],
    tokens: Dict[str, str],
) -> int:
    outputs: Dict[str, List[str]] = {name: [] for name in procs}
    reported = {name: threading.Event() for name in procs}

    def read(name: str, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            outputs[name].append(line.rstrip("\n"))
            if "RESULT" in line:
                reported[name].set()
        reported[name].set()

    for name, proc in procs.items():
        threading.Thread(target=read, args=(name, proc), daemon=True).start()

    deadline = time.monotonic() + 120
    while len(publisher.channel_subscribers(CHANNEL)) < len(procs):
        for name, proc in procs.items():
            if proc.poll() is not None:
                time.sleep(0.2)
                print(f"the {name} subscriber ended early:", *outputs[name], sep="\n  ")
                return 1
        if time.monotonic() > deadline:
            print(f"subscribed in time: {publisher.channel_subscribers(CHANNEL)}")
            return 1
        time.sleep(0.05)
    started = time.monotonic()
    for i in range(COUNT):
        report = publisher.publish(CHANNEL, payload(i))
        assert report.attempted == len(procs) and report.delivered == len(procs), report
        assert not report.skipped, report
    elapsed = time.monotonic() - started
    print(f"published {COUNT} messages to {len(procs)} subscribers in {elapsed:.2f} s")

    ok = True
    for name in procs:
        want = f"RESULT {name} refused-wrong-token {COUNT} in order"
        if not reported[name].wait(120) or not any(line.endswith(want) for line in outputs[name]):
            print(f"the {name} subscriber did not report {want!r}:", *outputs[name], sep="\n  ")
            ok = False
        else:
            print(want)

    # Every subscriber is still connected: revoking the Rust subscriber's
    # grant skips and drops it on the next publish; the others still get it.
    rust_node = node_id_of(keys["rust"])
    rust_grant = PermissionToken.from_bytes(bytes.fromhex(tokens["rust"]))
    publisher.token_cache.revoke(rust_grant.id)
    report = publisher.publish(CHANNEL, b"after revocation")
    print("after revoking the Rust subscriber's grant:", report)
    if report.skipped != ((rust_node, "revoked"),) or report.delivered != len(procs) - 1:
        ok = False
    if rust_node in publisher.channel_subscribers(CHANNEL):
        ok = False

    for name, proc in procs.items():
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        if proc.returncode != 0:
            print(f"the {name} subscriber exited with {proc.returncode}:", *outputs[name], sep="\n  ")
            ok = False
    return 0 if ok else 1


def node_id_of(public_key_hex: str) -> int:
    """A node id from its public key, as the engine derives it."""
    return public_key_ids(bytes.fromhex(public_key_hex))[0]


if __name__ == "__main__":
    sys.exit(main())
