"""Test-only seam: the naive check-then-act hold that the conditional UPDATE exists to prevent.

With ``SLOTPOOL_UNSAFE_DISABLE_CAPACITY_GUARD=true`` a hold reads the free space in a
transaction of its own, then writes back counters computed in Python. Done one at a time this
never oversells; done concurrently it does. The concurrency tests run it as a control, to prove
that their requests really race, so that their passing with the guard on means something.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import transaction
from app.domain.errors import InsufficientCapacity
from app.domain.states import Load
from app.inventory import repository as inventory
from app.reservations import repository
from app.reservations.counters import Quantity
from app.reservations.schemas import HoldCreate
from app.runtime import Runtime


async def observe(rt: Runtime, request: HoldCreate) -> Mapping[str, Any]:
    """The counters of the hold's target as they are now, read in their own transaction."""
    async with transaction(rt.engine, read_only=True) as conn:
        shift = rt.clock.shift()
        if request.load == Load.FCL:
            target = await repository.fcl_target(conn, request.sailing_id, request.size_type or "", shift)
            if target is None:
                return {}
            return dict((await inventory.allotment_counters(conn, target.allotment_id))._mapping)
        targets = await repository.lcl_targets(conn, request.sailing_id, request.size_type, shift)
        if not targets:
            return {}
        return dict((await inventory.pools_of_ids(conn, [targets[0].pool_id]))[0]._mapping)


async def claim(conn: AsyncConnection, quantity: Quantity, observed: Mapping[str, Any]) -> None:
    """Write ``observed + quantity`` as the new held counters, if the stale reading had room."""
    if quantity.load is Load.FCL:
        if observed["units_free"] < quantity.units:
            raise InsufficientCapacity("?", f"{quantity.units} units", f"{observed['units_free']} units")
        values = {"units_held": observed["units_held"] + quantity.units}
        await inventory.overwrite_counters(conn, inventory.allotments, quantity.counter_id, values)
        return
    if observed["volume_free_dm3"] < quantity.volume_dm3 or observed["weight_free_g"] < quantity.weight_g:
        raise InsufficientCapacity("?", "space", "less")
    values = {
        "volume_held_dm3": observed["volume_held_dm3"] + quantity.volume_dm3,
        "weight_held_g": observed["weight_held_g"] + quantity.weight_g,
    }
    await inventory.overwrite_counters(conn, inventory.pools, quantity.counter_id, values)
