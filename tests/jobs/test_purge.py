"""The purge job removes only what is past retention: idempotency records older than theirs,
events older than the feed's retention that every endpoint has had or given up; never an event
still owed to an endpoint, nor one not yet sequenced or fanned out."""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy import insert, select, update

from app.db import table_of, transaction
from app.events.models import IdempotencyRecord, OutboxEvent
from app.feed.sequencer import sequence_events
from app.jobs import purge
from app.runtime import Runtime
from app.webhooks import delivery
from app.webhooks import repository as webhooks
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


async def add_event(rt: Runtime, world: World, age_seconds: float) -> uuid.UUID:
    """An event of ``world.shipper``'s, ``age_seconds`` old."""
    event_id = uuid.uuid4()
    async with transaction(rt.engine) as conn:
        await conn.execute(
            insert(outbox).values(
                event_id=event_id,
                type="hold.created",
                subject_id=event_id.hex[:32],
                organisation_id=world.shipper.organisation_id,
                payload={},
                created_at=rt.clock.now_sql(rt.dialect, -age_seconds),
            )
        )
    return event_id


async def add_endpoint(rt: Runtime, world: World) -> uuid.UUID:
    endpoint_id = uuid.uuid4()
    now = rt.clock.app_now()
    async with transaction(rt.engine) as conn:
        await webhooks.insert_endpoint(
            conn,
            {
                "id": endpoint_id,
                "organisation_id": world.shipper.organisation_id,
                "url": "https://hooks.example.com/x",
                "description": "",
                "event_types": None,
                "enabled": True,
                "secret_sealed": rt.secrets.seal("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
                "version": 1,
                "created_at": now,
                "updated_at": now,
            },
        )
    return endpoint_id


async def set_delivery_state(rt: Runtime, event_id: uuid.UUID, state: str) -> None:
    row = select(outbox.c.id).where(outbox.c.event_id == event_id).scalar_subquery()
    async with transaction(rt.engine) as conn:
        await conn.execute(
            update(webhooks.deliveries).where(webhooks.deliveries.c.event_row == row).values(state=state)
        )


async def remaining(rt: Runtime) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    async with transaction(rt.engine, read_only=True) as conn:
        kept_records = set((await conn.execute(select(records.c.id))).scalars())
        kept_events = set((await conn.execute(select(outbox.c.event_id))).scalars())
    return kept_records, kept_events


def retention(runtime: Runtime) -> Runtime:
    # Retention 48 h for records, 7 days for events; batches of 2 to need several.
    settings = msgspec.structs.replace(
        runtime.settings, idempotency_retention_hours=48, outbox_retention_days=7, purge_batch_size=2
    )
    return Runtime(settings=settings, engine=runtime.engine, clock=runtime.clock)


async def test_purge_removes_only_records_past_retention(runtime: Runtime, world: World) -> None:
    rt = retention(runtime)
    records_before, _ = await remaining(rt)
    for _ in range(4):
        await add_record(rt, world, 49 * HOUR)
    await add_record(rt, world, 49 * HOUR, state="in_flight")
    young_records = [await add_record(rt, world, 47 * HOUR), await add_record(rt, world, 0)]

    assert (await purge.run(rt)).idempotency_records == 5

    kept_records, _ = await remaining(rt)
    assert kept_records == records_before | set(young_records)
    assert (await purge.run(rt)).idempotency_records == 0


async def test_purge_never_deletes_an_event_still_owed_to_an_endpoint(runtime: Runtime, world: World) -> None:
    rt = retention(runtime)
    await add_endpoint(rt, world)
    delivered = [await add_event(rt, world, 30 * DAY) for _ in range(3)]
    given_up = await add_event(rt, world, 30 * DAY)
    owed = await add_event(rt, world, 30 * DAY)
    young = await add_event(rt, world, 6 * DAY)
    await sequence_events(rt)
    await delivery.fan_out(rt)
    for event_id in delivered:
        await set_delivery_state(rt, event_id, "delivered")
    await set_delivery_state(rt, given_up, "given_up")
    # Committed after the last fan-out: sequenced or not, nobody has had a chance to get it.
    not_fanned_out = await add_event(rt, world, 30 * DAY)
    await sequence_events(rt)
    unsequenced = await add_event(rt, world, 30 * DAY)

    assert (await purge.run(rt)).outbox_events == 4

    _, kept = await remaining(rt)
    assert kept == {owed, young, not_fanned_out, unsequenced}
    async with transaction(rt.engine, read_only=True) as conn:
        left = list((await conn.execute(select(webhooks.deliveries.c.state))).scalars())
    assert sorted(left) == ["pending", "pending"]  # owed and young, their deliveries kept
    # Once delivered and fanned out, they go too.
    await set_delivery_state(rt, owed, "delivered")
    await sequence_events(rt)
    await delivery.fan_out(rt)
    await set_delivery_state(rt, not_fanned_out, "delivered")
    await set_delivery_state(rt, unsequenced, "delivered")
    assert (await purge.run(rt)).outbox_events == 3
    assert (await remaining(rt))[1] == {young}
