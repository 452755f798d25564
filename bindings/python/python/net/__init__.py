"""Net engine bindings (low level). Most applications use ``net_sdk``."""

from __future__ import annotations

import atexit
import importlib.util
import os
import struct
from types import ModuleType

from ._version import EXPECTED_ABI_VERSION, VERSION

_FIX = (
    f"reinstall netmesh {VERSION} for this platform (pip install --force-reinstall netmesh=={VERSION}; "
    "prebuilt for CPython >= 3.8 on Linux x86_64), or build it from source with a Rust toolchain "
    "(pip install --no-binary netmesh netmesh)"
)


def _damage(path: str) -> str | None:
    """Why the ELF shared library at ``path`` cannot be whole, or None.

    A truncated library is not refused by the dynamic loader: it maps the
    missing pages and the process dies of SIGBUS. Its headers tell first.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or len(head) < 64:
            return "not an ELF shared library"
        if head[4:6] != b"\x02\x01":  # only 64-bit little-endian files are looked into
            return None
        (phoff, shoff) = struct.unpack_from("<QQ", head, 0x20)
        (phentsize, phnum, shentsize, shnum) = struct.unpack_from("<HHHH", head, 0x36)
        if phoff + phnum * phentsize > size or shoff + shnum * shentsize > size:
            return f"truncated: {size} bytes"
        f.seek(phoff)
        table = f.read(phnum * phentsize)
    for i in range(phnum):
        (kind,) = struct.unpack_from("<I", table, i * phentsize)
        (offset,) = struct.unpack_from("<Q", table, i * phentsize + 8)
        (filesz,) = struct.unpack_from("<Q", table, i * phentsize + 32)
        if kind == 1 and offset + filesz > size:  # a loadable segment past the end
            return f"truncated: {size} bytes"
    return None


def _load_native() -> ModuleType:
    spec = importlib.util.find_spec("net._net")
    if spec is None or spec.origin is None:
        raise ImportError(f"netmesh: the native module net._net is missing; {_FIX}")
    damage = _damage(spec.origin) if spec.origin.endswith(".so") else None
    if damage is not None:
        raise ImportError(f"netmesh: the native module {spec.origin} is damaged ({damage}); {_FIX}")
    try:
        from . import _net
    except ImportError as e:  # a foreign or broken native module
        raise ImportError(f"netmesh: the native module net._net does not load ({e}); {_FIX}") from e
    return _net


_net = _load_native()

from .errors import ERRORS_BY_KIND, NetError  # noqa: E402 (registers the classes with _net, once checked)

ABI_VERSION: int = _net.ABI_VERSION
Bus = _net.Bus
Subscription = _net.Subscription
error_kinds = _net.error_kinds

if ABI_VERSION != EXPECTED_ABI_VERSION:  # pragma: no cover - only on a broken install
    raise ImportError(
        f"net: the native module speaks ABI {ABI_VERSION}, this package expects "
        f"{EXPECTED_ABI_VERSION}; {_FIX}"
    )

# At exit, threads still blocked in a Net wait must not re-enter the
# interpreter once it is finalizing (that would abort the process): the hook
# parks them instead. Registered first, so it runs after the user's hooks.
atexit.register(_net.at_exit)

__all__ = [
    "ABI_VERSION",
    "ERRORS_BY_KIND",
    "EXPECTED_ABI_VERSION",
    "VERSION",
    "Bus",
    "NetError",
    "Subscription",
    "_net",
    "error_kinds",
]
