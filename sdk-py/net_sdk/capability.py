"""Capabilities: what a node can do, as tags and metadata; the predicates that
ask for it; subnets.

Every operation runs in the engine, so a set or predicate built here means
exactly what it means in Rust, Go, TypeScript or C.

>>> caps = CapabilitySet(["inference"]).with_hardware(
...     Hardware(cpu_cores=16, memory_gb=64, gpu=Gpu(vendor="nvidia", vram_gb=24)))
>>> want = Predicate.exists("hardware.gpu") & Predicate.at_least("hardware.gpu.vram_gb", 16)
>>> want.matches(caps)
True
>>> SubnetId.parse("3.7")
SubnetId('3.7.0.0')
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, Iterable, List, Mapping, Optional, Tuple

from net import _net
from net.errors import InvalidCapabilityDiffError

__all__ = [
    "CapabilityDiff",
    "CapabilitySet",
    "CapabilityViews",
    "Gpu",
    "Hardware",
    "Issue",
    "Limits",
    "Predicate",
    "Software",
    "SubnetId",
    "SubnetPolicy",
    "SubnetRule",
    "ValidationReport",
    "Visibility",
]


def _drop_none(d: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


@dataclass(frozen=True)
class Gpu:
    """A GPU (the ``hardware.gpu.*`` tags)."""

    vendor: Optional[str] = None
    model: Optional[str] = None
    vram_gb: Optional[float] = None
    count: Optional[int] = None

    def _json(self) -> Dict[str, Any]:
        return _drop_none(self.__dict__)


@dataclass(frozen=True)
class Hardware:
    """The hardware view (the ``hardware.*`` tags)."""

    cpu_cores: Optional[int] = None
    cpu_threads: Optional[int] = None
    memory_gb: Optional[float] = None
    gpu: Optional[Gpu] = None

    def _json(self) -> Dict[str, Any]:
        out = _drop_none(
            {"cpu_cores": self.cpu_cores, "cpu_threads": self.cpu_threads, "memory_gb": self.memory_gb}
        )
        if self.gpu is not None:
            out["gpu"] = self.gpu._json()
        return out

    @classmethod
    def _from(cls, d: Mapping[str, Any]) -> Hardware:
        gpu = d.get("gpu")
        return cls(
            cpu_cores=d.get("cpu_cores"),
            cpu_threads=d.get("cpu_threads"),
            memory_gb=d.get("memory_gb"),
            gpu=Gpu(**gpu) if gpu is not None else None,
        )


@dataclass(frozen=True)
class Software:
    """The software view: models and tools (many each), runtime versions by name."""

    models: Tuple[str, ...] = ()
    tools: Tuple[str, ...] = ()
    runtimes: Mapping[str, str] = field(default_factory=dict)

    def _json(self) -> Dict[str, Any]:
        return {"models": list(self.models), "tools": list(self.tools), "runtimes": dict(self.runtimes)}


@dataclass(frozen=True)
class Limits:
    """The limits view (the ``limits.*`` tags)."""

    max_concurrent: Optional[int] = None
    max_payload_bytes: Optional[int] = None
    max_rate_per_sec: Optional[float] = None

    def _json(self) -> Dict[str, Any]:
        return _drop_none(self.__dict__)


@dataclass(frozen=True)
class CapabilityViews:
    """The typed views of a set's tags."""

    hardware: Hardware
    software: Software
    limits: Limits


@dataclass(frozen=True)
class Issue:
    """One finding of :meth:`CapabilitySet.validate`."""

    code: str
    key: str
    message: str


@dataclass(frozen=True)
class ValidationReport:
    """Errors an operator must fix; warnings about hygiene or forward compatibility."""

    valid: bool
    errors: Tuple[Issue, ...]
    warnings: Tuple[Issue, ...]

    def __bool__(self) -> bool:
        return self.valid


@dataclass(frozen=True)
class CapabilityDiff:
    """What changed between two sets (see :meth:`CapabilitySet.diff`)."""

    added: Tuple[str, ...] = ()
    removed: Tuple[str, ...] = ()
    metadata_set: Mapping[str, str] = field(default_factory=dict)
    metadata_removed: Tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.metadata_set or self.metadata_removed)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "metadata_set": dict(self.metadata_set),
            "metadata_removed": list(self.metadata_removed),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CapabilityDiff:
        """Reads a diff (``InvalidCapabilityDiffError`` for an unknown field)."""
        unknown = set(d) - {"added", "removed", "metadata_set", "metadata_removed"}
        if unknown:
            raise InvalidCapabilityDiffError(f"not a capability diff: unknown fields {sorted(unknown)}")
        return cls(
            added=tuple(d.get("added", ())),
            removed=tuple(d.get("removed", ())),
            metadata_set=dict(d.get("metadata_set", {})),
            metadata_removed=tuple(d.get("metadata_removed", ())),
        )


class CapabilitySet:
    """Tags (``"gpu"``, ``"nrpc:echo"``, ``"hardware.memory_gb=64"``) and metadata.

    Immutable and always canonical: the constructor and every ``with_*``
    method check the set in the engine (``InvalidCapabilityTagError``,
    ``InvalidCapabilitySetError``) and return tags sorted by key, then value.
    """

    __slots__ = ("_metadata", "_tags")

    def __init__(self, tags: Iterable[str] = (), metadata: Optional[Mapping[str, str]] = None) -> None:
        raw = {"tags": list(tags), "metadata": dict(metadata or {})}
        self._tags: Tuple[str, ...] = ()
        self._metadata: Dict[str, str] = {}
        self._load(_net.capability_normalize(json.dumps(raw)))

    def _load(self, canonical: str) -> None:
        d = json.loads(canonical)
        self._tags = tuple(d["tags"])
        self._metadata = dict(d["metadata"])

    @classmethod
    def _canonical(cls, text: str) -> CapabilitySet:
        out = cls.__new__(cls)
        out._load(text)
        return out

    @classmethod
    def from_json(cls, text: str) -> CapabilitySet:
        """Reads a set from its JSON (typed ``hardware``/``software``/``limits`` sections allowed)."""
        return cls._canonical(_net.capability_normalize(text))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CapabilitySet:
        return cls.from_json(json.dumps(d))

    @property
    def tags(self) -> Tuple[str, ...]:
        return self._tags

    @property
    def metadata(self) -> Dict[str, str]:
        return dict(self._metadata)

    def to_dict(self) -> Dict[str, Any]:
        return {"tags": list(self._tags), "metadata": dict(self._metadata)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    def _with(self, **extra: Any) -> CapabilitySet:
        d: Dict[str, Any] = self.to_dict()
        d.update(extra)
        return CapabilitySet.from_dict(d)

    def with_tags(self, *tags: str) -> CapabilitySet:
        return self._with(tags=list(self._tags) + list(tags))

    def with_metadata(self, key: str, value: str) -> CapabilitySet:
        return self._with(metadata={**self._metadata, key: value})

    def with_hardware(self, hardware: Hardware) -> CapabilitySet:
        return self._with(hardware=hardware._json())

    def with_software(self, software: Software) -> CapabilitySet:
        return self._with(software=software._json())

    def with_limits(self, limits: Limits) -> CapabilitySet:
        return self._with(limits=limits._json())

    def views(self) -> CapabilityViews:
        d = json.loads(_net.capability_views(self.to_json()))
        sw = d["software"]
        return CapabilityViews(
            hardware=Hardware._from(d["hardware"]),
            software=Software(tuple(sw["models"]), tuple(sw["tools"]), dict(sw["runtimes"])),
            limits=Limits(**d["limits"]),
        )

    def validate(self) -> ValidationReport:
        d = json.loads(_net.capability_validate(self.to_json()))

        def issues(key: str) -> Tuple[Issue, ...]:
            return tuple(Issue(i["code"], i["key"], i["message"]) for i in d[key])

        return ValidationReport(d["valid"], issues("errors"), issues("warnings"))

    def diff(self, prev: CapabilitySet) -> CapabilityDiff:
        """What changed from ``prev`` to this set: ``prev.apply(diff) == self``."""
        return CapabilityDiff.from_dict(json.loads(_net.capability_diff(prev.to_json(), self.to_json())))

    def apply(self, diff: CapabilityDiff) -> CapabilitySet:
        """This set with ``diff`` applied.

        ``InvalidCapabilityDiffError`` when the diff was taken against another set.
        """
        return CapabilitySet._canonical(_net.capability_apply(self.to_json(), diff.to_json()))

    def __contains__(self, tag: object) -> bool:
        return tag in self._tags

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CapabilitySet) and (self._tags, self._metadata) == (
            other._tags,
            other._metadata,
        )

    def __hash__(self) -> int:
        return hash((self._tags, tuple(sorted(self._metadata.items()))))

    def __repr__(self) -> str:
        meta = f", metadata={self._metadata!r}" if self._metadata else ""
        return f"CapabilitySet({list(self._tags)!r}{meta})"


class Predicate:
    """A question about a capability set, evaluated in the engine.

    Build with the static methods and combine with ``&``, ``|`` and ``~``::

        Predicate.exists("hardware.gpu") & ~Predicate.one_of("region", ["cn"])
    """

    __slots__ = ("_node",)

    def __init__(self, node: Mapping[str, Any]) -> None:
        self._node: Dict[str, Any] = dict(node)

    @staticmethod
    def exists(key: str) -> Predicate:
        """The key is a tag (bare or with a value) or a metadata key."""
        return Predicate({"exists": key})

    @staticmethod
    def equals(key: str, value: str | float) -> Predicate:
        """A value of the key is this text (or reads as this number)."""
        return Predicate({"equals": {"key": key, "value": value}})

    @staticmethod
    def at_least(key: str, value: float) -> Predicate:
        return Predicate({"numeric_at_least": {"key": key, "value": value}})

    @staticmethod
    def at_most(key: str, value: float) -> Predicate:
        return Predicate({"numeric_at_most": {"key": key, "value": value}})

    @staticmethod
    def semver_compatible(key: str, version: str) -> Predicate:
        """A value is a version compatible with ``version`` (same major, not older)."""
        return Predicate({"semver_compatible": {"key": key, "version": version}})

    @staticmethod
    def one_of(key: str, values: Iterable[str]) -> Predicate:
        return Predicate({"in": {"key": key, "values": list(values)}})

    @staticmethod
    def all_of(*parts: Predicate) -> Predicate:
        """Every part holds (true when there are none)."""
        return Predicate({"and": [p._node for p in parts]})

    @staticmethod
    def any_of(*parts: Predicate) -> Predicate:
        """Some part holds (false when there are none)."""
        return Predicate({"or": [p._node for p in parts]})

    def __and__(self, other: Predicate) -> Predicate:
        left = self._node["and"] if list(self._node) == ["and"] else [self._node]
        return Predicate({"and": [*left, other._node]})

    def __or__(self, other: Predicate) -> Predicate:
        left = self._node["or"] if list(self._node) == ["or"] else [self._node]
        return Predicate({"or": [*left, other._node]})

    def __invert__(self) -> Predicate:
        return Predicate({"not": self._node})

    @classmethod
    def from_json(cls, text: str) -> Predicate:
        """Reads a predicate (``InvalidPredicateError`` when it is not one); canonical form."""
        return cls(json.loads(_net.predicate_normalize(text)))

    def to_dict(self) -> Dict[str, Any]:
        return json.loads(json.dumps(self._node))

    def to_json(self) -> str:
        return json.dumps(self._node, ensure_ascii=False)

    def matches(self, caps: CapabilitySet) -> bool:
        return _net.predicate_evaluate(self.to_json(), caps.to_json())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Predicate) and self._node == other._node

    def __hash__(self) -> int:
        return hash(self.to_json())

    def __repr__(self) -> str:
        return f"Predicate({self.to_json()})"


@dataclass(frozen=True, order=True)
class SubnetId:
    """A subnet: four levels (region, fleet, vehicle, subsystem), one byte each.

    ``value`` is the 32-bit encoding (outermost level in the high byte);
    ``SubnetId.GLOBAL`` (0) is the root above every subnet.
    """

    value: int

    GLOBAL: ClassVar[SubnetId]

    def __post_init__(self) -> None:
        _net.subnet_format(self.value)  # InvalidSubnetError for a bad encoding

    @classmethod
    def parse(cls, text: str) -> SubnetId:
        """Reads ``"3.7"`` or ``"3.7.0.0"``."""
        return cls(_net.subnet_parse(text))

    @classmethod
    def from_levels(cls, *levels: int) -> SubnetId:
        return cls(_net.subnet_from_levels(list(levels)))

    @property
    def levels(self) -> Tuple[int, ...]:
        out: List[int] = []
        for shift in (24, 16, 8, 0):
            b = (self.value >> shift) & 0xFF
            if b == 0:
                break
            out.append(b)
        return tuple(out)

    def __str__(self) -> str:
        return _net.subnet_format(self.value)

    def __repr__(self) -> str:
        return f"SubnetId({str(self)!r})"


SubnetId.GLOBAL = SubnetId(0)


class Visibility(str, enum.Enum):
    """Which subnets take part in a channel."""

    GLOBAL = "global"
    SUBNET_LOCAL = "subnet_local"
    PARENT_VISIBLE = "parent_visible"

    def allows(self, publisher: SubnetId, peer: SubnetId) -> bool:
        """Whether a peer in ``peer`` takes part in a channel published from ``publisher``."""
        return _net.subnet_visible(self.value, publisher.value, peer.value)


@dataclass
class SubnetRule:
    """Tags starting with ``prefix`` set one level: the rest of the tag is looked up in ``values``."""

    prefix: str
    level: int
    values: Dict[str, int] = field(default_factory=dict)

    def map(self, remainder: str, byte: int) -> SubnetRule:
        self.values[remainder] = byte
        return self


@dataclass
class SubnetPolicy:
    """Derives a node's subnet from its tags; every node applies the same policy to every peer."""

    rules: List[SubnetRule] = field(default_factory=list)

    def add_rule(self, rule: SubnetRule) -> SubnetPolicy:
        self.rules.append(rule)
        return self

    def to_json(self) -> str:
        return json.dumps(
            {"rules": [{"prefix": r.prefix, "level": r.level, "values": r.values} for r in self.rules]}
        )

    @classmethod
    def from_json(cls, text: str) -> SubnetPolicy:
        """Reads a policy; ``InvalidSubnetPolicyError`` when the engine refuses it."""
        _net.subnet_assign(text, "{}")
        d = json.loads(text)
        return cls([SubnetRule(r["prefix"], r["level"], dict(r["values"])) for r in d["rules"]])

    def assign(self, caps: CapabilitySet) -> SubnetId:
        return SubnetId(_net.subnet_assign(self.to_json(), caps.to_json()))
