"""A consolidated container's master booking is sent to its carrier once, the platform as
booking party, with the cargo of the bookings aboard; the carrier's answers are recorded on it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import insert, select, update

from app.db import transaction
from app.dispatch import service
from app.dispatch.repository import containers
from app.domain.states import Load
from app.inventory import service as inventory
from app.inventory.repository import pools
from app.inventory.schemas import PoolCreate
from app.reconcile.carrier_bookings import poll_carrier_bookings
from app.reservations import bookings, holds
from app.reservations.repository import bookings as bookings_table
from app.reservations.schemas import HoldConfirm, HoldCreate
from app.runtime import Runtime
from carriers.base import BookingRequest
from tests.dispatch.world import SCAC, Lane, dispatch_until, replicas, request_rows, simulated_lane
from tests.factories import confirmation

MASTER = "MB-TEST-0001"
PAINT = {"un_number": "1263", "imo_class": "3", "proper_shipping_name": "PAINT", "packing_group": 2}


async def lcl_booking(lane: Lane, pool_sailing: uuid.UUID, **cargo: object) -> str:
    hold = await holds.place_hold(
        lane.rt,
        lane.shipper.actor,
        HoldCreate(sailing_id=pool_sailing, load=Load.LCL, size_type="42G1", cbm=Decimal(2), kg=Decimal(800)),
    )
    body = msgspec.convert(confirmation(cbm="2", kg="800", **cargo), HoldConfirm)
    return (await bookings.confirm_hold(lane.rt, lane.shipper.actor, hold.id, body)).reference


async def add_pool(lane: Lane, sailing_id: uuid.UUID) -> None:
    pool = PoolCreate(
        size_type="42G1", rate_per_revenue_tonne=Decimal(80), minimum=Decimal(120), currency="USD"
    )
    await inventory.add_pool(lane.rt, sailing_id, pool)


async def packed_container(lane: Lane) -> uuid.UUID:
    """What closing the pool leaves behind: a container to request, two bookings aboard."""
    sailing_id = lane.sailing_ids[0]
    await add_pool(lane, sailing_id)
    aboard = [
        await lcl_booking(lane, sailing_id),
        await lcl_booking(lane, sailing_id, dangerous_goods=[PAINT], imo_packaging_code="1A1"),
    ]
    container_id = uuid.uuid4()
    now = datetime.now(UTC)
    async with transaction(lane.rt.engine) as conn:
        pool_id = (
            await conn.execute(
                select(pools.c.id).where(pools.c.sailing_id == sailing_id, pools.c.size_type == "42G1")
            )
        ).scalar_one()
        await conn.execute(
            insert(containers).values(
                id=container_id, pool_id=pool_id, sailing_id=sailing_id, number=1, size_type="42G1",
                volume_dm3=4000, weight_g=1_600_000, dangerous_goods_classes=["3"], set_point_c=None,
                non_operating_reefer=False, master_reference=MASTER, master_status="to_request",
                created_at=now, updated_at=now,
            )
        )  # fmt: skip
        await conn.execute(
            update(bookings_table)
            .where(bookings_table.c.reference.in_(aboard))
            .values(container_id=container_id)
        )
    # LCL bookings travel in their container: none of them is sent on its own.
    for reference in aboard:
        assert await request_rows(lane.rt, reference) == []
    return container_id


async def container(lane: Lane, container_id: uuid.UUID) -> object:
    async with transaction(lane.rt.engine, read_only=True) as conn:
        return (await conn.execute(select(containers).where(containers.c.id == container_id))).one()


async def test_a_master_booking_is_sent_once_and_its_carrier_status_recorded(runtime: Runtime) -> None:
    lane = await simulated_lane(runtime, lose_first_answer=True)
    container_id = await packed_container(lane)

    async def acknowledged() -> bool:
        return [row.state for row in await request_rows(lane.rt, MASTER)] == ["acknowledged"]

    async with replicas(lane, 3) as runtimes:
        await dispatch_until(lane, runtimes, acknowledged)

    carrier_reference = f"{SCAC}0000001"
    assert lane.probe.calls == [("request", MASTER), ("request", MASTER)]  # the first answer was lost
    assert await lane.probe.inner._store.last_number(SCAC, "bookings") == 1
    (row,) = await request_rows(lane.rt, MASTER)
    sent = msgspec.convert(row.payload, BookingRequest)
    assert (sent.units, sent.size_type, sent.shipper.name) == (1, "42G1", lane.rt.settings.nvocc_name)
    assert [line.volume_cbm for line in sent.cargo] == [Decimal(2), Decimal(2)]
    assert [dg.un_number for dg in sent.dangerous_goods] == ["1263"]
    assert sent.cargo[1].imo_packaging_code == "1A1"
    master = await container(lane, container_id)
    assert (master.master_status, master.master_carrier_reference) == ("requested", carrier_reference)

    # The carrier confirms (its first poll); the dispatcher's sweep records it on the container.
    await poll_carrier_bookings(lane.rt, lane.rt.carriers)
    async with replicas(lane, 2) as runtimes:
        await dispatch_until(lane, runtimes, acknowledged)
        for rt in runtimes:
            await service.run(rt)
    master = await container(lane, container_id)
    assert master.master_status == "confirmed"
    assert master.master_carrier_booking_number == f"{SCAC}BN0000001"
    assert master.master_detail["carrier_status"] == "accepted"
    assert lane.probe.calls == [("request", MASTER), ("request", MASTER)]


async def test_a_replan_amends_a_sent_master_booking_and_cancels_one_it_empties(runtime: Runtime) -> None:
    """Two bookings close into one container whose master booking reaches the carrier. One is
    cancelled and the pool re-planned: the master is amended to carry the other alone. That one
    is cancelled too: the re-plan empties the container and its master booking is cancelled."""
    from app.consolidation import service as consolidation

    lane = await simulated_lane(runtime)
    sailing_id = lane.sailing_ids[0]
    await add_pool(lane, sailing_id)
    first, second = [await lcl_booking(lane, sailing_id) for _ in range(2)]
    await consolidation.rerun(lane.rt, sailing_id)
    async with transaction(lane.rt.engine, read_only=True) as conn:
        (master,) = (
            await conn.execute(select(containers).where(containers.c.sailing_id == sailing_id))
        ).all()

    async def settled(count: int) -> Any:
        async def done() -> bool:
            rows = await request_rows(lane.rt, master.master_reference)
            return [row.state for row in rows] == ["acknowledged"] * count

        return done

    async with replicas(lane, 2) as runtimes:
        await dispatch_until(lane, runtimes, await settled(1))
        await bookings.cancel_booking(lane.rt, lane.shipper.actor, first)
        await consolidation.rerun(lane.rt, sailing_id)
        await dispatch_until(lane, runtimes, await settled(2))
        await bookings.cancel_booking(lane.rt, lane.shipper.actor, second)
        await consolidation.rerun(lane.rt, sailing_id)
        await dispatch_until(lane, runtimes, await settled(3))
        # Re-planning again with nothing changed tells the carrier nothing more.
        await consolidation.rerun(lane.rt, sailing_id)
        for rt in runtimes:
            await service.run(rt)

    reference = master.master_reference
    assert lane.probe.calls == [("request", reference), ("amend", reference), ("cancel", f"{SCAC}0000001")]
    request, amendment, cancellation = await request_rows(lane.rt, reference)
    assert [line.volume_cbm for line in msgspec.convert(request.payload, BookingRequest).cargo] == [2, 2]
    assert [line.volume_cbm for line in msgspec.convert(amendment.payload, BookingRequest).cargo] == [2]
    assert cancellation.operation == "cancel"
    emptied = await container(lane, master.id)
    assert (emptied.volume_dm3, emptied.master_status) == (0, "cancelled")
