"""Space on the counters, inside the caller's transaction: making room for a claim (lazy
reclaim of overdue holds, one more container drawn into an LCL pool), the expiry of overdue
holds, and what a refusal tells the client."""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from app import metrics
from app.domain.capacity import Quantity, containers_to_draw
from app.domain.errors import InsufficientCapacity, PoolClosed
from app.domain.states import Load
from app.domain.units import from_milli
from app.inventory import repository as inventory
from app.reservations import expiry, repository


async def make_room(conn: AsyncConnection, quantity: Quantity, shift: float) -> None:
    """Free what can be freed for ``quantity`` without touching anything live: expire the
    overdue holds on its counter (whether or not the sweeper has run), and for an LCL pool still
    short of space draw one more container from the allotment, reclaiming overdue FCL holds
    there first if no unit is free. The claim that follows decides whether it was enough.
    ``shift``: the runtime clock's (:meth:`app.clock.Clock.shift`), for what is overdue."""
    if quantity.load is Load.FCL:
        await reclaim_overdue(conn, quantity, shift)
        return
    assert quantity.pool_id is not None
    # The pool first, the allotment next (the draw): the lock order.
    await inventory.lock_pool(conn, quantity.pool_id)
    await reclaim_overdue(conn, quantity, shift)
    pool = await inventory.pool_counters(conn, quantity.pool_id)
    if not containers_to_draw(pool.space, quantity.volume_dm3, quantity.weight_g):
        return
    if pool.units_drawable < 1:
        fcl = msgspec.structs.replace(quantity, load=Load.FCL, pool_id=None)
        await reclaim_overdue(conn, fcl, shift)
    await inventory.draw_container(conn, pool)


async def reclaim_overdue(conn: AsyncConnection, quantity: Quantity, shift: float) -> int:
    """Expire the overdue holds on this quantity's counter now: FCL holds of the allotment, or
    holds of the pool."""
    return await expire_holds(conn, shift, counter=quantity)


async def expire_holds(
    conn: AsyncConnection, shift: float, *, counter: Quantity | None = None, limit: int | None = None
) -> int:
    """Expire overdue holds (all, or those on ``counter``'s counter row; at most ``limit``),
    give their space back and record ``hold.expired`` for each; returns how many expired."""
    released = await expiry.expire_overdue(conn, shift, counter=counter, limit=limit)
    await repository.give_back(conn, (space.quantity for space in released), "held")
    for space in released:
        for lag in space.lags:
            metrics.HOLD_EXPIRY_LAG.observe(max(lag, 0.0))
    return sum(space.count for space in released)


async def refusal(
    conn: AsyncConnection, sailing_id: uuid.UUID, quantity: Quantity
) -> InsufficientCapacity | PoolClosed:
    """The refusal of a claim, with what is free on its counter now (an LCL pool counts the
    containers its allotment could still give it), or PoolClosed when its pool has closed."""
    if quantity.load is Load.FCL:
        free = await inventory.free_units(conn, quantity.counter_id)
        return InsufficientCapacity(sailing_id, f"{quantity.units} units", f"{max(free, 0)} units")
    pool = await inventory.pool_counters(conn, quantity.counter_id)
    if pool.closed_at is not None:
        return PoolClosed(sailing_id)
    drawable = max(pool.units_drawable, 0)
    free_cbm = from_milli(pool.volume_free_dm3 + drawable * pool.container_volume_dm3)
    free_kg = from_milli(pool.weight_free_g + drawable * pool.container_weight_g)
    wanted = f"{from_milli(quantity.volume_dm3)} CBM / {from_milli(quantity.weight_g)} kg"
    return InsufficientCapacity(sailing_id, wanted, f"{free_cbm} CBM / {free_kg} kg")
