"""Golden fixtures: every file under tests/cross_lang/ through the public SDK.

Writes build/parity/python.tsv. Files listed in GAPS (none today) would be
reported as gaps, not run.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest
from net import _net
from net_sdk import (
    ERRORS_BY_KIND,
    BusLink,
    Event,
    Handler,
    Identity,
    Mesh,
    NetError,
    NetNode,
    PermissionToken,
    Subscription,
    TokenCache,
    channel_hash,
    channel_matches,
    check_channel_name,
    normalize_channel_config,
    public_key_ids,
    redex,
    verify,
)
from net_sdk.capability import (
    CapabilityDiff,
    CapabilitySet,
    Predicate,
    SubnetId,
    SubnetPolicy,
    Visibility,
)
from net_sdk.node import _compact
from net_sdk.wire import NetHeader, RoutingHeader
from pydantic import BaseModel, ConfigDict

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "cross_lang"
AREAS = {
    "bus",
    "capability",
    "channel",
    "cortex",
    "errors",
    "identity",
    "mesh",
    "redex",
    "subnet",
    "token",
    "wire",
}
# Listed gaps: files of covered areas whose subject Python does not expose yet.
GAPS: set[str] = set()
RESULTS: dict[str, list[int]] = {}


def fixture_files() -> list[Path]:
    return sorted(
        p
        for p in FIXTURES.glob("*/*.json")
        if p.parent.name in AREAS and f"{p.parent.name}/{p.name}" not in GAPS
    )


def event_matches(raw: bytes, want: dict[str, Any]) -> bool:
    if "json" in want:
        try:
            return bool(json.loads(raw) == want["json"])
        except ValueError:
            return False
    if "text" in want:
        return raw == want["text"].encode()
    return raw == bytes.fromhex(want["hex"])


class Case:
    def __init__(self, node: NetNode) -> None:
        self.node = node
        self.cursor: str | None = None
        self.sub: Subscription | None = None
        self.handler: Handler | None = None
        self.seen: list[bytes] = []

    def cursor_of(self, step: dict[str, Any]) -> str | None:
        if "cursor_text" in step:
            return str(step["cursor_text"])
        return self.cursor if step.get("cursor") == "previous" else None

    def items(self, step: dict[str, Any]) -> list[bytes]:
        if "texts" in step:
            return [t.encode() for t in step["texts"]]
        return [bytes.fromhex(h) for h in step["hexes"]]

    def on_event(self, step: dict[str, Any]) -> dict[str, Any]:
        fail_on = [t.encode() for t in step.get("fail_on", [])]
        emit_on = step.get("emit_on")
        close_after = step.get("close_after")
        node = self.node
        registered = threading.Event()

        def handler(event: Event) -> None:
            self.seen.append(event.raw)
            if emit_on is not None and event.raw == emit_on["when"].encode():
                node.emit_raw(emit_on["text"])
            if close_after is not None and len(self.seen) == close_after:
                registered.wait(5)
                assert self.handler is not None
                self.handler.close()
            if event.raw in fail_on:
                raise ValueError("the fixture's handler fails on this event")

        filter: Any = step["filter_text"] if "filter_text" in step else step.get("filter")
        self.handler = node.on_event(handler, cursor=self.cursor_of(step), filter=filter)
        registered.set()
        return {}

    def run(self, step: dict[str, Any]) -> dict[str, Any]:
        n, op = self.node, step["op"]
        if op == "emit":
            return n.emit(step["value"])._asdict()
        if op == "emit_str":
            return n.emit_str(step["json"])._asdict()
        if op == "emit_raw":
            data = step["text"].encode() if "text" in step else bytes.fromhex(step["hex"])
            return n.emit_raw(data)._asdict()
        if op == "emit_batch":
            return {"count": n.emit_batch(step["values"])}
        if op == "emit_str_batch":
            return {"count": n.emit_str_batch(step["jsons"])}
        if op == "emit_raw_batch":
            return {"count": n.emit_raw_batch(self.items(step))}
        if op == "poll":
            page = n.poll(step["limit"], self.cursor_of(step), step.get("filter"))
            self.cursor = page.next_cursor
            return {
                "raws": [e.raw for e in page.events],
                "count": len(page.events),
                "has_more": page.has_more,
            }
        if op == "subscribe":
            self.sub = n.subscribe(cursor=self.cursor_of(step), filter=step.get("filter"))
            return {}
        if op == "next":
            assert self.sub is not None
            want = step["expect"].get("events")
            deadline = time.monotonic() + step["timeout_ms"] / 1000
            raws: list[bytes] = []
            done = False
            while want is None or len(raws) < len(want) or not want:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                batch = self.sub.next_batch(256, timeout=left)
                if batch is None:
                    done = True
                    break
                raws.extend(e.raw for e in batch)
            return {"raws": raws, "done": done}
        if op == "leave":
            # for ... break: the generator's exit gives back what it did not yield.
            assert self.sub is not None
            raws = []
            for event in self.sub:
                raws.append(event.raw)
                if len(raws) == step["take"]:
                    break
            return {"raws": raws}
        if op == "on_event":
            return self.on_event(step)
        if op == "handler_wait":
            assert self.handler is not None
            handler, want = self.handler, step["expect"]
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and (
                len(self.seen) < len(want.get("events", [])) or (want.get("closed") and not handler.closed)
            ):
                time.sleep(0.002)
            stats = handler.stats
            return {"raws": list(self.seen), **stats.__dict__}
        if op == "handler_close":
            assert self.handler is not None
            self.handler.close()
            return {}
        if op == "flush":
            n.flush()
            return {}
        if op == "shutdown":
            n.shutdown()
            return {}
        if op == "stats":
            return n.stats().__dict__
        if op == "health":
            return n.health().__dict__
        raise AssertionError(f"unknown op {op}")


def check_step(case: Case, step: dict[str, Any]) -> None:
    op = step["op"]
    if "error" in step:
        with pytest.raises(NetError) as info:
            case.run(step)
        assert info.value.kind == step["error"], f"{op}: got {info.value}"
        return
    got = case.run(step)
    for key, want in step.get("expect", {}).items():
        if key == "events":
            raws = got["raws"]
            assert len(raws) == len(want), f"{op}: {len(raws)} events, want {len(want)}"
            for i, (raw, w) in enumerate(zip(raws, want)):
                assert event_matches(raw, w), f"{op}: event {i} is {raw!r}, want {w}"
        else:
            assert norm(got.get(key)) == norm(want), f"{op}: {key} is {got.get(key)!r}, want {want!r}"


def run_case(case: dict[str, Any]) -> None:
    if "model" in case:
        run_model_case(case)
        return
    config = json.dumps(case["config"]) if "config" in case else case.get("config_text", "")
    if "open_error" in case:
        with pytest.raises(NetError) as info:
            NetNode.from_config(config)
        assert info.value.kind == case["open_error"]
        return
    state = Case(NetNode.from_config(config))
    # A fixture handler's failures are expected: keep them out of the report.
    unraisable = sys.unraisablehook
    sys.unraisablehook = lambda info: None
    try:
        for i, step in enumerate(case["steps"]):
            try:
                check_step(state, step)
            except AssertionError as e:
                raise AssertionError(f"step {i}: {e}") from e
    finally:
        if state.sub is not None:
            state.sub.close()
        if state.handler is not None:
            state.handler.close()
        sys.unraisablehook = unraisable
        state.node.shutdown()


MODEL_WRITES = {"create", "rename", "complete", "delete", "store", "retag", "pin", "unpin"}


def norm(v: Any) -> Any:
    """Integers as decimal strings: fixtures write 64-bit fields as numbers or
    decimal strings, and both compare by value."""
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items()}
    return v


def run_model_case(case: dict[str, Any]) -> None:
    """A tasks/memories case through the SDK's typed models (ints stay exact)."""
    from net_sdk import NetDb

    big = lambda v: None if v is None else int(v)  # noqa: E731 - a number or a decimal string
    with NetDb() as db:
        model: Any = db.tasks if case["model"] == "tasks" else db.memories
        for i, step in enumerate(case["steps"]):
            op = step["op"]
            if op in MODEL_WRITES:
                id, ts = big(step.get("id")), big(step.get("ts"))
                if op in ("create", "rename"):
                    token = getattr(model, op)(id, step["title"], ts)
                elif op == "store":
                    token = model.store(id, step["content"], step["tags"], step["source"], ts)
                elif op == "retag":
                    token = model.retag(id, step["tags"], ts)
                elif op == "delete":
                    token = model.delete(id)
                else:
                    token = getattr(model, op)(id, ts)
                model.wait_for_token(token)
                continue
            want = next(iter(step["expect"].values()))
            if op == "find_unique":
                found = model.find_unique(big(step["id"]))
                got: Any = None if found is None else found.__dict__
                if found is not None:
                    assert all(type(found.__dict__[k]) is int for k in ("id", "created_ns", "updated_ns"))
            elif op == "find_many":
                got = [r.id for r in model.find_many(**step["filter"])]
            elif op == "fold_errors":
                got = model.fold_errors
            else:
                got = getattr(model, op)(**step["filter"])
            assert norm(got) == norm(want), f"step {i} ({op}): {got} != {want}"


def snapshot_units(doc: dict[str, Any]) -> list[tuple[str, Any]]:
    from net_sdk import NetDb

    def query(db: NetDb, q: dict[str, Any]) -> None:
        model = db.tasks if q["model"] == "tasks" else db.memories
        want = next(iter(q["expect"].values()))
        if q["op"] == "find_unique":
            found = model.find_unique(int(q["id"]))
            assert norm(None if found is None else found.__dict__) == norm(want)
        elif q["op"] == "find_many":
            assert norm([r.id for r in model.find_many(**q["filter"])]) == norm(want)
        else:
            assert norm(getattr(model, q["op"])(**q["filter"])) == norm(want)

    units: list[tuple[str, Any]] = []
    for snap in doc.get("snapshots", []):
        db = NetDb.restore(bytes.fromhex(snap["hex"]))
        units += [(f"{q['model']}.{q['op']}", lambda q=q, db=db: query(db, q)) for q in snap["queries"]]
    return units


def open_units(doc: dict[str, Any]) -> list[tuple[str, Any]]:
    """redex/open.json: two managers on one directory, one writer per log."""
    import tempfile

    from net_sdk import Redex

    def case(c: dict[str, Any]) -> None:
        with tempfile.TemporaryDirectory() as d:
            first, second = Redex(d), Redex(d)
            first.open_log(c["first"])
            if "error" in c:
                with pytest.raises(NetError) as info:
                    second.open_log(c["second"])
                assert info.value.kind == c["error"]
            else:
                second.open_log(c["second"])
            first.close()
            second.close()
            with Redex(d) as again:
                again.open_log(c["second"])

    return [(c["name"], lambda c=c: case(c)) for c in doc.get("opens", [])]


def check_kinds(doc: dict[str, Any]) -> None:
    from net import _net

    assert [list(k) for k in _net.error_kinds()] == [[k["kind"], k["code"]] for k in doc["kinds"]]
    for k in doc["kinds"]:
        cls = ERRORS_BY_KIND[k["kind"]]
        assert cls.kind == k["kind"] and cls.code == k["code"]
        assert (cls.area, cls.reason) == (k["area"], k["reason"])


def expect_kind(kind: str, fn: Any) -> None:
    with pytest.raises(NetError) as info:
        fn()
    assert info.value.kind == kind, info.value


def identity_units(doc: dict[str, Any]) -> list[tuple[str, Any]]:
    def vector(v: dict[str, Any]) -> None:
        ident = Identity.from_seed(bytes.fromhex(v["seed"]))
        assert ident.public_key.hex() == v["public_key"]
        assert public_key_ids(ident.public_key) == (int(v["node_id"]), v["origin_hash"])
        assert ident.node_id == int(v["node_id"])
        sig = ident.sign(bytes.fromhex(v["message"]))
        assert sig.hex() == v["signature"]
        verify(ident.public_key, bytes.fromhex(v["message"]), sig)

    def error(e: dict[str, Any]) -> None:
        h = {k: bytes.fromhex(e[k]) for k in ("seed", "public_key", "message", "signature") if k in e}
        calls = {
            "from_seed": lambda: Identity.from_seed(h["seed"]),
            "ids": lambda: public_key_ids(h["public_key"]),
            "verify": lambda: verify(h["public_key"], h["message"], h["signature"]),
        }
        expect_kind(e["error"], calls[e["op"]])

    return [(v["seed"], lambda v=v: vector(v)) for v in doc.get("vectors", [])] + [
        (e["op"], lambda e=e: error(e)) for e in doc.get("errors", [])
    ]


def token_units(doc: dict[str, Any]) -> list[tuple[str, Any]]:
    identities = {
        name: Identity.from_seed(bytes.fromhex(seed)) for name, seed in doc.get("identities", {}).items()
    }

    def request(r: dict[str, Any]) -> dict[str, Any]:
        return {
            "subject": bytes.fromhex(r["subject"]),
            "scope": r["scope"],
            "channel": r["channel"],
            "ttl": r["ttl_ms"] / 1000,
            "depth": r.get("depth", 0),
            "not_before": r.get("not_before"),
            "now": r.get("now"),
            "nonce": bytes.fromhex(r["nonce"]) if "nonce" in r else None,
        }

    def run(c: dict[str, Any]) -> dict[str, Any]:
        op = c["op"]
        if op in ("issue", "delegate"):
            if op == "issue":
                who = identities[c["issuer"]]
                issue = who.try_issue_token if c.get("strict") else who.issue_token
                token = issue(**request(c["request"]))
            else:
                parent = PermissionToken(bytes.fromhex(c["parent"]))
                token = identities[c["delegator"]].delegate_token(parent, **request(c["request"]))
            return {"token": bytes(token).hex(), "id": token.id.hex()}
        if op == "verify":
            PermissionToken(bytes.fromhex(c["token"])).verify(c["now"])
            return {}
        if op == "chain":
            cache = TokenCache()
            for name in c["trust"]:
                cache.trust(identities[name].public_key)
            for token_id in c["revoked"]:
                cache.revoke(token_id)
            chain = [PermissionToken(bytes.fromhex(t)) for t in c["chain"]]
            subject = identities[c["subject"]].public_key
            leaf = cache.install(chain, subject, c["scope"], c["channel"], now=c["now"])
            assert cache.check(subject, c["scope"], c["channel"], now=c["now"]) == leaf
            return {"id": leaf.hex()}
        if op == "covers":
            return {"covers": PermissionToken(bytes.fromhex(c["token"])).covers(c["channel"])}
        if op == "inspect":
            token = PermissionToken.from_bytes(bytes.fromhex(c["token"]))
            assert json.loads(_net.token_json(bytes(token))) == c["json"]
            info = token.info
            assert (info.id, int(info.scope), info.parent) == (
                c["json"]["id"],
                c["json"]["scope_bits"],
                c["json"]["parent"],
            )
            return {}
        raise AssertionError(f"unknown op {op}")

    def case(c: dict[str, Any]) -> None:
        if "error" in c:
            expect_kind(c["error"], lambda: run(c))
            return
        got = run(c)
        for key, value in got.items():
            assert value == c[key], f"{key}: {value} != {c[key]}"

    return [(c["name"], lambda c=c: case(c)) for c in doc.get("tokens", [])]


def channel_units(doc: dict[str, Any]) -> list[tuple[str, Any]]:
    def case(c: dict[str, Any]) -> None:
        if c["op"] == "name":
            if "error" in c:
                expect_kind(c["error"], lambda: check_channel_name(c["channel"]))
                expect_kind(c["error"], lambda: channel_hash(c["channel"]))
            else:
                check_channel_name(c["channel"])
                assert str(channel_hash(c["channel"])) == c["hash"]
        elif "error" in c:
            expect_kind(c["error"], lambda: channel_matches(c["pattern"], c["channel"]))
        else:
            assert channel_matches(c["pattern"], c["channel"]) is c["matches"]

    return [(c["name"], lambda c=c: case(c)) for c in doc.get("names", [])]


def channel_config_units(doc: dict[str, Any]) -> list[tuple[str, Any]]:
    def case(c: dict[str, Any]) -> None:
        text = json.dumps(c["config"])
        if "error" in c:
            expect_kind(c["error"], lambda: normalize_channel_config(text))
        else:
            assert normalize_channel_config(text) == c["normalized"]

    return [(c["name"], lambda c=c: case(c)) for c in doc.get("channel_configs", [])]


def local_channel_units(doc: dict[str, Any]) -> list[tuple[str, Any]]:
    def case(c: dict[str, Any]) -> None:
        node = NetNode(config_json=json.dumps(c.get("config", {})))
        subs: dict[str, Any] = {}
        for i, step in enumerate(c["steps"]):
            op = step["op"]

            def run(step: dict[str, Any] = step, op: str = op) -> Any:
                if op == "subscribe":
                    subs[step["id"]] = node.subscribe_channel(step["pattern"])
                    return None
                if op == "publish":
                    data = bytes.fromhex(step["hex"]) if "hex" in step else step["text"].encode()
                    return {"delivered": node.publish(step["channel"], data)}
                if op == "next":
                    m = subs[step["id"]].next(timeout=0.02)
                    if m is None:
                        return None
                    got = {"channel": m.channel, "publisher": str(m.publisher)}
                    if "hex" in (step.get("expect") or {}):
                        got["hex"] = m.payload.hex()
                    else:
                        got["text"] = m.payload.decode()
                    return got
                if op == "close":
                    subs[step["id"]].close()
                    return None
                if op == "stats":
                    return dataclasses.asdict(node.channel_stats())
                if op == "shutdown":
                    node.shutdown()
                    return None
                raise AssertionError(f"unknown op {op}")

            if "error" in step:
                expect_kind(step["error"], run)
            else:
                got = run()
                if "expect" in step:
                    assert got == step["expect"], f"step {i} ({op}): {got} != {step['expect']}"
        node.shutdown()

    return [(c["name"], lambda c=c: case(c)) for c in doc.get("local", [])]


class StrictReading(BaseModel):
    """The fixture's Reading as a strict Pydantic model."""

    model_config = ConfigDict(strict=True)
    sensor_id: str
    celsius: float
    note: Optional[str] = None


@dataclasses.dataclass
class ReadingRecord:
    """The fixture's Reading as a dataclass."""

    sensor_id: str
    celsius: float
    note: Optional[str] = None


def typed_channel_units(doc: dict[str, Any]) -> list[tuple[str, Any]]:
    if "typed" not in doc:
        return []
    node = NetNode()

    def case(c: dict[str, Any]) -> None:
        for model in (StrictReading, ReadingRecord):
            channel = node.channel("fixtures/typed", model)
            with channel.subscribe() as sub:
                node.publish("fixtures/typed", c["payload"].encode())
                if "error" in c:
                    expect_kind(c["error"], lambda sub=sub: sub.next(timeout=1))
                    continue
                got = sub.next(timeout=1)
                plain = got.model_dump() if isinstance(got, BaseModel) else dataclasses.asdict(got)
                want = dict(c["value"])
                want.setdefault("note", None)
                assert plain == want, f"{model.__name__}: {plain} != {want}"
                channel.publish(got)  # and back
                assert sub.next(timeout=1) == got

    return [(c["name"], lambda c=c: case(c)) for c in doc["typed"]]


def capability_units(doc: dict[str, Any]) -> list[tuple[str, Any]]:
    def pairs(issues: Any) -> list[list[str]]:
        return [[i.code, i.key] for i in issues]

    def run(c: dict[str, Any]) -> Any:
        op = c["op"]
        if op == "normalize":
            return {"result": CapabilitySet.from_dict(c["set"]).to_dict()}
        if op == "views":
            v = CapabilitySet.from_dict(c["set"]).views()
            hw = {k: x for k, x in vars(v.hardware).items() if x is not None and k != "gpu"}
            if v.hardware.gpu is not None:
                hw["gpu"] = {k: x for k, x in vars(v.hardware.gpu).items() if x is not None}
            sw = {
                "models": list(v.software.models),
                "tools": list(v.software.tools),
                "runtimes": dict(v.software.runtimes),
            }
            limits = {k: x for k, x in vars(v.limits).items() if x is not None}
            return {"result": {"hardware": hw, "software": sw, "limits": limits}}
        if op == "evaluate":
            p = Predicate.from_json(json.dumps(c["predicate"]))
            return {"matches": p.matches(CapabilitySet.from_dict(c["set"]))}
        if op == "predicate":
            return {"result": Predicate.from_json(json.dumps(c["predicate"])).to_dict()}
        if op == "validate":
            r = CapabilitySet.from_dict(c["set"]).validate()
            return {"valid": r.valid, "errors": pairs(r.errors), "warnings": pairs(r.warnings)}
        if op == "diff":
            before, after = CapabilitySet.from_dict(c["before"]), CapabilitySet.from_dict(c["after"])
            return {"result": after.diff(before).to_dict()}
        if op == "apply":
            s = CapabilitySet.from_dict(c["set"])
            return {"result": s.apply(CapabilityDiff.from_dict(c["diff"])).to_dict()}
        raise AssertionError(f"unknown op {op}")

    def case(c: dict[str, Any]) -> None:
        if "error" in c:
            expect_kind(c["error"], lambda: run(c))
            return
        got = run(c)
        for k, v in got.items():
            assert v == c[k], f"{k} is {v!r}, expected {c[k]!r}"

    return [(c["name"], lambda c=c: case(c)) for c in doc.get("capability", [])]


def subnet_units(doc: dict[str, Any]) -> list[tuple[str, Any]]:
    def run(c: dict[str, Any]) -> dict[str, Any]:
        op = c["op"]
        if op == "visible":
            pub, peer = SubnetId.parse(c["publisher"]), SubnetId.parse(c["peer"])
            try:
                vis = Visibility(c["visibility"])
            except ValueError:
                # Not a member: the engine names the kind.
                return {"allowed": _net.subnet_visible(c["visibility"], pub.value, peer.value)}
            return {"allowed": vis.allows(pub, peer)}
        if op == "parse":
            sid = SubnetId.parse(c["text"])
        elif op == "levels":
            sid = SubnetId.from_levels(*c["levels"])
        elif op == "value":
            sid = SubnetId(c["value"])
        else:
            policy = SubnetPolicy.from_json(json.dumps(c["policy"]))
            sid = policy.assign(CapabilitySet.from_dict(c["set"]))
        out: dict[str, Any] = {"result": str(sid)}
        if op in ("parse", "levels"):
            out["value"] = sid.value
        return out

    def case(c: dict[str, Any]) -> None:
        if "error" in c:
            expect_kind(c["error"], lambda: run(c))
            return
        for k, v in run(c).items():
            assert v == c[k], f"{k} is {v!r}, expected {c[k]!r}"

    return [(c["name"], lambda c=c: case(c)) for c in doc.get("subnet", [])]


def wire_units(doc: dict[str, Any]) -> list[tuple[str, Any]]:
    if "headers" not in doc:
        return []

    def header(h: dict[str, Any]) -> None:
        f = dict(h["fields"], nonce=bytes.fromhex(h["fields"]["nonce"]))
        f.update({k: int(f[k]) for k in ("session_id", "stream_id", "sequence")})
        hdr = NetHeader(**f)
        assert hdr.encode().hex() == h["hex"]
        assert NetHeader.decode(bytes.fromhex(h["hex"])) == hdr

    def routing(r: dict[str, Any]) -> None:
        rh = RoutingHeader(**dict(r["fields"], dest_id=int(r["fields"]["dest_id"])))
        assert rh.encode().hex() == r["hex"]
        assert RoutingHeader.decode(bytes.fromhex(r["hex"])) == rh

    def malformed(m: dict[str, Any]) -> None:
        decoder = NetHeader.decode if m["decoder"] == "header" else RoutingHeader.decode
        with pytest.raises(NetError) as info:
            decoder(bytes.fromhex(m["hex"]))
        assert info.value.kind == m["error"] and m["reason"] in str(info.value)

    return (
        [(h["hex"], lambda h=h: header(h)) for h in doc.get("headers", [])]
        + [(r["hex"], lambda r=r: routing(r)) for r in doc.get("routing_headers", [])]
        + [(m["reason"], lambda m=m: malformed(m)) for m in doc.get("malformed", [])]
    )


def record_units(doc: dict[str, Any]) -> list[tuple[str, Any]]:
    if "inline" not in doc:
        return []

    def heap(h: dict[str, Any]) -> None:
        payload = bytes.fromhex(h["payload_hex"])
        assert redex.encode_heap_record(int(h["seq"]), h["offset"], payload).hex() == h["hex"]
        r = redex.decode_record(bytes.fromhex(h["hex"]))
        assert (r.seq, r.offset, r.len, r.flags_checksum, r.inline) == (
            int(h["seq"]),
            h["offset"],
            len(payload),
            h["flags_checksum"],
            False,
        )

    def inline(i: dict[str, Any]) -> None:
        payload = bytes.fromhex(i["payload_hex"])
        assert redex.encode_inline_record(int(i["seq"]), payload).hex() == i["hex"]
        r = redex.decode_record(bytes.fromhex(i["hex"]))
        assert r.inline and r.inline_payload == payload and r.seq == int(i["seq"])

    return (
        [(h["hex"], lambda h=h: heap(h)) for h in doc["heap"]]
        + [(i["hex"], lambda i=i: inline(i)) for i in doc["inline"]]
        + [
            (
                m["hex"],
                lambda m=m: expect_kind(m["error"], lambda: redex.decode_record(bytes.fromhex(m["hex"]))),
            )
            for m in doc["malformed"]
        ]
    )


def frame_units(doc: dict[str, Any]) -> list[tuple[str, Any]]:
    if "frames" not in doc:
        return []

    def frame(f: dict[str, Any]) -> None:
        payload = bytes.fromhex(f["payload_hex"])
        framed = redex.frame_event(f["dispatch"], f["origin_hash"], int(f["seq_or_ts"]), payload)
        assert framed.hex() == f["hex"]
        meta, back = redex.unframe_event(framed)
        assert (meta.dispatch, meta.origin_hash, meta.seq_or_ts, back) == (
            f["dispatch"],
            f["origin_hash"],
            int(f["seq_or_ts"]),
            payload,
        )

    return [(f["hex"], lambda f=f: frame(f)) for f in doc["frames"]] + [
        (m["hex"], lambda m=m: expect_kind(m["error"], lambda: redex.unframe_event(bytes.fromhex(m["hex"]))))
        for m in doc["malformed"]
    ]


def mesh_units(doc: dict[str, Any]) -> list[tuple[str, Any]]:
    def bind(c: dict[str, Any]) -> None:
        # The engine's JSON entry point: the config object goes through unchanged.
        if "error" in c:
            expect_kind(c["error"], lambda: Mesh.from_config(c["config"]).close())
            return
        with Mesh.from_config(c["config"]) as mesh:
            assert mesh.local_addr.startswith("127.0.0.1:")
            if "public_key" in c:
                assert mesh.public_key.hex() == c["public_key"]
            if "node_id" in c:
                assert mesh.node_id == int(c["node_id"])

    return [(c["name"], lambda c=c: bind(c)) for c in doc.get("configs", [])]


@contextmanager
def connected_meshes() -> Iterator[tuple[Mesh, Mesh]]:
    """Nodes A and B on 127.0.0.1 with the network key 07…07, A connected to B."""
    key = bytes([7]) * 32
    with Mesh(key, bind="127.0.0.1:0") as a, Mesh(key, bind="127.0.0.1:0") as b:
        a.connect(b.local_addr, b.public_key)
        yield a, b


def records_units(doc: dict[str, Any]) -> list[tuple[str, Any]]:
    """mesh/records.json: the SDK's record fields and stream defaults."""
    if "records" not in doc:
        return []
    from dataclasses import fields

    from net_sdk.mesh import MeshStats, Message, StreamStats

    def python_name(name: str) -> str:
        return "from_" if name == "from" else name

    def names() -> None:
        records = doc["records"]
        for cls, key in ((MeshStats, "mesh_stats"), (StreamStats, "stream_stats"), (Message, "message")):
            got = sorted(f.name for f in fields(cls))
            assert got == sorted(python_name(n) for n in records[key]), f"{key}: {got}"

    def defaults() -> None:
        want = doc["stream_defaults"]
        with connected_meshes() as (a, b):
            plain = a.open_stream(b.node_id, 9)
            assert plain.stats().reliability == want["reliability"]
            assert a.open_stream(b.node_id, 10, reliable=True).stats().window == want["reliable_window"]
            plain.send(b"x")
            message = b.recv(timeout=10)
            assert message is not None and (message.from_, message.stream_id) == (a.node_id, 9)

    return [("record fields", names), ("stream defaults", defaults)]


def bus_link_units(doc: dict[str, Any]) -> list[tuple[str, Any]]:
    if "transfers" not in doc:
        return []

    def options(c: dict[str, Any]) -> None:
        # The options go to the engine as given, through the SDK's JSON entry point.
        with connected_meshes() as (a, b), NetNode() as outbox:

            def open_and_close() -> None:
                BusLink.from_config(a, outbox, b.node_id, c["options"]).close()

            if "error" in c:
                expect_kind(c["error"], open_and_close)
            else:
                open_and_close()

    def transfer(c: dict[str, Any]) -> None:
        events = [e.encode() for e in c["events"]]
        with connected_meshes() as (a, b), NetNode() as outbox, NetNode() as inbox:
            receive = dict(c["options"], direction="receive")
            send = dict(c["options"], direction="send")
            with BusLink.from_config(b, inbox, a.node_id, receive), BusLink.from_config(
                a, outbox, b.node_id, send
            ):
                for event in events:
                    outbox.emit_raw(event)
                got: list[bytes] = []
                cursor: str | None = None
                deadline = time.monotonic() + 10
                while len(got) < len(events) and time.monotonic() < deadline:
                    page = inbox.poll(256, cursor)
                    cursor = page.next_cursor
                    got.extend(e.raw for e in page.events)
                    if not page.events:
                        time.sleep(0.002)
                assert got == events, f"got {got!r}"

    return [(c["name"], lambda c=c: options(c)) for c in doc["options"]] + [
        (c["name"], lambda c=c: transfer(c)) for c in doc["transfers"]
    ]


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_file(path: Path) -> None:
    doc = json.loads(path.read_text())
    assert doc["abi_version"] == 1
    rel = f"{path.parent.name}/{path.name}"
    passed = failed = 0
    failures = []
    units = (
        ([("kinds", lambda: check_kinds(doc))] if "kinds" in doc else [])
        + identity_units(doc)
        + wire_units(doc)
        + record_units(doc)
        + frame_units(doc)
        + snapshot_units(doc)
        + open_units(doc)
        + mesh_units(doc)
        + bus_link_units(doc)
        + records_units(doc)
        + token_units(doc)
        + channel_units(doc)
        + channel_config_units(doc)
        + local_channel_units(doc)
        + typed_channel_units(doc)
        + capability_units(doc)
        + subnet_units(doc)
        + [(c["name"], lambda c=c: run_case(c)) for c in doc.get("cases", [])]
    )
    for name, unit in units:
        try:
            unit()
            passed += 1
        except (AssertionError, NetError) as e:
            failed += 1
            failures.append(f"{name}: {e}")
    RESULTS[rel] = [passed, failed]
    out = ROOT / "build" / "parity"
    out.mkdir(parents=True, exist_ok=True)
    (out / "python.tsv").write_text("".join(f"{f}\t{p}\t{x}\n" for f, (p, x) in sorted(RESULTS.items())))
    assert not failures, "\n".join(failures)


def test_compact_json_matches_the_typed_path() -> None:
    assert _compact({"a": [1, "é"]}) == '{"a":[1,"é"]}'.encode()
