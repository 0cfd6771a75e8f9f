"""Purge (daily): idempotency records past retention, and events past the feed's retention
that no webhook endpoint is owed any more.

A single-leader job (one run per interval across replicas): deleting the same rows from several
replicas would only contend. Rows go in batches, each its own short transaction. An event is
purged only once it is sequenced and fanned out and every endpoint entitled to it has had it or
given up (app/webhooks/repository.purge_events).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec
import structlog
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import Settings
from app.db import table_of, transaction
from app.events.models import IdempotencyRecord
from app.feed.repository import read_cursor
from app.jobs.job import ScheduledJob
from app.runtime import Runtime
from app.webhooks.delivery import WEBHOOKS
from app.webhooks.repository import purge_events

JOB_ID = "purge"
log = structlog.get_logger("slotpool.jobs")

_records = table_of(IdempotencyRecord)


class Purged(msgspec.Struct, frozen=True, kw_only=True):
    idempotency_records: int
    outbox_events: int


def scheduled(settings: Settings) -> ScheduledJob:
    return ScheduledJob(id=JOB_ID, every_seconds=settings.purge_interval_seconds, run=run, single_leader=True)


async def run(rt: Runtime) -> Purged:
    """Delete what is past retention by the database clock; returns how many rows went."""
    settings = rt.settings
    records_cutoff = rt.clock.now_sql(rt.dialect, -settings.idempotency_retention_hours * 3600.0)
    events_cutoff = rt.clock.now_sql(rt.dialect, -settings.outbox_retention_days * 86400.0)
    old_records = select(_records.c.id).where(_records.c.created_at < records_cutoff)
    statement = delete(_records).where(
        _records.c.id.in_(old_records.limit(settings.purge_batch_size).scalar_subquery())
    )

    async def records_batch(conn: AsyncConnection) -> int:
        return (await conn.execute(statement)).rowcount

    async def events_batch(conn: AsyncConnection) -> int:
        fanned_out = await read_cursor(conn, WEBHOOKS)
        return await purge_events(conn, events_cutoff, fanned_out, settings.purge_batch_size)

    purged = Purged(
        idempotency_records=await _in_batches(rt, records_batch, settings.purge_batch_size),
        outbox_events=await _in_batches(rt, events_batch, settings.purge_batch_size),
    )
    if purged.idempotency_records or purged.outbox_events:
        log.info("purge.done", **msgspec.structs.asdict(purged))
    return purged


async def _in_batches(
    rt: Runtime, batch: Callable[[AsyncConnection], Awaitable[int]], batch_size: int
) -> int:
    """Run ``batch`` (deleting at most ``batch_size`` rows) until it deletes fewer."""
    total = 0
    while True:
        async with transaction(rt.engine) as conn:
            deleted = await batch(conn)
        total += deleted
        if deleted < batch_size:
            return total
