"""Expire holds (~1 s): release overdue holds in batches, each batch its own transaction.

Every replica may run it at once: a batch locks its holds with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so two sweepers (or a sweeper and a confirm) never take the same hold. A cancelled
run rolls back only the batch in flight; the committed ones stay done, the rest waits for the
next run.
"""

from __future__ import annotations

import time

import structlog

from app import metrics
from app.config import Settings
from app.db import transaction
from app.jobs.job import ScheduledJob
from app.reservations import space
from app.runtime import Runtime

JOB_ID = "expire-holds"
MAX_BATCH_GROWTH = 8
log = structlog.get_logger("slotpool.jobs")


def scheduled(settings: Settings) -> ScheduledJob:
    return ScheduledJob(id=JOB_ID, every_seconds=settings.expire_interval_seconds, run=run)


async def run(rt: Runtime) -> int:
    """The scheduled run, with the batch size and time budget from settings."""
    return await expire_overdue_holds(
        rt, batch_size=rt.settings.expire_batch_size, budget_seconds=rt.settings.expire_time_budget_seconds
    )


async def expire_overdue_holds(rt: Runtime, *, batch_size: int, budget_seconds: float) -> int:
    """Expire holds overdue by the database clock until none is left or ``budget_seconds`` are
    spent; returns how many this run expired.

    Batches start at ``batch_size`` holds per transaction and double while they come back full,
    up to eight times that: steady churn keeps transactions short, a backlog (a worker back from
    downtime) is cleared in fewer, larger ones.
    """
    deadline = time.monotonic() + budget_seconds
    total, size = 0, batch_size
    while True:
        batch_started = time.monotonic()
        async with transaction(rt.engine) as conn:
            expired = await space.expire_holds(conn, rt.clock.shift(), limit=size)
        metrics.SWEEP_BATCH_DURATION.observe(time.monotonic() - batch_started)
        metrics.SWEEP_BATCH_SIZE.observe(expired)
        total += expired
        # A short batch means nothing overdue is left that another sweeper has not locked.
        # On shutdown the batch in hand is committed and the rest left to the next sweeper.
        if expired < size or time.monotonic() >= deadline or rt.stopping.is_set():
            break
        size = min(size * 2, batch_size * MAX_BATCH_GROWTH)
    if total:
        log.info("holds.expired", count=total)
    return total
