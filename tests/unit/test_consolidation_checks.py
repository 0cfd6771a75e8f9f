"""check_plan (invariant 5) catches every kind of broken plan, made by hand."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from app.domain.consolidation import (
    ConsolidationPlan,
    PlannedContainer,
    PoolCargo,
    RolledBooking,
    RollReason,
    ViolationKind,
    check_plan,
    plan_consolidation,
)
from tests.unit.pool_cargo import OXIDIZER, PAINT, SMALL, SMALL_REEFER, booking, pool


def container(number: int, cargo: PoolCargo, *references: str, **stated: object) -> PlannedContainer:
    """A container stating exactly what its bookings add up to, unless told otherwise."""
    aboard = [b for b in cargo.bookings if b.reference in references]
    set_points = [b.set_point_c for b in aboard if b.set_point_c is not None]
    fields: dict[str, object] = {
        "number": number,
        "size_type": cargo.container.size_type,
        "bookings": references,
        "volume_dm3": sum(b.volume_dm3 for b in aboard),
        "weight_g": sum(b.weight_g for b in aboard),
        "dangerous_goods_classes": tuple(sorted({g.imo_class for b in aboard for g in b.dangerous_goods})),
        "set_point_c": min(set_points, default=None),
        "non_operating_reefer": cargo.container.is_reefer and not set_points,
    }
    fields.update(stated)
    return PlannedContainer(**fields)  # type: ignore[arg-type]


def plan(
    cargo: PoolCargo, *containers: PlannedContainer, rolled: tuple[RolledBooking, ...] = ()
) -> ConsolidationPlan:
    return ConsolidationPlan(container=cargo.container, containers=containers, rolled=rolled, lower_bound=0)


def kinds(cargo: PoolCargo, bad: ConsolidationPlan) -> set[ViolationKind]:
    return {violation.kind for violation in check_plan(cargo, bad)}


CARGO = pool(booking("A", 4), booking("B", 4, minute=1), booking("C", 4, minute=2))


def test_a_sound_hand_made_plan_passes() -> None:
    assert check_plan(CARGO, plan(CARGO, container(1, CARGO, "A", "B"), container(2, CARGO, "C"))) == ()


def test_missing_booking_is_caught() -> None:
    violations = check_plan(CARGO, plan(CARGO, container(1, CARGO, "A", "B")))

    assert [(v.kind, v.bookings) for v in violations] == [(ViolationKind.MISSING, ("C",))]


def test_booking_in_two_containers_or_placed_and_rolled_is_caught() -> None:
    twice = plan(CARGO, container(1, CARGO, "A", "B"), container(2, CARGO, "C", "A"))
    rolled_too = plan(
        CARGO,
        container(1, CARGO, "A", "B"),
        container(2, CARGO, "C"),
        rolled=(RolledBooking(reference="C", reason=RollReason.CONTAINER_BUDGET, detail=""),),
    )

    assert ViolationKind.DUPLICATED in kinds(CARGO, twice)
    assert ViolationKind.DUPLICATED in kinds(CARGO, rolled_too)


def test_unknown_booking_and_empty_container_are_caught() -> None:
    bad = plan(CARGO, container(1, CARGO, "A", "B", "GHOST"), container(2, CARGO, "C"), container(3, CARGO))

    assert kinds(CARGO, bad) == {ViolationKind.UNKNOWN, ViolationKind.EMPTY_CONTAINER}


def test_over_volume_and_over_payload_are_caught_from_the_bookings_not_the_stated_fill() -> None:
    cargo = pool(booking("A", 6, 3000), booking("B", 6, 3000, minute=1))
    understated = container(1, cargo, "A", "B", volume_dm3=9_000, weight_g=4_000_000)

    assert kinds(cargo, plan(cargo, understated)) == {
        ViolationKind.OVER_VOLUME,
        ViolationKind.OVER_PAYLOAD,
        ViolationKind.MISDECLARED,
    }


def test_segregation_broken_between_bookings_and_within_one_is_caught() -> None:
    cargo = pool(booking("PAINT", goods=(PAINT,)), booking("OXIDIZER", minute=1, goods=(OXIDIZER,)))
    together = check_plan(cargo, plan(cargo, container(1, cargo, "PAINT", "OXIDIZER")))
    mixed = pool(booking("MIXED", goods=(PAINT, OXIDIZER)))
    placed_whole = check_plan(mixed, plan(mixed, container(1, mixed, "MIXED")))

    assert [(v.kind, v.bookings) for v in together] == [(ViolationKind.SEGREGATION, ("PAINT", "OXIDIZER"))]
    assert "separated from" in together[0].detail
    assert [v.kind for v in placed_whole] == [ViolationKind.SEGREGATION]


def test_reefer_cargo_in_a_dry_container_is_caught() -> None:
    cargo = pool(booking("FROZEN", set_point="-18"))
    bad = plan(cargo, container(1, cargo, "FROZEN", non_operating_reefer=False))

    assert ViolationKind.REEFER_IN_DRY_CONTAINER in kinds(cargo, bad)


def test_incompatible_set_points_in_one_reefer_are_caught() -> None:
    cargo = pool(booking("F", set_point="-18"), booking("C", minute=1, set_point="2"), container=SMALL_REEFER)

    assert kinds(cargo, plan(cargo, container(1, cargo, "F", "C"))) == {ViolationKind.SET_POINTS}


def test_dry_cargo_beside_reefer_cargo_is_caught() -> None:
    cargo = pool(booking("F", set_point="-18"), booking("DRY", minute=1), container=SMALL_REEFER)

    assert kinds(cargo, plan(cargo, container(1, cargo, "F", "DRY"))) == {
        ViolationKind.DRY_IN_OPERATING_REEFER
    }


@pytest.mark.parametrize(
    "stated",
    [
        {"volume_dm3": 1},
        {"weight_g": 1},
        {"dangerous_goods_classes": ("9",)},
        {"set_point_c": Decimal(-25)},
        {"non_operating_reefer": False},
        {"size_type": "22G1"},
    ],
)
def test_container_stating_other_than_it_carries_is_caught(stated: dict[str, object]) -> None:
    cargo = pool(booking("A", goods=(PAINT,)), container=SMALL_REEFER)

    assert kinds(cargo, plan(cargo, container(1, cargo, "A", **stated))) == {ViolationKind.MISDECLARED}


def test_repeated_container_number_is_caught() -> None:
    bad = plan(CARGO, container(1, CARGO, "A", "B"), container(1, CARGO, "C"))

    assert kinds(CARGO, bad) == {ViolationKind.MISDECLARED}


def test_plan_for_another_container_or_over_budget_is_caught() -> None:
    within_one = msgspec.structs.replace(CARGO, container_budget=1)
    good = plan(CARGO, container(1, CARGO, "A", "B"), container(2, CARGO, "C"))

    assert kinds(within_one, good) == {ViolationKind.OVER_BUDGET}
    other = msgspec.structs.replace(good, container=SMALL_REEFER)
    assert ViolationKind.WRONG_CONTAINER in kinds(CARGO, other)


def test_false_roll_reasons_are_caught() -> None:
    cargo = msgspec.structs.replace(CARGO, container_budget=2)
    oversize = plan(
        cargo,
        container(1, cargo, "A", "B"),
        rolled=(RolledBooking(reference="C", reason=RollReason.EXCEEDS_VOLUME, detail=""),),
    )
    budget_had_room = plan(
        cargo,
        container(1, cargo, "A", "B"),
        rolled=(RolledBooking(reference="C", reason=RollReason.CONTAINER_BUDGET, detail=""),),
    )
    no_budget = plan(
        CARGO,
        container(1, CARGO, "A", "B"),
        rolled=(RolledBooking(reference="C", reason=RollReason.CONTAINER_BUDGET, detail=""),),
    )
    big = pool(booking("BIG", 11))
    wrong_reason = plan(
        big, rolled=(RolledBooking(reference="BIG", reason=RollReason.EXCEEDS_PAYLOAD, detail=""),)
    )

    for bad_cargo, bad in [
        (cargo, oversize),
        (cargo, budget_had_room),
        (CARGO, no_budget),
        (big, wrong_reason),
    ]:
        assert kinds(bad_cargo, bad) == {ViolationKind.ROLL_REASON}


def test_plans_from_the_planner_pass_for_the_tricky_pool() -> None:
    cargo = pool(
        booking("PAINT", goods=(PAINT,)),
        booking("OXIDIZER", 9, minute=1, goods=(OXIDIZER,)),
        booking("BIG", 11, minute=2),
        booking("FROZEN", minute=3, set_point="-18"),
        *(booking(f"G{n}", 3, minute=10 + n) for n in range(8)),
        container=SMALL,
        budget=3,
    )

    result = plan_consolidation(cargo)

    assert check_plan(cargo, result) == ()
    assert len(result.containers) == 3
    assert {r.reason for r in result.rolled} == {
        RollReason.EXCEEDS_VOLUME,
        RollReason.REEFER_IN_DRY_POOL,
        RollReason.CONTAINER_BUDGET,
    }
