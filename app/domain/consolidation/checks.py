"""Invariant 5 as code: a plan carries every live booking once, in containers that keep the rules.

``check_plan`` trusts nothing the plan states about itself: volumes, weights, classes and set
points are summed again from the pool's bookings. An empty answer means the plan holds.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from enum import StrEnum

import msgspec

from app.domain.consolidation.cargo import DangerousGoods, PoolBooking, PoolCargo, hazard_division
from app.domain.consolidation.plan import ConsolidationPlan, PlannedContainer, RollReason
from app.domain.consolidation.planner import refusal
from app.domain.consolidation.reefer import set_points_compatible
from app.domain.consolidation.segregation import first_conflict


class ViolationKind(StrEnum):
    MISSING = "booking-missing"
    DUPLICATED = "booking-duplicated"
    UNKNOWN = "unknown-booking"
    WRONG_CONTAINER = "wrong-container"
    EMPTY_CONTAINER = "empty-container"
    OVER_VOLUME = "over-volume"
    OVER_PAYLOAD = "over-payload"
    SEGREGATION = "segregation"
    REEFER_IN_DRY_CONTAINER = "reefer-in-dry-container"
    SET_POINTS = "set-points-incompatible"
    DRY_IN_OPERATING_REEFER = "dry-in-operating-reefer"
    MISDECLARED = "container-misdeclared"
    OVER_BUDGET = "over-budget"
    ROLL_REASON = "roll-reason-false"


class PlanViolation(msgspec.Struct, frozen=True, kw_only=True):
    kind: ViolationKind
    detail: str
    container: int | None = None
    bookings: tuple[str, ...] = ()


def check_plan(pool: PoolCargo, plan: ConsolidationPlan) -> tuple[PlanViolation, ...]:
    """Every broken rule of the plan for this pool; empty when invariant 5 holds."""
    found: list[PlanViolation] = []
    by_reference = {booking.reference: booking for booking in pool.bookings}
    found.extend(_accounting(pool, plan, by_reference))
    numbers = Counter(planned.number for planned in plan.containers)
    for planned in plan.containers:
        if numbers[planned.number] > 1:
            found.append(_violation(ViolationKind.MISDECLARED, planned, "container number repeats"))
        aboard = [by_reference[r] for r in dict.fromkeys(planned.bookings) if r in by_reference]
        found.extend(_container(pool, planned, aboard))
    return tuple(found)


def _accounting(
    pool: PoolCargo, plan: ConsolidationPlan, by_reference: dict[str, PoolBooking]
) -> list[PlanViolation]:
    """Each live booking exactly once, placed or rolled for a true reason; the budget kept."""
    found: list[PlanViolation] = []
    if plan.container != pool.container:
        found.append(
            PlanViolation(kind=ViolationKind.WRONG_CONTAINER, detail="planned for another container")
        )
    budget = pool.container_budget
    if budget is not None and len(plan.containers) > budget:
        found.append(
            PlanViolation(
                kind=ViolationKind.OVER_BUDGET, detail=f"{len(plan.containers)} containers, budget {budget}"
            )
        )
    seen = Counter(
        [r for planned in plan.containers for r in planned.bookings] + [r.reference for r in plan.rolled]
    )
    for reference, count in seen.items():
        if reference not in by_reference:
            found.append(_about(ViolationKind.UNKNOWN, reference, "not a live booking of this pool"))
        elif count > 1:
            found.append(_about(ViolationKind.DUPLICATED, reference, f"appears {count} times in the plan"))
    for reference in by_reference.keys() - seen.keys():
        found.append(_about(ViolationKind.MISSING, reference, "neither in a container nor rolled"))
    for rolled in plan.rolled:
        booking = by_reference.get(rolled.reference)
        if booking is None:
            continue
        refused = refusal(pool.container, booking)
        if refused is not None and refused.reason != rolled.reason:
            found.append(
                _about(
                    ViolationKind.ROLL_REASON,
                    rolled.reference,
                    f"rolled as {rolled.reason}: {refused.detail}",
                )
            )
        elif refused is None and rolled.reason != RollReason.CONTAINER_BUDGET:
            found.append(
                _about(ViolationKind.ROLL_REASON, rolled.reference, f"fits a container, not {rolled.reason}")
            )
        elif refused is None and (budget is None or len(plan.containers) < budget):
            found.append(
                _about(ViolationKind.ROLL_REASON, rolled.reference, "rolled while the budget had room")
            )
    return found


def _container(pool: PoolCargo, planned: PlannedContainer, aboard: list[PoolBooking]) -> list[PlanViolation]:
    container = pool.container
    found: list[PlanViolation] = []
    if not aboard:
        return [_violation(ViolationKind.EMPTY_CONTAINER, planned, "no live booking aboard")]
    volume = sum(b.volume_dm3 for b in aboard)
    weight = sum(b.weight_g for b in aboard)
    if volume > container.usable_dm3:
        found.append(
            _violation(ViolationKind.OVER_VOLUME, planned, f"{volume} dm3 > {container.usable_dm3} dm3")
        )
    if weight > container.payload_g:
        found.append(_violation(ViolationKind.OVER_PAYLOAD, planned, f"{weight} g > {container.payload_g} g"))
    found.extend(_segregation(planned, aboard))
    reefer = [b for b in aboard if b.set_point_c is not None]
    dry = [b for b in aboard if b.set_point_c is None]
    set_points = [b.set_point_c for b in reefer if b.set_point_c is not None]
    if reefer and not container.is_reefer:
        found.append(_violation(ViolationKind.REEFER_IN_DRY_CONTAINER, planned, container.size_type, reefer))
    if not set_points_compatible(set_points, pool.set_point_tolerance_c):
        found.append(
            _violation(
                ViolationKind.SET_POINTS, planned, f"{min(set_points)} to {max(set_points)} °C", reefer
            )
        )
    if reefer and dry:
        found.append(
            _violation(ViolationKind.DRY_IN_OPERATING_REEFER, planned, "dry cargo beside reefer cargo", dry)
        )
    declared = (
        volume,
        weight,
        tuple(sorted({hazard_division(g.imo_class) for b in aboard for g in b.dangerous_goods})),
        min(set_points, default=None),
        container.is_reefer and not reefer,
        container.size_type,
    )
    stated: tuple[int, int, tuple[str, ...], Decimal | None, bool, str] = (
        planned.volume_dm3,
        planned.weight_g,
        planned.dangerous_goods_classes,
        planned.set_point_c,
        planned.non_operating_reefer,
        planned.size_type,
    )
    if stated != declared:
        found.append(_violation(ViolationKind.MISDECLARED, planned, f"states {stated}, carries {declared}"))
    return found


def _segregation(planned: PlannedContainer, aboard: list[PoolBooking]) -> list[PlanViolation]:
    """Every pair of dangerous goods lines aboard, within one booking as well as across bookings."""
    lines: list[tuple[PoolBooking, DangerousGoods]] = [(b, g) for b in aboard for g in b.dangerous_goods]
    found: list[PlanViolation] = []
    for index, (booking, goods) in enumerate(lines):
        for other_booking, other in lines[index + 1 :]:
            conflict = first_conflict((goods,), (other,))
            if conflict is not None:
                detail = (
                    f"UN {goods.un_number} (class {goods.imo_class}) and UN {other.un_number}"
                    f" (class {other.imo_class}) must be {conflict[2]}"
                )
                found.append(_violation(ViolationKind.SEGREGATION, planned, detail, [booking, other_booking]))
    return found


def _violation(
    kind: ViolationKind, planned: PlannedContainer, detail: str, bookings: list[PoolBooking] | None = None
) -> PlanViolation:
    references = tuple(dict.fromkeys(b.reference for b in bookings or []))
    return PlanViolation(kind=kind, detail=detail, container=planned.number, bookings=references)


def _about(kind: ViolationKind, reference: str, detail: str) -> PlanViolation:
    return PlanViolation(kind=kind, detail=detail, bookings=(reference,))
