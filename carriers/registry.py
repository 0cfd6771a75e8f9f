"""Build a carrier adapter from the kind and plain settings stored in a carrier row."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from carriers.base import CarrierAdapter
from carriers.dcsa import build_dcsa
from carriers.feed import build_feed
from carriers.simulated import build_simulated

KINDS = ("dcsa", "feed", "simulated")


def build_adapter(
    kind: str,
    scac: str,
    settings: Mapping[str, Any],
    *,
    clock: Callable[[], datetime] | None = None,
) -> CarrierAdapter:
    """An adapter of `kind` for carrier `scac`. Unknown kinds and bad settings raise ValueError.

    `clock` (UTC now) is for tests and demos; the default is the wall clock.
    """
    if not scac or not scac.isalnum() or len(scac) > 4:
        raise ValueError(f"bad SCAC {scac!r}: 2-4 letters or digits")
    if kind == "dcsa":
        return build_dcsa(scac, settings, clock=clock)
    if kind == "feed":
        return build_feed(scac, settings, clock=clock)
    if kind == "simulated":
        return build_simulated(scac, settings, clock=clock)
    raise ValueError(f"unknown carrier kind {kind!r}; expected one of {', '.join(KINDS)}")
