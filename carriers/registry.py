"""Build a carrier adapter from the kind and plain settings stored in a carrier row."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from carriers.base import CarrierAdapter
from carriers.dcsa import build_dcsa
from carriers.feed import build_feed
from carriers.simulated import build_simulated
from carriers.store import CarrierStore

KINDS = ("dcsa", "feed", "simulated")
# Settings that are credentials, by kind, as paths into the settings: stored sealed by the app,
# opened only to build the adapter, never shown back.
SECRET_SETTINGS: dict[str, tuple[tuple[str, ...], ...]] = {
    "dcsa": (("token",), ("oauth2", "client_secret")),
}


def build_adapter(
    kind: str,
    scac: str,
    settings: Mapping[str, Any],
    *,
    clock: Callable[[], datetime] | None = None,
    store: CarrierStore | None = None,
) -> CarrierAdapter:
    """An adapter of `kind` for carrier `scac`. Unknown kinds and bad settings raise ValueError.

    `clock` (UTC now) is for tests and demos; the default is the wall clock. `store` keeps
    what the adapter must remember across restarts and replicas (carriers/store.py); without
    one, the adapter remembers in memory only.
    """
    if not scac or not scac.isalnum() or len(scac) > 4:
        raise ValueError(f"bad SCAC {scac!r}: 2-4 letters or digits")
    if kind == "dcsa":
        return build_dcsa(scac, settings, clock=clock, store=store)
    if kind == "feed":
        return build_feed(scac, settings, clock=clock, store=store)
    if kind == "simulated":
        return build_simulated(scac, settings, clock=clock, store=store)
    raise ValueError(f"unknown carrier kind {kind!r}; expected one of {', '.join(KINDS)}")
