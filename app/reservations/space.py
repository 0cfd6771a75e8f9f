"""Claiming space on a counter: the conditional UPDATE, lazy reclaim of overdue holds, and
drawing one more container into an LCL pool, all inside the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.errors import InsufficientCapacity
from app.domain.states import Load
from app.domain.units import from_milli
from app.inventory import repository as inventory
from app.reservations import counters, expiry, repository
from app.reservations.counters import Quantity
from app.runtime import Runtime


async def claim_for_hold(
    rt: Runtime,
    conn: AsyncConnection,
    sailing_id: uuid.UUID,
    quantity: Quantity,
    now_sql: ColumnElement[datetime],
    hold: dict[str, Any],
) -> None:
    """Take the space and insert the hold; the fast path is a single statement on PostgreSQL."""
    if await repository.insert_hold_if_claimed(conn, quantity, hold):
        return
    await claim(rt, conn, sailing_id, quantity, now_sql, tried=True)
    await repository.insert_hold(conn, hold)


async def claim(
    rt: Runtime,
    conn: AsyncConnection,
    sailing_id: uuid.UUID,
    quantity: Quantity,
    now_sql: ColumnElement[datetime],
    stage: str = "held",
    *,
    tried: bool = False,
) -> int:
    """Add to the counter's ``stage`` (held or booked), reclaiming overdue holds and drawing a
    container into an LCL pool if needed.

    ``tried``: the caller's own conditional UPDATE just failed, so go straight to reclaiming.
    Returns how many overdue holds were reclaimed on the way; raises InsufficientCapacity with
    nothing changed (the transaction rolls back) when the space is not there.
    """
    if not tried and await counters.try_claim(conn, quantity, stage):
        return 0
    if quantity.load is Load.LCL:
        assert quantity.pool_id is not None
        await inventory.lock_pool(conn, quantity.pool_id)
    reclaimed = await reclaim_overdue(conn, quantity, now_sql)
    if await counters.try_claim(conn, quantity, stage):
        return reclaimed
    if quantity.load is Load.LCL:
        drew = await _draw_container(conn, quantity)
        if not drew:
            # Overdue FCL holds on the allotment must not block the draw either. The pool is
            # locked already, the allotment next: the global lock order.
            fcl = msgspec.structs.replace(quantity, load=Load.FCL, pool_id=None)
            freed = await reclaim_overdue(conn, fcl, now_sql)
            reclaimed += freed
            drew = freed > 0 and await _draw_container(conn, quantity)
        if drew and await counters.try_claim(conn, quantity, stage):
            return reclaimed
    raise await _insufficient(conn, sailing_id, quantity)


async def reclaim_overdue(conn: AsyncConnection, quantity: Quantity, now_sql: ColumnElement[datetime]) -> int:
    """Expire the overdue holds on this quantity's counter now, whether or not the sweeper has
    run: FCL holds of the allotment, or holds of the pool."""
    counter = repository.on_counter(quantity.load, quantity.counter_id)
    return await expire_holds(conn, now_sql, counter=counter)


async def expire_holds(
    conn: AsyncConnection,
    now_sql: ColumnElement[datetime],
    *,
    counter: ColumnElement[bool] | None = None,
    limit: int | None = None,
) -> int:
    """Expire overdue holds, give their space back and record ``hold.expired`` for each;
    returns how many expired."""
    released = await expiry.expire_overdue(conn, now_sql, counter=counter, limit=limit)
    space = (
        Quantity(
            load=Load(r.load),
            allotment_id=r.allotment_id,
            pool_id=r.pool_id,
            units=r.units,
            volume_dm3=r.volume_dm3,
            weight_g=r.weight_g,
        )
        for r in released
    )
    await counters.release_all(conn, space, "held")
    return sum(r.count for r in released)


async def _draw_container(conn: AsyncConnection, quantity: Quantity) -> bool:
    pool = (await inventory.pools_of_ids(conn, [quantity.counter_id]))[0]
    return await inventory.draw_container(conn, pool)


def fcl_shortfall(sailing_id: uuid.UUID, quantity: Quantity, free_units: int) -> InsufficientCapacity:
    return InsufficientCapacity(sailing_id, f"{quantity.units} units", f"{max(free_units, 0)} units")


async def _insufficient(
    conn: AsyncConnection, sailing_id: uuid.UUID, quantity: Quantity
) -> InsufficientCapacity:
    if quantity.load is Load.FCL:
        return fcl_shortfall(sailing_id, quantity, await inventory.free_units(conn, quantity.counter_id))
    pool = (await inventory.pools_of_ids(conn, [quantity.counter_id]))[0]
    drawable = max(pool.units_drawable, 0)
    free_cbm = from_milli(pool.volume_free_dm3 + drawable * pool.container_volume_dm3)
    free_kg = from_milli(pool.weight_free_g + drawable * pool.container_weight_g)
    wanted = f"{from_milli(quantity.volume_dm3)} CBM / {from_milli(quantity.weight_g)} kg"
    return InsufficientCapacity(sailing_id, wanted, f"{free_cbm} CBM / {free_kg} kg")
