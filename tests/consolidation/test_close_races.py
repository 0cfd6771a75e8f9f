"""Closes on several replicas (one engine each, real connections): a pool closes once; holds,
confirms and amendments racing the close either land before it (and are packed) or are
refused with pool-closed, never left unpacked."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import msgspec
from sqlalchemy import select

from app.clock import Clock
from app.consolidation.repository import house_bill_sequence
from app.consolidation.service import close_due_pools, close_pool, release_leftover_holds
from app.db import create_engine, transaction
from app.domain.errors import InvalidTransition, PoolClosed
from app.reservations import bookings, holds
from app.reservations.invariants import check_invariants
from app.reservations.schemas import BookingAmend, HoldConfirm
from app.runtime import Runtime
from tests.consolidation.closing_world import (
    booking_rows,
    container_rows,
    events_of,
    lcl_booking,
    lcl_hold,
    pool_id_of,
    pool_row,
    set_lcl_cut_off,
)
from tests.factories import build_world, confirmation


@asynccontextmanager
async def replica(runtime: Runtime) -> AsyncIterator[Runtime]:
    """Another process's view of the same database: its own engine and connections."""
    engine = create_engine(runtime.settings)
    try:
        yield Runtime(settings=runtime.settings, engine=engine, clock=Clock())
    finally:
        await engine.dispose()


async def close_until_closed(rt: Runtime, pool_id: uuid.UUID) -> None:
    """What the job does run after run: a close finding the pool row busy (PostgreSQL's SKIP
    LOCKED, a hold being placed) leaves it to the next run."""
    for _ in range(200):
        if await close_pool(rt, pool_id) is not None or (await pool_row(rt, pool_id)).closed_at:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the pool never closed")


async def test_two_replicas_close_each_pool_once(runtime: Runtime) -> None:
    worlds = [await build_world(runtime) for _ in range(3)]
    for world in worlds:
        for cbm in ("3", "5", "4", "2"):
            await lcl_booking(runtime, world, world.sailing.id, cbm)
    pool_ids = [await pool_id_of(runtime, world.sailing.id) for world in worlds]
    async with replica(runtime) as first, replica(runtime) as second:
        for pool_id in pool_ids[:2]:
            outcomes = await asyncio.gather(close_pool(first, pool_id), close_pool(second, pool_id))
            assert sorted(outcome is None for outcome in outcomes) == [False, True]
        # The job itself on both replicas at once: the last pool is due.
        await set_lcl_cut_off(runtime, worlds[2].sailing.id, -1)
        reports = await asyncio.gather(close_due_pools(first), close_due_pools(second))
        assert sum(report.pools_closed for report in reports) == 1
    assert len(await events_of(runtime, "pool.closed")) == 3
    placed = 0
    for world, pool_id in zip(worlds, pool_ids, strict=True):
        stored = await container_rows(runtime, pool_id)
        rows = await booking_rows(runtime, world.sailing.id)
        assert {row.container_id for row in rows.values()} == {row.id for row in stored}
        placed += len(rows)
    async with transaction(runtime.engine, read_only=True) as conn:
        # Numbers given out once each: as many as bookings placed.
        assert (await conn.execute(select(house_bill_sequence.c.last_value))).scalar_one() == placed
    assert await check_invariants(runtime) == []


async def test_holds_confirms_and_amendments_racing_a_close_are_packed_or_refused(runtime: Runtime) -> None:
    world = await build_world(runtime)
    sailing_id = world.sailing.id
    early = [await lcl_booking(runtime, world, sailing_id, "1") for _ in range(3)]
    pool_id = await pool_id_of(runtime, sailing_id)
    body = msgspec.convert(confirmation(cbm="1", kg="500"), HoldConfirm)
    refused: list[str] = []

    async def hold_and_confirm(rt: Runtime) -> None:
        try:
            hold = await lcl_hold(rt, world, sailing_id, "1")
            await bookings.confirm_hold(rt, world.shipper.actor, hold.id, body)
        except PoolClosed:
            refused.append("hold")
        except InvalidTransition as error:
            # Held before the close, which released it: the confirm finds it released.
            refused.append(f"hold {error.extensions['state']}")

    async def amend(rt: Runtime, reference: str, version: int) -> None:
        try:
            await bookings.amend_booking(
                rt, world.shipper.actor, reference, version, BookingAmend(kg=Decimal(600))
            )
        except PoolClosed:
            refused.append("amend")

    async with replica(runtime) as closer, replica(runtime) as shipper:
        tasks = [hold_and_confirm(shipper) for _ in range(6)]
        tasks += [amend(shipper, view.reference, view.version) for view in early]
        tasks.insert(4, close_until_closed(closer, pool_id))
        await asyncio.gather(*tasks)
        await release_leftover_holds(closer)
    rows = await booking_rows(runtime, sailing_id)
    # Every live booking is packed, whatever the interleaving; late arrivals were refused.
    assert all(row.container_id is not None for row in rows.values() if row.state in ("confirmed", "amended"))
    assert {why for why in refused if why.startswith("hold ")} <= {"hold released"}
    assert len(rows) + sum(why.startswith("hold") for why in refused) == 3 + 6
    active = [
        hold
        for hold in (await holds.list_holds(runtime, world.shipper.actor, state=None, sailing_id=sailing_id,
                                            cursor=None, limit=100)).items
        if hold.state == "active"
    ]  # fmt: skip
    assert active == []
    assert await check_invariants(runtime) == []
