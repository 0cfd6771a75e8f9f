"""Plan a closing pool: pack its live LCL bookings into containers of its size-type.

Rules kept (and checked again by app.domain.consolidation.checks):

- no container over its usable volume or its payload;
- dangerous goods that IMDG 7.2.4 segregates never share a container (segregation.py); other
  cargo mixes freely;
- reefer cargo only in a reefer pool, with compatible set points, never beside dry cargo; dry
  cargo in a reefer pool rides in non-operating reefers (reefer.py);
- at most ``container_budget`` containers. When packing needs more, the newest bookings are
  rolled first: the oldest bookings that fit are packed, then each newer booking still goes into
  a container with room, or is rolled. Bookings that no container can take are rolled with the
  reason, whatever the budget.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal

from app.domain.consolidation import binpacking
from app.domain.consolidation.cargo import (
    ContainerSpec,
    DangerousGoods,
    PoolBooking,
    PoolCargo,
    hazard_division,
)
from app.domain.consolidation.plan import ConsolidationPlan, PlannedContainer, RolledBooking, RollReason
from app.domain.consolidation.reefer import set_point_bands
from app.domain.consolidation.segregation import first_conflict

# Cargo that may share a container: dry (None) or the lowest set point of a reefer band.
GroupKey = Decimal | None


class _Load:
    """A container being filled by the planner."""

    def __init__(self, group: GroupKey) -> None:
        self.group = group
        self.bookings: list[PoolBooking] = []
        self.volume_dm3 = 0
        self.weight_g = 0
        self.dangerous_goods: list[DangerousGoods] = []

    def takes(self, booking: PoolBooking, container: ContainerSpec) -> bool:
        return (
            self.volume_dm3 + booking.volume_dm3 <= container.usable_dm3
            and self.weight_g + booking.weight_g <= container.payload_g
            and first_conflict(booking.dangerous_goods, tuple(self.dangerous_goods)) is None
        )

    def load(self, booking: PoolBooking) -> None:
        self.bookings.append(booking)
        self.volume_dm3 += booking.volume_dm3
        self.weight_g += booking.weight_g
        self.dangerous_goods.extend(booking.dangerous_goods)


def booking_order(booking: PoolBooking) -> tuple[datetime, str]:
    """Oldest first; bookings of the same instant by reference."""
    return (booking.booked_at, booking.reference)


def refusal(container: ContainerSpec, booking: PoolBooking) -> RolledBooking | None:
    """Why no container of this pool can take the booking at all, or None."""
    reason: tuple[RollReason, str] | None = None
    if booking.volume_dm3 > container.usable_dm3:
        reason = (RollReason.EXCEEDS_VOLUME, f"{booking.volume_dm3} dm3 > usable {container.usable_dm3} dm3")
    elif booking.weight_g > container.payload_g:
        reason = (RollReason.EXCEEDS_PAYLOAD, f"{booking.weight_g} g > payload {container.payload_g} g")
    elif booking.is_reefer and not container.is_reefer:
        reason = (
            RollReason.REEFER_IN_DRY_POOL,
            f"set point {booking.set_point_c} °C in {container.size_type}",
        )
    else:
        goods = booking.dangerous_goods
        for index, item in enumerate(goods):
            conflict = first_conflict((item,), goods[index + 1 :])
            if conflict is not None:
                a, b, term = conflict
                reason = (
                    RollReason.SEGREGATION_WITHIN_BOOKING,
                    f"UN {a.un_number} (class {a.imo_class}) and UN {b.un_number} (class {b.imo_class})"
                    f" must be {term}",
                )
                break
    if reason is None:
        return None
    return RolledBooking(reference=booking.reference, reason=reason[0], detail=reason[1])


def compatibility_groups(
    pool: PoolCargo, bookings: Sequence[PoolBooking]
) -> dict[GroupKey, list[PoolBooking]]:
    """Bookings by the group of cargo they may share a container with (order kept)."""
    bands = set_point_bands(
        (b.set_point_c for b in bookings if b.set_point_c is not None), pool.set_point_tolerance_c
    )
    groups: dict[GroupKey, list[PoolBooking]] = defaultdict(list)
    for booking in bookings:
        groups[None if booking.set_point_c is None else bands[booking.set_point_c]].append(booking)
    return groups


def lower_bound(container: ContainerSpec, groups: dict[GroupKey, list[PoolBooking]]) -> int:
    """Fewest containers the grouped bookings could need: per group, volume or weight, rounded up."""
    capacity = (container.usable_dm3, container.payload_g)
    return sum(
        binpacking.lower_bound(sum(b.volume_dm3 for b in group), sum(b.weight_g for b in group), capacity)
        for group in groups.values()
    )


def plan_consolidation(pool: PoolCargo) -> ConsolidationPlan:
    """Pack the pool's live bookings; the same pool always gives the same plan."""
    container = pool.container
    rolled: list[RolledBooking] = []
    placeable: list[PoolBooking] = []
    for booking in sorted(pool.bookings, key=booking_order):
        refused = refusal(container, booking)
        if refused is None:
            placeable.append(booking)
        else:
            rolled.append(refused)
    groups = compatibility_groups(pool, placeable)
    group_of = {b.reference: key for key, members in groups.items() for b in members}
    loads = _pack(container, placeable, group_of)
    budget = pool.container_budget
    if budget is not None and len(loads) > budget:
        loads, left_over = _pack_within_budget(container, placeable, group_of, budget)
        rolled.extend(
            RolledBooking(
                reference=booking.reference,
                reason=RollReason.CONTAINER_BUDGET,
                detail=f"the pool may use {budget} containers of {container.size_type}",
            )
            for booking in left_over
        )
    order = {b.reference: booking_order(b) for b in pool.bookings}
    rolled.sort(key=lambda r: order[r.reference], reverse=True)
    placed: dict[GroupKey, list[PoolBooking]] = defaultdict(list)
    for load in loads:
        placed[load.group].extend(load.bookings)
    return ConsolidationPlan(
        container=container,
        containers=_planned(container, loads),
        rolled=tuple(rolled),
        lower_bound=lower_bound(container, placed),
    )


def _pack(
    container: ContainerSpec,
    bookings: Sequence[PoolBooking],
    group_of: dict[str, GroupKey],
    *,
    improve: bool = True,
) -> list[_Load]:
    """Every booking (each fits a container alone) into containers of its group."""
    groups: dict[GroupKey, list[PoolBooking]] = defaultdict(list)
    for booking in bookings:
        groups[group_of[booking.reference]].append(booking)
    loads: list[_Load] = []
    capacity = (container.usable_dm3, container.payload_g)
    for group in sorted(groups, key=_group_order):
        members = groups[group]
        profiles, conflicting = _conflict_profiles(members)
        volumes = [b.volume_dm3 for b in members]
        weights = [b.weight_g for b in members]
        for bin_items in binpacking.pack(volumes, weights, profiles, conflicting, capacity, improve=improve):
            load = _Load(group)
            for index in bin_items:
                load.load(members[index])
            loads.append(load)
    return loads


def _pack_within_budget(
    container: ContainerSpec, bookings: list[PoolBooking], group_of: dict[str, GroupKey], budget: int
) -> tuple[list[_Load], list[PoolBooking]]:
    """The oldest bookings that pack within the budget, then each newer one wherever room is left.

    The longest prefix is bisected with the construction alone (fast; it never packs tighter
    than the full method), below the longest prefix whose lower bound is within the budget.
    """
    # The whole list is known not to fit; no prefix longer than the lower bound allows can.
    fits, too_many = 0, min(_longest_prefix(container, bookings, group_of, budget) + 1, len(bookings))
    while too_many - fits > 1:
        middle = (fits + too_many) // 2
        if len(_pack(container, bookings[:middle], group_of, improve=False)) <= budget:
            fits = middle
        else:
            too_many = middle
    loads = _pack(container, bookings[:fits], group_of)
    left_over: list[PoolBooking] = []
    for booking in bookings[fits:]:
        group = group_of[booking.reference]
        load = next((x for x in loads if x.group == group and x.takes(booking, container)), None)
        if load is None and len(loads) < budget:
            load = _Load(group)
            loads.append(load)
        if load is None:
            left_over.append(booking)
        else:
            load.load(booking)
    return loads, left_over


def _longest_prefix(
    container: ContainerSpec, bookings: list[PoolBooking], group_of: dict[str, GroupKey], budget: int
) -> int:
    """The longest prefix of the bookings whose lower bound is within the budget."""
    capacity = (container.usable_dm3, container.payload_g)
    totals: dict[GroupKey, tuple[int, int]] = {}
    needed = 0
    for count, booking in enumerate(bookings):
        group = group_of[booking.reference]
        volume, weight = totals.get(group, (0, 0))
        before = binpacking.lower_bound(volume, weight, capacity) if group in totals else 0
        volume, weight = volume + booking.volume_dm3, weight + booking.weight_g
        totals[group] = (volume, weight)
        needed += binpacking.lower_bound(volume, weight, capacity) - before
        if needed > budget:
            return count
    return len(bookings)


def _group_order(key: GroupKey) -> tuple[bool, Decimal]:
    """Dry cargo first, then reefer bands from the coldest."""
    return (key is not None, key if key is not None else Decimal(0))


def _conflict_profiles(
    bookings: Sequence[PoolBooking],
) -> tuple[list[int], Callable[[int, int], bool]]:
    """A profile per distinct set of dangerous goods (-1: none), and whether two profiles conflict."""
    profile_of: dict[frozenset[DangerousGoods], int] = {}
    profiles: list[int] = []
    for booking in bookings:
        if booking.dangerous_goods:
            profiles.append(profile_of.setdefault(frozenset(booking.dangerous_goods), len(profile_of)))
        else:
            profiles.append(-1)
    distinct = [tuple(goods) for goods in profile_of]

    def conflicting(p: int, q: int) -> bool:
        return first_conflict(distinct[p], distinct[q]) is not None

    return profiles, conflicting


def _planned(container: ContainerSpec, loads: list[_Load]) -> tuple[PlannedContainer, ...]:
    """Containers numbered dry first, then by set point, each group by its oldest booking."""
    for load in loads:
        load.bookings.sort(key=booking_order)
    ordered = sorted(loads, key=lambda load: (_group_order(load.group), booking_order(load.bookings[0])))
    return tuple(
        PlannedContainer(
            number=number,
            size_type=container.size_type,
            bookings=tuple(b.reference for b in load.bookings),
            volume_dm3=load.volume_dm3,
            weight_g=load.weight_g,
            dangerous_goods_classes=tuple(
                sorted({hazard_division(g.imo_class) for g in load.dangerous_goods})
            ),
            set_point_c=min(
                (b.set_point_c for b in load.bookings if b.set_point_c is not None), default=None
            ),
            non_operating_reefer=container.is_reefer and load.group is None,
        )
        for number, load in enumerate(ordered, start=1)
    )
