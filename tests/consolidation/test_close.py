"""Closing an LCL pool: every live booking in exactly one container or rolled with an event,
no container over its volume or payload, the rules of invariant 5 kept, the counters' promise
kept by drawing from the allotment, and nothing taken on the pool after it closed."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest
from sqlalchemy import update

from app.consolidation.repository import packed_containers
from app.consolidation.service import close_due_pools, close_pool
from app.db import transaction
from app.domain import house_bills
from app.domain.errors import PoolClosed
from app.domain.states import Load
from app.inventory.repository import pools
from app.reservations import bookings, holds
from app.reservations.invariants import check_invariants
from app.reservations.repository import bookings as bookings_table
from app.reservations.schemas import BookingAmend, HoldConfirm, HoldCreate
from app.runtime import Runtime
from tests.consolidation.closing_world import (
    PAYLOAD_KG,
    USABLE_CBM,
    allotment_row,
    assert_invariants_hold,
    booking_rows,
    container_rows,
    events_of,
    lcl_booking,
    lcl_hold,
    mixed_pool,
    pool_row,
    set_lcl_cut_off,
)
from tests.factories import build_world, confirmation


async def test_mixed_cargo_is_packed_by_the_rules_and_what_cannot_fit_is_rolled_with_an_offer(
    runtime: Runtime,
) -> None:
    # Three units: all drawn by the counters; packing needs four containers.
    mixed = await mixed_pool(runtime, units=3)
    closed = await close_pool(runtime, mixed.pool_id)
    assert closed is not None
    assert (closed.containers, closed.containers_drawn, closed.bookings_rolled) == (3, 0, 1)

    rows = await booking_rows(runtime, mixed.sailing_id)
    ref = {name: view.reference for name, view in mixed.booked.items()}
    # The newest booking that does not fit gives way: chilled (+2 °C) needs a fourth container;
    # furniture, newer still, fits beside the paint.
    assert rows[ref["chilled"]].state == "rolled"
    assert rows[ref["chilled"]].container_id is None
    placed = {name: rows[ref[name]] for name in ("paint", "oxidizer", "frozen", "furniture")}
    assert all(row.state == "confirmed" for row in placed.values())
    assert placed["paint"].container_id != placed["oxidizer"].container_id  # IMDG: separated
    assert placed["paint"].container_id == placed["furniture"].container_id
    assert len({row.container_id for row in placed.values()}) == 3

    stored = {row.id: row for row in await container_rows(runtime, mixed.pool_id)}
    assert [row.number for row in sorted(stored.values(), key=lambda r: r.number)] == [1, 2, 3]
    for container in stored.values():
        aboard = [row for row in placed.values() if row.container_id == container.id]
        assert container.volume_dm3 == sum(row.volume_dm3 for row in aboard) <= USABLE_CBM * 1000
        assert container.weight_g == sum(row.weight_g for row in aboard) <= PAYLOAD_KG * 1000
        assert len(container.master_reference) <= 35
    frozen = stored[placed["frozen"].container_id]
    assert frozen.set_point_c == Decimal("-18.0")
    assert not frozen.non_operating_reefer
    dry = stored[placed["paint"].container_id]
    assert dry.non_operating_reefer
    assert dry.set_point_c is None
    assert dry.dangerous_goods_classes == ["3"]
    assert stored[placed["oxidizer"].container_id].dangerous_goods_classes == ["5.1"]

    # Each placed booking has its own valid house bill number.
    numbers = [row.house_bill_number for row in placed.values()]
    assert len(set(numbers)) == 4
    assert all(house_bills.is_house_bill_number(n) for n in numbers)

    # The roll: an event with the reason, a hold offered on the later sailing, space freed.
    [rolled] = await events_of(runtime, "booking.rolled")
    assert rolled.subject_id == ref["chilled"]
    assert rolled.payload["cause"] == "pool_closed"
    assert rolled.payload["reason"] == "container-budget-exhausted"
    assert rolled.payload["alternative"]["sailing_id"] == str(mixed.later_sailing_id)
    pool = await pool_row(runtime, mixed.pool_id)
    assert pool.volume_booked_dm3 == 16_000
    assert pool.closed_at is not None
    [event] = await events_of(runtime, "pool.closed")
    assert (event.payload["containers"], event.payload["bookings_rolled"]) == (3, 1)
    await assert_invariants_hold(runtime)


async def test_the_plan_draws_the_containers_it_needs_from_the_allotment_when_free(runtime: Runtime) -> None:
    mixed = await mixed_pool(runtime, units=5)
    before = await pool_row(runtime, mixed.pool_id)
    assert before.containers == 3
    closed = await close_pool(runtime, mixed.pool_id)
    assert closed is not None
    assert (closed.containers, closed.containers_drawn, closed.bookings_rolled) == (4, 1, 0)
    after = await pool_row(runtime, mixed.pool_id)
    assert after.containers == 4
    assert after.volume_total_dm3 == 40_000
    assert (await allotment_row(runtime, after.allotment_id)).units_pooled == 4
    rows = await booking_rows(runtime, mixed.sailing_id)
    assert all(row.container_id is not None for row in rows.values())
    assert await events_of(runtime, "booking.rolled") == []
    await assert_invariants_hold(runtime)


async def test_invariant_5_catches_a_container_that_breaks_segregation(runtime: Runtime) -> None:
    mixed = await mixed_pool(runtime, units=5)
    await close_pool(runtime, mixed.pool_id)
    rows = await booking_rows(runtime, mixed.sailing_id)
    paint, oxidizer = rows[mixed.booked["paint"].reference], rows[mixed.booked["oxidizer"].reference]
    async with transaction(runtime.engine) as conn:
        await conn.execute(
            update(bookings_table)
            .where(bookings_table.c.id == oxidizer.id)
            .values(container_id=paint.container_id)
        )
    found = await check_invariants(runtime)
    assert {v.invariant for v in found} == {5}
    # Class 3 beside class 5.1, and 11 CBM in a container of 10.
    assert sorted(v.detail.split(" ")[0] for v in found) == ["over-volume", "segregation"]


async def test_invariant_5_catches_a_live_booking_in_no_container(runtime: Runtime) -> None:
    mixed = await mixed_pool(runtime, units=5)
    await close_pool(runtime, mixed.pool_id)
    furniture = mixed.booked["furniture"].reference
    async with transaction(runtime.engine) as conn:
        await conn.execute(
            update(bookings_table).where(bookings_table.c.reference == furniture).values(container_id=None)
        )
    found = await check_invariants(runtime)
    assert [(v.invariant, "booking-missing" in v.detail) for v in found] == [(5, True)]


async def test_after_close_holds_and_amendments_are_refused_and_remaining_holds_released(
    runtime: Runtime,
) -> None:
    world = await build_world(runtime)
    sailing_id = world.sailing.id
    booked = await lcl_booking(runtime, world, sailing_id, "2")
    waiting = await lcl_hold(runtime, world, sailing_id, "1")
    [pool_id] = {booked_row.pool_id for booked_row in (await booking_rows(runtime, sailing_id)).values()}
    assert pool_id is not None
    closed = await close_pool(runtime, pool_id)
    assert closed is not None
    assert closed.holds_released == 1

    [released] = await events_of(runtime, "hold.released")
    assert released.subject_id == str(waiting.id)
    assert released.payload["reason"] == "pool_closed"
    assert (await holds.get_hold(runtime, world.shipper.actor, waiting.id)).state == "released"

    request = HoldCreate(sailing_id=sailing_id, load=Load.LCL, cbm=Decimal(1), kg=Decimal(100))
    with pytest.raises(PoolClosed):
        await holds.place_hold(runtime, world.shipper.actor, request)
    with pytest.raises(PoolClosed):
        await bookings.amend_booking(
            runtime, world.shipper.actor, booked.reference, booked.version + 1, BookingAmend(cbm=Decimal(1))
        )
    # Cancelling stays possible until the sailing's cut-off; the booking keeps its container.
    view = await bookings.get_booking(runtime, world.shipper.actor, booked.reference)
    assert view.container is not None
    assert view.house_bill_number is not None
    cancelled = await bookings.cancel_booking(runtime, world.shipper.actor, booked.reference)
    assert cancelled.state == "cancelled"
    after = await bookings.get_booking(runtime, world.shipper.actor, booked.reference)
    assert after.container == view.container
    assert after.house_bill_number == view.house_bill_number
    # FCL space on the same sailing is still sold.
    fcl = HoldCreate(sailing_id=sailing_id, load=Load.FCL, size_type="42G1", units=1)
    assert (await holds.place_hold(runtime, world.shipper.actor, fcl)).state == "active"
    await assert_invariants_hold(runtime)


async def test_a_confirm_on_a_closed_pool_is_refused_and_its_hold_released_by_the_next_run(
    runtime: Runtime,
) -> None:
    world = await build_world(runtime)
    hold = await lcl_hold(runtime, world, world.sailing.id, "1")
    await lcl_booking(runtime, world, world.sailing.id, "1")
    # A close that missed the hold (as one racing its confirm does): the pool is stamped closed.
    async with transaction(runtime.engine) as conn:
        now = runtime.clock.now_sql(runtime.dialect)
        await conn.execute(update(pools).where(pools.c.sailing_id == world.sailing.id).values(closed_at=now))
    body = msgspec.convert(confirmation(cbm="1", kg="100"), HoldConfirm)
    with pytest.raises(PoolClosed):
        await bookings.confirm_hold(runtime, world.shipper.actor, hold.id, body)
    report = await close_due_pools(runtime)
    assert report.leftover_holds_released == 1
    assert (await holds.get_hold(runtime, world.shipper.actor, hold.id)).state == "released"


async def test_the_job_closes_pools_whose_lcl_cut_off_passed_and_only_those(runtime: Runtime) -> None:
    world = await build_world(runtime)
    other = await build_world(runtime)
    await lcl_booking(runtime, world, world.sailing.id, "2")
    await lcl_booking(runtime, other, other.sailing.id, "2")
    await set_lcl_cut_off(runtime, world.sailing.id, -1)
    await set_lcl_cut_off(runtime, other.sailing.id, 30)
    report = await close_due_pools(runtime)
    assert (report.pools_closed, report.containers) == (1, 1)
    assert (await close_due_pools(runtime)).pools_closed == 0  # closed once
    due = await booking_rows(runtime, world.sailing.id)
    later = await booking_rows(runtime, other.sailing.id)
    assert all(row.house_bill_number for row in due.values())
    assert not any(row.house_bill_number for row in later.values())
    runtime.clock.advance(31 * 60)
    assert (await close_due_pools(runtime)).pools_closed == 1
    await assert_invariants_hold(runtime)


async def test_packed_containers_list_each_live_booking_once_and_drop_cancelled_ones(
    runtime: Runtime,
) -> None:
    mixed = await mixed_pool(runtime, units=5)
    async with transaction(runtime.engine, read_only=True) as conn:
        assert await packed_containers(conn, mixed.sailing_id) == []  # open pools have none
    await close_pool(runtime, mixed.pool_id)
    await bookings.cancel_booking(runtime, mixed.world.shipper.actor, mixed.booked["furniture"].reference)
    async with transaction(runtime.engine, read_only=True) as conn:
        packed = await packed_containers(conn, mixed.sailing_id)
    assert [p.container.number for p in packed] == [1, 2, 3, 4]
    listed = [b.reference for p in packed for b in p.bookings]
    expected = {view.reference for name, view in mixed.booked.items() if name != "furniture"}
    assert sorted(listed) == sorted(expected)
