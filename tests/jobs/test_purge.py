"""The purge job removes only what is past retention: idempotency records older than the
retention, outbox events delivered longer ago than theirs; never undelivered events."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import insert, select

from app.db import table_of, transaction
from app.events.models import IdempotencyRecord, OutboxEvent
from app.jobs import purge
from app.jobs.purge import Purged
from app.runtime import Runtime
from tests.factories import World

records = table_of(IdempotencyRecord)
outbox = table_of(OutboxEvent)
HOUR = 3600.0
DAY = 86400.0


async def add_record(rt: Runtime, world: World, age_seconds: float, state: str = "done") -> uuid.UUID:
    record_id = uuid.uuid4()
    created = rt.clock.now_sql(rt.dialect, -age_seconds)
    async with transaction(rt.engine) as conn:
        await conn.execute(
            insert(records).values(
                id=record_id,
                api_key_id=world.shipper.actor.api_key_id,
                key=record_id.hex,
                fingerprint="0" * 64,
                state=state,
                lease_token=uuid.uuid4(),
                locked_until=created,
                created_at=created,
            )
        )
    return record_id


async def add_event(rt: Runtime, age_seconds: float, delivered_age_seconds: float | None) -> uuid.UUID:
    event_id = uuid.uuid4()
    delivered: Any = None
    if delivered_age_seconds is not None:
        delivered = rt.clock.now_sql(rt.dialect, -delivered_age_seconds)
    async with transaction(rt.engine) as conn:
        await conn.execute(
            insert(outbox).values(
                event_id=event_id,
                type="hold.created",
                subject_id=event_id.hex[:32],
                payload={},
                created_at=rt.clock.now_sql(rt.dialect, -age_seconds),
                delivered_at=delivered,
            )
        )
    return event_id


async def remaining(rt: Runtime) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    async with transaction(rt.engine, read_only=True) as conn:
        kept_records = set((await conn.execute(select(records.c.id))).scalars())
        kept_events = set((await conn.execute(select(outbox.c.event_id))).scalars())
    return kept_records, kept_events


async def test_purge_removes_only_what_is_past_retention(runtime: Runtime, world: World) -> None:
    # Retention 48 h for records, 7 days for delivered events; batches of 2 to need several.
    settings = msgspec.structs.replace(
        runtime.settings, idempotency_retention_hours=48, outbox_retention_days=7, purge_batch_size=2
    )
    rt = Runtime(settings=settings, engine=runtime.engine, clock=runtime.clock)
    records_before, events_before = await remaining(rt)
    expired_records = [await add_record(rt, world, 49 * HOUR) for _ in range(4)]
    expired_records.append(await add_record(rt, world, 49 * HOUR, state="in_flight"))
    young_records = [await add_record(rt, world, 47 * HOUR), await add_record(rt, world, 0)]
    old_delivered = [await add_event(rt, 30 * DAY, 8 * DAY) for _ in range(3)]
    young_delivered = await add_event(rt, 30 * DAY, 6 * DAY)
    never_delivered = await add_event(rt, 30 * DAY, None)

    assert await purge.run(rt) == Purged(idempotency_records=5, outbox_events=3)

    kept_records, kept_events = await remaining(rt)
    assert kept_records == records_before | set(young_records)
    assert kept_events == events_before | {young_delivered, never_delivered}
    assert not kept_events & set(old_delivered)
    assert await purge.run(rt) == Purged(idempotency_records=0, outbox_events=0)
