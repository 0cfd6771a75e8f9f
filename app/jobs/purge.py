"""Purge (daily): idempotency records past retention and outbox events delivered long ago.

A single-leader job: deleting the same rows from several replicas would only contend. Rows go
in batches, each its own short transaction under the leader lock; a replica that loses the lock
stops, the leader carries on. Undelivered events are never purged.
"""

from __future__ import annotations

from typing import Any

import msgspec
import structlog
from sqlalchemy import Select, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import Settings
from app.db import table_of
from app.events.models import IdempotencyRecord, OutboxEvent
from app.jobs.job import ScheduledJob
from app.jobs.leader import Skipped, run_as_leader
from app.runtime import Runtime

JOB_ID = "purge"
# Advisory lock key, fixed for this job; each single-leader job has its own.
LEADER_KEY = 0x5107_0001
log = structlog.get_logger("slotpool.jobs")

_records = table_of(IdempotencyRecord)
_outbox = table_of(OutboxEvent)


class Purged(msgspec.Struct, frozen=True, kw_only=True):
    idempotency_records: int
    outbox_events: int


def scheduled(settings: Settings) -> ScheduledJob:
    return ScheduledJob(
        id=JOB_ID, every_seconds=settings.purge_interval_seconds, run=run, leader_key=LEADER_KEY
    )


async def run(rt: Runtime) -> Purged:
    """Delete what is past retention by the database clock; returns how many rows went."""
    settings = rt.settings
    records_cutoff = rt.clock.now_sql(rt.dialect, -settings.idempotency_retention_hours * 3600.0)
    events_cutoff = rt.clock.now_sql(rt.dialect, -settings.outbox_retention_days * 86400.0)
    old_records = select(_records.c.id).where(_records.c.created_at < records_cutoff)
    delivered = select(_outbox.c.id).where(
        _outbox.c.delivered_at.is_not(None), _outbox.c.delivered_at < events_cutoff
    )
    purged = Purged(
        idempotency_records=await _in_batches(rt, _records, old_records, settings.purge_batch_size),
        outbox_events=await _in_batches(rt, _outbox, delivered, settings.purge_batch_size),
    )
    if purged.idempotency_records or purged.outbox_events:
        log.info("purge.done", **msgspec.structs.asdict(purged))
    return purged


async def _in_batches(rt: Runtime, table: Table, doomed: Select[Any], batch_size: int) -> int:
    """Delete the rows of ``table`` whose ids ``doomed`` selects, ``batch_size`` at a time."""
    statement = delete(table).where(table.c.id.in_(doomed.limit(batch_size).scalar_subquery()))

    async def batch(conn: AsyncConnection) -> int:
        return (await conn.execute(statement)).rowcount

    total = 0
    while True:
        deleted = await run_as_leader(rt, LEADER_KEY, batch)
        if isinstance(deleted, Skipped):
            return total
        total += deleted
        if deleted < batch_size:
            return total
