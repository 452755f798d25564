"""Timeouts in seconds, as the engine takes them (one rule for every wait)."""

from __future__ import annotations

import math
from typing import Optional


def seconds_to_ms(seconds: Optional[float]) -> Optional[float]:
    """A wait's timeout in seconds as the engine's milliseconds. The engine
    checks it: NaN and negative values raise the area's ``invalid_argument``
    error (a ``ValueError`` too); ``None`` and ``math.inf`` mean no limit."""
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"a timeout is a number of seconds, not {type(seconds).__name__}")
    return float(seconds) * 1000.0


def config_ms(seconds: Optional[float]) -> Optional[float]:
    """A duration in seconds for the engine's JSON configuration: whole
    milliseconds when finite; NaN and infinities go through as they are, so
    the engine's configuration check rejects them with its own error."""
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"a duration is a number of seconds, not {type(seconds).__name__}")
    ms = float(seconds) * 1000.0
    return round(ms) if math.isfinite(ms) else ms
