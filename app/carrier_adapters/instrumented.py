"""Carrier calls timed and counted for the metrics, by carrier and operation, whoever calls.

The adapter handed out by ``CarrierAdapters.adapter_for`` is wrapped here, so every call
(sync, live search, releases, bookings, manifests) is measured at the one place adapters are
obtained, and ``carriers/`` stays free of the service's metrics.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from app import metrics
from carriers.base import CarrierAdapter, CarrierError
from carriers.fanout import BreakerBoard

# The Protocol's calls to a carrier (``aclose`` is not one).
OPERATIONS = frozenset(
    {
        "schedules",
        "allocation",
        "request_booking",
        "booking_status",
        "amend_booking",
        "cancel_booking",
        "release_units",
        "submit_manifest",
    }
)


class InstrumentedAdapter:
    """``adapter`` with each call of :data:`OPERATIONS` observed: latency, and outcome ``ok``,
    ``timeout``, ``cancelled``, or the error's class name; then the carrier's breaker state."""

    def __init__(self, adapter: CarrierAdapter, breakers: BreakerBoard) -> None:
        self._adapter = adapter
        self._breakers = breakers

    @property
    def wrapped(self) -> CarrierAdapter:
        return self._adapter

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._adapter, name)
        if name not in OPERATIONS:
            return value
        return self._timed(name, value)

    def _timed(self, operation: str, call: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        scac = self._adapter.scac

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            outcome = "ok"
            try:
                return await call(*args, **kwargs)
            except TimeoutError:
                outcome = "timeout"
                raise
            except asyncio.CancelledError:
                outcome = "cancelled"  # a fan-out's deadline passed
                raise
            except CarrierError as error:
                outcome = type(error).__name__
                raise
            except Exception as error:
                outcome = type(error).__name__
                raise
            finally:
                metrics.observe_carrier_call(scac, operation, outcome, time.perf_counter() - started)
                metrics.set_breaker_state(scac, self._breakers.for_carrier(scac).state)

        return timed


def instrumented(adapter: CarrierAdapter, breakers: BreakerBoard) -> CarrierAdapter:
    return cast(CarrierAdapter, InstrumentedAdapter(adapter, breakers))
