"""The process's carrier adapters and circuit breakers, made in ``create_app``, never at import.

Adapters keep state worth keeping between syncs (HTTP connection pools, a simulated carrier's
script position), so one adapter per carrier lives as long as the process, rebuilt only when the
carrier row's kind or settings change. One ``BreakerBoard`` makes a carrier that keeps failing
stop being called for a cool-down, whoever triggers the sync.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from carriers.base import CarrierAdapter
from carriers.fanout import BreakerBoard, BreakerState
from carriers.registry import build_adapter


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
        self._adapters: dict[str, tuple[str, CarrierAdapter]] = {}

    async def adapter_for(
        self, scac: str, kind: str, settings: Mapping[str, Any], clock: Callable[[], datetime]
    ) -> CarrierAdapter:
        """The cached adapter of a carrier row, rebuilt if the row's kind or settings changed.
        Bad settings raise ValueError (from ``carriers.registry.build_adapter``)."""
        fingerprint = _fingerprint(kind, settings)
        cached = self._adapters.get(scac)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        adapter = build_adapter(kind, scac, settings, clock=clock)
        self._adapters[scac] = (fingerprint, adapter)
        if cached is not None:
            await cached[1].aclose()
        return adapter

    async def adapters_for_rows(
        self, rows: Iterable[Any], clock: Callable[[], datetime]
    ) -> tuple[dict[str, CarrierAdapter], dict[str, str]]:
        """Adapters for carrier rows by SCAC, and why a carrier has none (bad settings)."""
        adapters: dict[str, CarrierAdapter] = {}
        refused: dict[str, str] = {}
        for row in rows:
            try:
                adapters[row.scac] = await self.adapter_for(
                    row.scac, row.adapter_kind, row.adapter_settings, clock
                )
            except ValueError as error:
                refused[row.scac] = f"settings: {error}"
        return adapters, refused

    def install(self, scac: str, kind: str, settings: Mapping[str, Any], adapter: CarrierAdapter) -> None:
        """Use ``adapter`` for the carrier row with this kind and settings, as if built from it
        (an adapter built elsewhere, a test's scripted carrier); replaced when the row changes."""
        self._adapters[scac] = (_fingerprint(kind, settings), adapter)

    def cached(self, scac: str) -> CarrierAdapter | None:
        """The adapter built for ``scac``, if any (tests and demos inspect simulated carriers)."""
        cached = self._adapters.get(scac)
        return cached[1] if cached is not None else None

    def breaker_state(self, scac: str) -> BreakerState:
        return self.breakers.for_carrier(scac).state

    async def aclose(self) -> None:
        """Close every adapter (connections, files); the adapters may be used again after."""
        adapters = [adapter for _, adapter in self._adapters.values()]
        self._adapters.clear()
        for adapter in adapters:
            await adapter.aclose()


def _fingerprint(kind: str, settings: Mapping[str, Any]) -> str:
    return json.dumps([kind, settings], sort_keys=True, default=str)
