"""The process's carrier adapters and circuit breakers, made in ``create_app``, never at import.

Adapters keep what is worth keeping between calls (HTTP connection pools, OAuth2 tokens), so
one adapter per carrier lives as long as the process, rebuilt only when the carrier row's kind
or settings change. What they must remember beyond the process (releases, a simulated
carrier's state, interchange numbers) goes to the database through the `CarrierStore` handed
to them. Sealed credentials in the row's settings are opened only here, to build the adapter.
One ``BreakerBoard`` makes a carrier that keeps failing stop being called for a cool-down,
whoever triggers the sync.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from app.carrier_adapters.credentials import open_settings
from app.carrier_adapters.instrumented import instrumented
from app.carrier_adapters.store import DatabaseCarrierStore
from app.secrets import SecretBox
from carriers.base import CarrierAdapter
from carriers.fanout import BreakerBoard, BreakerState
from carriers.registry import build_adapter


class _Clock(Protocol):
    def app_now(self) -> datetime: ...


class Runtime(Protocol):
    """What building adapters takes from the process's runtime (app.runtime.Runtime), which
    holds these adapters in turn."""

    @property
    def engine(self) -> AsyncEngine: ...

    @property
    def clock(self) -> _Clock: ...

    @property
    def secrets(self) -> SecretBox: ...


class CarrierAdapters:
    """Adapter cache, breaker board and sync settings shared by every sync in a process.

    ``timeout`` is each carrier's budget for one schedules call (retries included),
    ``window_days`` how far ahead a sync looks, ``attempts`` how often a retryable failure is
    tried (schedules calls are idempotent).
    """

    def __init__(
        self,
        *,
        timeout: float = 15.0,
        window_days: int = 60,
        attempts: int = 3,
        backoff: float = 0.2,
        failure_threshold: int = 3,
        cool_down: float = 60.0,
    ) -> None:
        self.timeout = timeout
        self.window_days = window_days
        self.attempts = attempts
        self.backoff = backoff
        self.breakers = BreakerBoard(failure_threshold=failure_threshold, cool_down=cool_down)
        # Syncs in one process take turns: a manual trigger during a scheduled sync waits.
        self.sync_lock = asyncio.Lock()
        # By SCAC: the row's fingerprint, the engine the adapter's store writes to (None: an
        # adapter installed from outside, good for any), and the adapter.
        self._adapters: dict[str, tuple[str, int | None, CarrierAdapter]] = {}
        self._stores: dict[int, tuple[AsyncEngine, DatabaseCarrierStore]] = {}

    def store(self, rt: Runtime) -> DatabaseCarrierStore:
        """The carrier store over this runtime's database (one per engine)."""
        kept = self._stores.get(id(rt.engine))
        if kept is None or kept[0] is not rt.engine:
            kept = (rt.engine, DatabaseCarrierStore(rt.engine, rt.clock.app_now))
            self._stores[id(rt.engine)] = kept
        return kept[1]

    async def adapter_for(
        self, rt: Runtime, scac: str, kind: str, settings: Mapping[str, Any]
    ) -> CarrierAdapter:
        """The cached adapter of a carrier row, rebuilt if the row's kind or settings changed
        (or the runtime's database). Bad settings, or sealed credentials the configured keys
        cannot open, raise ValueError."""
        fingerprint = _fingerprint(kind, settings)
        cached = self._adapters.get(scac)
        if cached is not None and cached[0] == fingerprint and cached[1] in (None, id(rt.engine)):
            return instrumented(cached[2], self.breakers)
        opened = open_settings(rt.secrets, kind, settings)
        adapter = build_adapter(kind, scac, opened, clock=rt.clock.app_now, store=self.store(rt))
        self._adapters[scac] = (fingerprint, id(rt.engine), adapter)
        if cached is not None:
            await cached[2].aclose()
        return instrumented(adapter, self.breakers)

    async def adapters_for_rows(
        self, rt: Runtime, rows: Iterable[Any]
    ) -> tuple[dict[str, CarrierAdapter], dict[str, str]]:
        """Adapters for carrier rows by SCAC, and why a carrier has none (bad settings)."""
        adapters: dict[str, CarrierAdapter] = {}
        refused: dict[str, str] = {}
        for row in rows:
            try:
                adapters[row.scac] = await self.adapter_for(
                    rt, row.scac, row.adapter_kind, row.adapter_settings
                )
            except ValueError as error:
                refused[row.scac] = f"settings: {error}"
        return adapters, refused

    def install(self, scac: str, kind: str, settings: Mapping[str, Any], adapter: CarrierAdapter) -> None:
        """Use ``adapter`` for the carrier row with this kind and settings, as if built from it
        (an adapter built elsewhere, a test's scripted carrier); replaced when the row changes."""
        self._adapters[scac] = (_fingerprint(kind, settings), None, adapter)

    def cached(self, scac: str) -> CarrierAdapter | None:
        """The adapter built for ``scac``, if any (tests and demos inspect simulated carriers)."""
        cached = self._adapters.get(scac)
        return cached[2] if cached is not None else None

    def breaker_state(self, scac: str) -> BreakerState:
        return self.breakers.for_carrier(scac).state

    async def aclose(self) -> None:
        """Close every adapter (connections, files); the adapters may be used again after."""
        adapters = [adapter for _, _, adapter in self._adapters.values()]
        self._adapters.clear()
        for adapter in adapters:
            await adapter.aclose()


def _fingerprint(kind: str, settings: Mapping[str, Any]) -> str:
    return json.dumps([kind, settings], sort_keys=True, default=str)
