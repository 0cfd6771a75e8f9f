"""Packing a closing pool: capacity, segregation, reefer rules, the container budget, determinism."""

from __future__ import annotations

import random
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.consolidation import (
    ConsolidationPlan,
    ContainerSpec,
    PoolCargo,
    RollReason,
    check_plan,
    plan_consolidation,
)
from app.domain.consolidation.planner import booking_order, refusal
from tests.unit.pool_cargo import (
    ACID,
    ALKALI,
    BATTERIES,
    CARTRIDGES,
    INK,
    OXIDIZER,
    PAINT,
    SMALL,
    SMALL_REEFER,
    booking,
    pool,
    pools,
)


def containers(plan: ConsolidationPlan) -> list[set[str]]:
    return [set(planned.bookings) for planned in plan.containers]


def rolled(plan: ConsolidationPlan) -> dict[str, RollReason]:
    return {r.reference: r.reason for r in plan.rolled}


# Properties -------------------------------------------------------------------------------------


@settings(max_examples=300)
@given(pools())
def test_any_plan_keeps_invariant_5(cargo: PoolCargo) -> None:
    """Capacity never exceeded, segregation and reefer rules kept, every booking exactly once."""
    plan = plan_consolidation(cargo)

    assert check_plan(cargo, plan) == ()
    placed = [r for planned in plan.containers for r in planned.bookings]
    everything = placed + [r.reference for r in plan.rolled]
    assert sorted(everything) == sorted(b.reference for b in cargo.bookings)
    for planned in plan.containers:
        assert planned.volume_dm3 <= cargo.container.usable_dm3
        assert planned.weight_g <= cargo.container.payload_g


@settings(max_examples=150)
@given(pools(), st.randoms(use_true_random=False))
def test_same_pool_gives_the_same_plan_whatever_the_order_of_its_bookings(
    cargo: PoolCargo, shuffler: random.Random
) -> None:
    shuffled = list(cargo.bookings)
    shuffler.shuffle(shuffled)
    reordered = PoolCargo(
        container=cargo.container,
        bookings=tuple(shuffled),
        container_budget=cargo.container_budget,
        set_point_tolerance_c=cargo.set_point_tolerance_c,
    )

    assert plan_consolidation(reordered) == plan_consolidation(cargo)


@settings(max_examples=200)
@given(pools())
def test_budget_rolls_the_newest_first_and_only_when_the_budget_is_used_up(cargo: PoolCargo) -> None:
    plan = plan_consolidation(cargo)
    by_budget = [r.reference for r in plan.rolled if r.reason == RollReason.CONTAINER_BUDGET]
    if not by_budget:
        return
    assert len(plan.containers) == cargo.container_budget
    order = {b.reference: booking_order(b) for b in cargo.bookings}
    oldest_rolled = min(order[r] for r in by_budget)
    placed = set(plan.container_by_booking())
    for b in cargo.bookings:
        if order[b.reference] < oldest_rolled and refusal(cargo.container, b) is None:
            assert b.reference in placed, "an older booking was rolled before a newer one"


@settings(max_examples=150)
@given(pools(budget=False))
def test_without_a_budget_only_bookings_no_container_can_take_are_rolled(cargo: PoolCargo) -> None:
    plan = plan_consolidation(cargo)

    assert len(plan.containers) >= plan.lower_bound
    for r in plan.rolled:
        assert r.reason != RollReason.CONTAINER_BUDGET
        assert refusal(cargo.container, next(b for b in cargo.bookings if b.reference == r.reference))


# Capacity ---------------------------------------------------------------------------------------


def test_volume_fills_containers_to_the_lower_bound() -> None:
    cargo = pool(*(booking(f"B{n}", "2.5", 100, minute=n) for n in range(20)))  # 50 CBM into 10 CBM

    plan = plan_consolidation(cargo)

    assert len(plan.containers) == plan.lower_bound == 5
    assert all(planned.volume_dm3 == 10_000 for planned in plan.containers)
    assert plan.fill_percent(plan.containers[0]) == (Decimal("100.0"), Decimal("8.0"))


def test_heavy_cargo_is_spread_so_volume_is_not_wasted() -> None:
    # Four small heavy crates (2.4 t each: about half a payload) and eight light bales (2.25 CBM):
    # two containers suffice only if each takes two crates and four bales.
    crates = [booking(f"H{n}", "0.5", 2400, minute=n) for n in range(4)]
    bales = [booking(f"L{n}", "2.25", 1, minute=10 + n) for n in range(8)]

    plan = plan_consolidation(pool(*crates, *bales))

    assert len(plan.containers) == plan.lower_bound == 2
    for planned in plan.containers:
        assert sum(r.startswith("H") for r in planned.bookings) == 2


def test_weight_bound_pool_never_exceeds_payload() -> None:
    cargo = pool(*(booking(f"B{n}", "0.5", 3000, minute=n) for n in range(5)))  # 3 t each, 5 t payload

    plan = plan_consolidation(cargo)

    assert len(plan.containers) == 5
    assert plan.lower_bound == 3


def test_booking_larger_than_a_container_is_rolled_with_its_reason() -> None:
    cargo = pool(booking("BIG", 11, 100), booking("HEAVY", 1, 5001), booking("OK", 1, 100))

    plan = plan_consolidation(cargo)

    assert rolled(plan) == {"BIG": RollReason.EXCEEDS_VOLUME, "HEAVY": RollReason.EXCEEDS_PAYLOAD}
    assert containers(plan) == [{"OK"}]
    assert "11000 dm3" in next(r.detail for r in plan.rolled if r.reference == "BIG")


def test_empty_pool_plans_no_container() -> None:
    plan = plan_consolidation(pool())

    assert plan.containers == ()
    assert plan.rolled == ()
    assert plan.lower_bound == 0


# Dangerous goods --------------------------------------------------------------------------------


def test_dangerous_goods_that_must_be_segregated_go_to_separate_containers() -> None:
    cargo = pool(
        booking("PAINT", goods=(PAINT,)),
        booking("OXIDIZER", minute=1, goods=(OXIDIZER,)),
        booking("CARTRIDGES", minute=2, goods=(CARTRIDGES,)),
        booking("GENERAL", minute=3),
    )

    plan = plan_consolidation(cargo)

    assert plan.lower_bound == 1
    assert len(plan.containers) == 3
    for planned in plan.containers:
        assert len(planned.dangerous_goods_classes) == 1
    assert check_plan(cargo, plan) == ()


def test_compatible_dangerous_goods_share_a_container_with_general_cargo() -> None:
    cargo = pool(
        booking("PAINT", goods=(PAINT,)),
        booking("INK", minute=1, goods=(INK,)),  # same class 3 (IMDG 7.2.6.1)
        booking("PAINT-2", minute=2, goods=(PAINT,)),
        booking("GENERAL", minute=3),
    )

    plan = plan_consolidation(cargo)

    assert containers(plan) == [{"PAINT", "INK", "PAINT-2", "GENERAL"}]
    assert plan.containers[0].dangerous_goods_classes == ("3",)


def test_acids_and_alkalis_of_one_class_are_kept_apart() -> None:
    plan = plan_consolidation(
        pool(booking("ACID", goods=(ACID,)), booking("ALKALI", minute=1, goods=(ALKALI,)))
    )

    assert containers(plan) == [{"ACID"}, {"ALKALI"}]


def test_lithium_batteries_do_not_ride_with_paint_without_the_dangerous_goods_list() -> None:
    plan = plan_consolidation(
        pool(booking("PAINT", goods=(PAINT,)), booking("BATT", minute=1, goods=(BATTERIES,)))
    )

    assert len(plan.containers) == 2


def test_booking_whose_own_goods_must_be_segregated_is_rolled() -> None:
    cargo = pool(booking("MIXED", goods=(PAINT, OXIDIZER)), booking("OK", minute=1))

    plan = plan_consolidation(cargo)

    assert rolled(plan) == {"MIXED": RollReason.SEGREGATION_WITHIN_BOOKING}
    assert "separated from" in plan.rolled[0].detail


# Reefer -----------------------------------------------------------------------------------------


def test_reefer_cargo_shares_only_with_the_same_set_point() -> None:
    cargo = pool(
        booking("F1", set_point="-18"),
        booking("F2", minute=1, set_point="-18.0"),
        booking("CHILLED", minute=2, set_point="2"),
        container=SMALL_REEFER,
    )

    plan = plan_consolidation(cargo)

    assert containers(plan) == [{"F1", "F2"}, {"CHILLED"}]
    assert [planned.set_point_c for planned in plan.containers] == [Decimal(-18), Decimal(2)]
    assert plan.lower_bound == 2


def test_set_points_within_the_tolerance_share_and_run_at_the_coldest() -> None:
    cargo = pool(
        booking("A", set_point="-17.5"),
        booking("B", minute=1, set_point="-18"),
        booking("C", minute=2, set_point="-17"),
        container=SMALL_REEFER,
        tolerance="0.5",
    )

    plan = plan_consolidation(cargo)

    # Bands from the coldest: [-18, -17.5] and [-17].
    assert containers(plan) == [{"A", "B"}, {"C"}]
    assert plan.containers[0].set_point_c == Decimal(-18)


def test_dry_cargo_in_a_reefer_pool_rides_in_a_non_operating_reefer() -> None:
    cargo = pool(booking("DRY"), booking("FROZEN", minute=1, set_point="-18"), container=SMALL_REEFER)

    plan = plan_consolidation(cargo)

    dry, frozen = plan.containers
    assert (dry.bookings, dry.non_operating_reefer, dry.set_point_c) == (("DRY",), True, None)
    assert (frozen.bookings, frozen.non_operating_reefer, frozen.set_point_c) == (
        ("FROZEN",),
        False,
        Decimal(-18),
    )


def test_reefer_cargo_in_a_dry_pool_is_rolled() -> None:
    plan = plan_consolidation(pool(booking("FROZEN", set_point="-18"), booking("DRY", minute=1)))

    assert rolled(plan) == {"FROZEN": RollReason.REEFER_IN_DRY_POOL}
    assert not plan.containers[0].non_operating_reefer


# Container budget -------------------------------------------------------------------------------


def test_more_cargo_than_the_budget_rolls_the_newest_first() -> None:
    cargo = pool(
        booking("NEWEST", 4, minute=30),
        booking("OLDEST", 4, minute=0),
        booking("SECOND", 4, minute=10),
        booking("THIRD", 4, minute=20),
        budget=1,
    )

    plan = plan_consolidation(cargo)

    assert containers(plan) == [{"OLDEST", "SECOND"}]
    assert [r.reference for r in plan.rolled] == ["NEWEST", "THIRD"]
    assert {r.reason for r in plan.rolled} == {RollReason.CONTAINER_BUDGET}


def test_a_newer_booking_that_still_fits_the_room_left_is_carried() -> None:
    cargo = pool(
        booking("OLD", 6, minute=0), booking("LARGE", 5, minute=1), booking("SMALL", 3, minute=2), budget=1
    )

    plan = plan_consolidation(cargo)

    assert containers(plan) == [{"OLD", "SMALL"}]
    assert rolled(plan) == {"LARGE": RollReason.CONTAINER_BUDGET}


def test_a_zero_budget_rolls_everything_and_the_budget_is_not_a_reason_for_oversize() -> None:
    cargo = pool(booking("A", 1), booking("BIG", 20, minute=1), budget=0)

    plan = plan_consolidation(cargo)

    assert plan.containers == ()
    assert rolled(plan) == {"A": RollReason.CONTAINER_BUDGET, "BIG": RollReason.EXCEEDS_VOLUME}


def test_within_budget_nothing_is_rolled() -> None:
    cargo = pool(*(booking(f"B{n}", 5, minute=n) for n in range(4)), budget=2)

    plan = plan_consolidation(cargo)

    assert len(plan.containers) == 2
    assert plan.rolled == ()


# Containers as the close-pools job reads them ---------------------------------------------------


def test_containers_are_numbered_dry_first_then_from_the_coldest_set_point() -> None:
    cargo = pool(
        booking("CHILLED", minute=0, set_point="2"),
        booking("DRY", minute=1),
        booking("FROZEN", minute=2, set_point="-18"),
        container=SMALL_REEFER,
    )

    plan = plan_consolidation(cargo)

    assert [(p.number, p.bookings) for p in plan.containers] == [
        (1, ("DRY",)),
        (2, ("FROZEN",)),
        (3, ("CHILLED",)),
    ]
    assert plan.container_by_booking() == {"DRY": 1, "FROZEN": 2, "CHILLED": 3}
    assert all(p.size_type == "45R1" for p in plan.containers)


def test_standard_container_spec_follows_the_pool_tables() -> None:
    spec = ContainerSpec.standard("45G1")

    assert (spec.usable_dm3, spec.payload_g, spec.is_reefer) == (58_000, 26_000_000, False)
    assert ContainerSpec.standard("45R1").is_reefer
    assert SMALL.is_reefer is False
