"""Prometheus metric families of the service, and their exposition.

Every family is a ``prometheus_client`` object updated in memory where the thing happens (a
counter increment costs well under a microsecond and no I/O): nothing on the hold path waits
for metrics. Figures that live in the database (outbox backlog, oldest undelivered event) are
read at scrape time by one cheap query, at most once per :data:`DATABASE_FIGURES_MAX_AGE`.

Several processes (uvicorn workers, ``slotpool worker``): with ``PROMETHEUS_MULTIPROC_DIR``
set (an empty directory, the same for every process of one host, emptied at each deploy),
prometheus_client writes each process's values to files there and a scrape of any process
adds them up (gauges as each declares: ``livesum``, ``livemax``, ``mostrecent``). Without it,
each process has its own registry and a scrape answers for the process that served it.

Imports nothing from the rest of the service: every package may instrument itself.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
# Database figures are read again at a scrape only when older than this (seconds).
DATABASE_FIGURES_MAX_AGE: Final = 5.0

_LAG_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
_CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HOLDS_PLACED = Counter("slotpool_holds_placed_total", "Holds placed", ["load"])
HOLDS_REFUSED = Counter("slotpool_holds_refused_total", "Holds refused, by problem type", ["reason"])
BOOKING_TRANSITIONS = Counter(
    "slotpool_booking_transitions_total", "Booking state transitions, by event type", ["transition"]
)
HOLD_EXPIRY_LAG = Histogram(
    "slotpool_hold_expiry_lag_seconds",
    "From a hold's expires_at to its expiry (sweeper or lazy reclaim), database time",
    buckets=_LAG_BUCKETS,
)
SWEEP_BATCH_SIZE = Histogram(
    "slotpool_sweep_batch_holds",
    "Holds expired per sweeper batch (one transaction)",
    buckets=(0, 1, 10, 50, 100, 250, 500, 1000, 2000, 4000, 8000),
)
SWEEP_BATCH_DURATION = Histogram(
    "slotpool_sweep_batch_duration_seconds", "Duration of one sweeper batch", buckets=_CALL_BUCKETS
)
JOB_RUNS = Counter("slotpool_job_runs_total", "Job runs (leader runs only for single-leader jobs)", ["job"])
JOB_FAILURES = Counter("slotpool_job_failures_total", "Job runs that raised", ["job"])
JOB_DURATION = Histogram(
    "slotpool_job_duration_seconds", "Duration of a job run", ["job"], buckets=_CALL_BUCKETS
)
JOB_LAST_SUCCESS = Gauge(
    "slotpool_job_last_success_timestamp_seconds",
    "Unix time of a job's last successful run in any process",
    ["job"],
    multiprocess_mode="max",
)
CARRIER_CALLS = Counter(
    "slotpool_carrier_calls_total", "Carrier adapter calls", ["carrier", "operation", "outcome"]
)
CARRIER_CALL_DURATION = Histogram(
    "slotpool_carrier_call_duration_seconds",
    "Carrier adapter call latency",
    ["carrier", "operation"],
    buckets=_CALL_BUCKETS,
)
BREAKER_STATE = Gauge(
    "slotpool_carrier_breaker_state",
    "Circuit breaker of a carrier: 0 closed, 1 half open, 2 open (the worst of live processes)",
    ["carrier"],
    multiprocess_mode="livemax",
)
OUTBOX_BACKLOG = Gauge(
    "slotpool_outbox_backlog",
    "Events not yet sequenced into the feed, and webhook deliveries still pending (capped)",
    ["stage"],
    multiprocess_mode="mostrecent",
)
OUTBOX_OLDEST_AGE = Gauge(
    "slotpool_outbox_oldest_undelivered_age_seconds",
    "Age of the oldest event not yet sequenced or webhook delivery still pending; 0 if none",
    multiprocess_mode="mostrecent",
)
WEBHOOK_DELIVERY_LAG = Histogram(
    "slotpool_webhook_delivery_lag_seconds",
    "From an event's creation to its delivery to an endpoint",
    buckets=_LAG_BUCKETS,
)
DB_POOL_IN_USE = Gauge(
    "slotpool_db_pool_connections_in_use",
    "Database connections checked out of the pool (summed over live processes)",
    multiprocess_mode="livesum",
)

BREAKER_CODES: Final = {"closed": 0, "half_open": 1, "open": 2}


def observe_carrier_call(carrier: str, operation: str, outcome: str, seconds: float) -> None:
    CARRIER_CALLS.labels(carrier, operation, outcome).inc()
    CARRIER_CALL_DURATION.labels(carrier, operation).observe(seconds)


def set_breaker_state(carrier: str, state: str) -> None:
    BREAKER_STATE.labels(carrier).set(BREAKER_CODES.get(state, 0))


def observe_job(job: str, seconds: float, *, failed: bool) -> None:
    JOB_RUNS.labels(job).inc()
    JOB_DURATION.labels(job).observe(seconds)
    if failed:
        JOB_FAILURES.labels(job).inc()
    else:
        JOB_LAST_SUCCESS.labels(job).set(time.time())


def instrument_pool(engine: AsyncEngine) -> None:
    """Count the engine's checked-out connections in :data:`DB_POOL_IN_USE` (in memory, per
    checkout and checkin)."""
    pool = engine.sync_engine.pool
    if getattr(pool, "_slotpool_instrumented", False):
        return
    event.listen(pool, "checkout", _checked_out)
    event.listen(pool, "checkin", _checked_in)
    pool._slotpool_instrumented = True  # type: ignore[attr-defined]


def _checked_out(*_: Any) -> None:
    DB_POOL_IN_USE.inc()


def _checked_in(*_: Any) -> None:
    DB_POOL_IN_USE.dec()


class DatabaseFigures:
    """Scrape-time figures read from the database by ``read`` (which sets the gauges), at most
    once per :data:`DATABASE_FIGURES_MAX_AGE` seconds however often Prometheus scrapes."""

    def __init__(self, read: Callable[[], Awaitable[None]]) -> None:
        self._read = read
        self._read_at = float("-inf")

    async def refresh(self) -> None:
        if time.monotonic() - self._read_at < DATABASE_FIGURES_MAX_AGE:
            return
        self._read_at = time.monotonic()
        await self._read()


def exposition() -> bytes:
    """The Prometheus text format of every family: this process's, or every process's when
    ``PROMETHEUS_MULTIPROC_DIR`` is set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def mark_dead_process(pid: int) -> None:
    """Forget a stopped process's live gauges (multiprocess mode only)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
