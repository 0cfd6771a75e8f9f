"""Which holds to release and which bookings to roll when an allotment must shrink (pure).

A carrier's cut (or its cancellation of the sailing, a cut to zero) lowers what the platform
may sell. The space given up is taken in this order, stopping as soon as what is held, booked
and pooled fits the carrier's figure:

1. unsold units (lowering ``units_total`` is enough);
2. empty containers of the LCL pool drawn from this allotment;
3. active holds, newest first: FCL holds, then LCL holds of the pool;
4. live bookings, newest first: FCL bookings, then LCL bookings of the pool (rolled).

LCL space is freed in whole containers only: LCL holds (then bookings) of the pool are let go
newest first until the pool's remaining cargo fits in fewer containers, which go back.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from app.domain.capacity import Quantity
from app.domain.states import Load


@dataclass(frozen=True)
class Occupant:
    """An active hold or live booking, and the space it takes on its allotment or pool."""

    id: uuid.UUID
    quantity: Quantity

    def occupies(self, allotment: AllotmentUse, pool: PoolUse | None) -> bool:
        """Counted on this allotment (FCL) or on its pool (LCL)."""
        if self.quantity.load is Load.FCL:
            return self.quantity.allotment_id == allotment.id
        return pool is not None and self.quantity.pool_id == pool.id


@dataclass(frozen=True)
class AllotmentUse:
    """An allotment's counters, and the carrier's figure for it (None: never reported)."""

    id: uuid.UUID
    sailing_id: uuid.UUID
    size_type: str
    units_total: int
    units_held: int
    units_booked: int
    units_pooled: int
    units_offered: int | None = None


@dataclass(frozen=True)
class PoolUse:
    """A pool drawn from an allotment: its containers and the cargo held and booked in them."""

    id: uuid.UUID
    allotment_id: uuid.UUID
    containers: int
    container_volume_dm3: int
    container_weight_g: int
    volume_used_dm3: int
    weight_used_g: int


@dataclass
class ShrinkPlan:
    """What to do: ``units_total`` is the new total; ``complete`` is False only when the
    occupants given did not cover what is sold (a hold placed while the plan was made)."""

    units_total: int
    containers_returned: int = 0
    release: list[uuid.UUID] = field(default_factory=list)
    roll: list[uuid.UUID] = field(default_factory=list)
    complete: bool = True


@dataclass(frozen=True)
class Cut:
    """One allotment to bring down, its pool if it has one, and the plan for it."""

    allotment: AllotmentUse
    pool: PoolUse | None
    plan: ShrinkPlan


def plan_cuts(
    allotments: Sequence[AllotmentUse],
    pools: Sequence[PoolUse],
    units_wanted: Callable[[AllotmentUse], int | None],
    holds: Sequence[Occupant],
    bookings: Sequence[Occupant],
) -> list[Cut]:
    """A plan per allotment that ``units_wanted`` gives a figure for (None: leave it), each with
    the holds and bookings (newest first) that occupy it or its pool."""
    cuts = []
    for allotment in allotments:
        wanted = units_wanted(allotment)
        if wanted is None:
            continue
        pool = next((p for p in pools if p.allotment_id == allotment.id), None)
        on_it = [h for h in holds if h.occupies(allotment, pool)]
        booked_on_it = [b for b in bookings if b.occupies(allotment, pool)]
        cuts.append(Cut(allotment, pool, plan_shrink(allotment, pool, wanted, on_it, booked_on_it)))
    return cuts


def holds_to_release(cuts: Sequence[Cut]) -> list[uuid.UUID]:
    """Every hold the cuts let go, each cut's newest first."""
    return [hold for cut in cuts for hold in cut.plan.release]


def bookings_to_roll(cuts: Sequence[Cut]) -> list[uuid.UUID]:
    """Every booking the cuts roll, each cut's newest first."""
    return [booking for cut in cuts for booking in cut.plan.roll]


def containers_needed(pool: PoolUse, volume_dm3: int, weight_g: int) -> int:
    """Whole containers the pool needs for this much cargo."""
    return max(
        math.ceil(volume_dm3 / pool.container_volume_dm3), math.ceil(weight_g / pool.container_weight_g)
    )


def plan_shrink(
    allotment: AllotmentUse,
    pool: PoolUse | None,
    units_wanted: int,
    holds: Sequence[Occupant],
    bookings: Sequence[Occupant],
) -> ShrinkPlan:
    """Plan lowering the allotment to ``units_wanted``; ``holds`` and ``bookings`` newest first.

    Never raises the total: a figure at or above it needs nothing.
    """
    if units_wanted >= allotment.units_total:
        return ShrinkPlan(units_total=allotment.units_total)
    fcl_used = allotment.units_held + allotment.units_booked
    pooled = allotment.units_pooled
    volume = pool.volume_used_dm3 if pool else 0
    weight = pool.weight_used_g if pool else 0
    plan = ShrinkPlan(units_total=allotment.units_total)

    def excess() -> int:
        return fcl_used + pooled - plan.containers_returned - units_wanted

    def give_back_empty_containers() -> None:
        if pool is None or excess() <= 0:
            return
        empty = pool.containers - plan.containers_returned - containers_needed(pool, volume, weight)
        plan.containers_returned += max(0, min(empty, excess()))

    give_back_empty_containers()
    for occupants, chosen in ((holds, plan.release), (bookings, plan.roll)):
        for load in (Load.FCL, Load.LCL):
            for occupant in occupants:
                if excess() <= 0:
                    break
                space = occupant.quantity
                if space.load is not load:
                    continue
                chosen.append(occupant.id)
                if load is Load.FCL:
                    fcl_used -= space.units
                else:
                    volume -= space.volume_dm3
                    weight -= space.weight_g
                    give_back_empty_containers()
    plan.complete = excess() <= 0
    plan.units_total = min(allotment.units_total, max(units_wanted, units_wanted + excess()))
    return plan
