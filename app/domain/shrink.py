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
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.domain.states import Load


@dataclass(frozen=True)
class Claim:
    """An active hold or live booking on the allotment or its pool."""

    id: uuid.UUID
    load: Load
    units: int = 0
    volume_dm3: int = 0
    weight_g: int = 0


@dataclass(frozen=True)
class AllotmentSpace:
    units_total: int
    units_held: int
    units_booked: int
    units_pooled: int


@dataclass(frozen=True)
class PoolSpace:
    containers: int
    container_volume_dm3: int
    container_weight_g: int
    volume_used_dm3: int
    weight_used_g: int


@dataclass
class ShrinkPlan:
    """What to do: ``units_total`` is the new total; ``complete`` is False only when the claims
    given did not cover what is sold (a hold placed while the plan was made)."""

    units_total: int
    containers_returned: int = 0
    release: list[uuid.UUID] = field(default_factory=list)
    roll: list[uuid.UUID] = field(default_factory=list)
    complete: bool = True


def containers_needed(pool: PoolSpace, volume_dm3: int, weight_g: int) -> int:
    """Whole containers the pool needs for this much cargo."""
    return max(
        math.ceil(volume_dm3 / pool.container_volume_dm3), math.ceil(weight_g / pool.container_weight_g)
    )


def plan_shrink(
    allotment: AllotmentSpace,
    pool: PoolSpace | None,
    units_wanted: int,
    holds: Sequence[Claim],
    bookings: Sequence[Claim],
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
    for claims, chosen in ((holds, plan.release), (bookings, plan.roll)):
        for load in (Load.FCL, Load.LCL):
            for claim in claims:
                if excess() <= 0:
                    break
                if claim.load is not load:
                    continue
                chosen.append(claim.id)
                if load is Load.FCL:
                    fcl_used -= claim.units
                else:
                    volume -= claim.volume_dm3
                    weight -= claim.weight_g
                    give_back_empty_containers()
    plan.complete = excess() <= 0
    plan.units_total = min(allotment.units_total, max(units_wanted, units_wanted + excess()))
    return plan
