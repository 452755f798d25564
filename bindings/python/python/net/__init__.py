"""Net engine bindings (low level). Most applications use ``net_sdk``."""

from __future__ import annotations

import atexit

from . import _net
from ._net import ABI_VERSION, Bus, Subscription, error_kinds
from .errors import ERRORS_BY_KIND, NetError

#: The ABI version this package was written for.
EXPECTED_ABI_VERSION = 1

if ABI_VERSION != EXPECTED_ABI_VERSION:  # pragma: no cover - only on a broken install
    raise ImportError(
        f"net: the native module speaks ABI {ABI_VERSION}, this package expects "
        f"{EXPECTED_ABI_VERSION}; reinstall netmesh"
    )

# At exit, threads still blocked in a Net wait must not re-enter the
# interpreter once it is finalizing (that would abort the process): the hook
# parks them instead. Registered first, so it runs after the user's hooks.
atexit.register(_net.at_exit)

__all__ = ["ABI_VERSION", "ERRORS_BY_KIND", "Bus", "NetError", "Subscription", "_net", "error_kinds"]
