"""The plan of a carrier's cut, without a database: unsold units first, then empty pool
containers, then holds newest first, then bookings newest first; FCL before LCL; LCL space in
whole containers only; never a total above the carrier's figure unless something could not go."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from app.domain.capacity import Quantity
from app.domain.shrink import (
    AllotmentUse,
    Occupant,
    PoolUse,
    bookings_to_roll,
    holds_to_release,
    plan_cuts,
    plan_shrink,
)
from app.domain.states import Load

ALLOTMENT = uuid.uuid4()
POOL = uuid.uuid4()
CBM = 1_000  # dm3
CONTAINER_DM3, CONTAINER_G = 28 * CBM, 21_000_000


def allotment(total: int, held: int = 0, booked: int = 0, pooled: int = 0, **more: object) -> AllotmentUse:
    return AllotmentUse(
        id=more.get("id", ALLOTMENT),  # type: ignore[arg-type]
        sailing_id=uuid.uuid4(),
        size_type="22G1",
        units_total=total,
        units_held=held,
        units_booked=booked,
        units_pooled=pooled,
        units_offered=more.get("offered"),  # type: ignore[arg-type]
    )


def pool(containers: int, used_cbm: int = 0, allotment_id: uuid.UUID = ALLOTMENT) -> PoolUse:
    return PoolUse(
        id=POOL if allotment_id == ALLOTMENT else uuid.uuid4(),
        allotment_id=allotment_id,
        containers=containers,
        container_volume_dm3=CONTAINER_DM3,
        container_weight_g=CONTAINER_G,
        volume_used_dm3=used_cbm * CBM,
        weight_used_g=used_cbm * 1_000,
    )


def fcl(units: int, allotment_id: uuid.UUID = ALLOTMENT) -> Occupant:
    return Occupant(
        uuid.uuid4(), Quantity(load=Load.FCL, allotment_id=allotment_id, pool_id=None, units=units)
    )


def lcl(cbm: int, pool_id: uuid.UUID = POOL) -> Occupant:
    quantity = Quantity(
        load=Load.LCL, allotment_id=ALLOTMENT, pool_id=pool_id, volume_dm3=cbm * CBM, weight_g=cbm * 1_000
    )
    return Occupant(uuid.uuid4(), quantity)


def test_a_figure_at_or_above_the_total_needs_nothing() -> None:
    plan = plan_shrink(allotment(10, held=10), None, 12, [fcl(10)], [])

    assert (plan.units_total, plan.release, plan.roll, plan.complete) == (10, [], [], True)


def test_a_cut_within_unsold_units_only_lowers_the_total() -> None:
    plan = plan_shrink(allotment(10, held=2, booked=3), None, 5, [fcl(2)], [fcl(3)])

    assert (plan.units_total, plan.release, plan.roll) == (5, [], [])


def test_holds_go_newest_first_and_before_any_booking() -> None:
    newest, older = fcl(1), fcl(1)
    booking = fcl(3)

    plan = plan_shrink(allotment(10, held=2, booked=3), None, 4, [newest, older], [booking])

    assert (plan.units_total, plan.release, plan.roll) == (4, [newest.id], [])


def test_bookings_roll_newest_first_once_every_hold_is_gone() -> None:
    hold = fcl(2)
    newest, older = fcl(2), fcl(2)

    plan = plan_shrink(allotment(10, held=2, booked=4), None, 1, [hold], [newest, older])

    assert (plan.release, plan.roll, plan.units_total) == ([hold.id], [newest.id, older.id], 1)


def test_fcl_holds_go_before_lcl_holds_of_the_pool() -> None:
    lcl_hold, fcl_hold = lcl(10), fcl(1)

    plan = plan_shrink(allotment(3, held=1, pooled=2), pool(2, used_cbm=10), 1, [lcl_hold, fcl_hold], [])

    # The empty second container goes back first; then the FCL unit, though the LCL hold is newer.
    assert (plan.containers_returned, plan.release, plan.units_total) == (1, [fcl_hold.id], 1)


def test_lcl_holds_go_newest_first_until_a_whole_container_empties() -> None:
    newest, middle, oldest = lcl(10), lcl(10), lcl(20)

    plan = plan_shrink(allotment(2, pooled=2), pool(2, used_cbm=40), 1, [newest, middle, oldest], [])

    # 40 CBM need two containers; 20 CBM fit in one: two holds go, one container comes back.
    assert (plan.release, plan.containers_returned, plan.units_total) == ([newest.id, middle.id], 1, 1)


def test_occupants_missing_from_the_plan_leave_it_incomplete_above_the_figure() -> None:
    """A hold placed after the rows were read: the plan cannot free it, and says so."""
    plan = plan_shrink(allotment(5, held=5), None, 2, [fcl(1)], [])

    assert not plan.complete
    assert plan.units_total == 4


def test_each_allotment_is_planned_with_its_own_occupants_and_pool() -> None:
    other = uuid.uuid4()
    mine, theirs = fcl(2), fcl(2, allotment_id=other)
    in_my_pool, in_their_pool = lcl(5), lcl(5, pool_id=uuid.uuid4())

    cuts = plan_cuts(
        [allotment(4, held=2, pooled=1), allotment(4, held=2, id=other)],
        [pool(1, used_cbm=5), pool(1, used_cbm=5, allotment_id=other)],
        lambda a: 0 if a.id == ALLOTMENT else None,
        [mine, theirs, in_my_pool, in_their_pool],
        [],
    )

    assert [cut.allotment.id for cut in cuts] == [ALLOTMENT]
    assert cuts[0].pool is not None
    assert cuts[0].pool.id == POOL
    assert cuts[0].plan.release == [mine.id, in_my_pool.id]
    assert (cuts[0].plan.containers_returned, cuts[0].plan.units_total, cuts[0].plan.complete) == (1, 0, True)
    assert (holds_to_release(cuts), bookings_to_roll(cuts)) == ([mine.id, in_my_pool.id], [])


@given(
    total=st.integers(1, 12),
    fcl_holds=st.lists(st.integers(1, 3), max_size=4),
    fcl_bookings=st.lists(st.integers(1, 3), max_size=4),
    lcl_holds=st.lists(st.integers(1, 28), max_size=4),
    wanted=st.integers(0, 14),
)
def test_a_complete_plan_fits_what_is_left_under_the_new_total(
    total: int, fcl_holds: list[int], fcl_bookings: list[int], lcl_holds: list[int], wanted: int
) -> None:
    held = [fcl(units) for units in fcl_holds] + [lcl(cbm) for cbm in lcl_holds]
    booked = [fcl(units) for units in fcl_bookings]
    used_cbm = sum(lcl_holds)
    containers = -(-used_cbm // 28)
    units_held, units_booked = sum(fcl_holds), sum(fcl_bookings)
    if units_held + units_booked + containers > total:
        total = units_held + units_booked + containers
    space = allotment(total, held=units_held, booked=units_booked, pooled=containers)

    plan = plan_shrink(space, pool(containers, used_cbm), wanted, held, booked)

    assert plan.complete
    assert plan.units_total == min(total, wanted)
    released = {o.id for o in held if o.id in plan.release} | {o.id for o in booked if o.id in plan.roll}
    fcl_left = sum(
        o.quantity.units for o in held + booked if o.quantity.load is Load.FCL and o.id not in released
    )
    cbm_left = sum(
        o.quantity.volume_dm3 for o in held if o.quantity.load is Load.LCL and o.id not in released
    )
    containers_left = containers - plan.containers_returned
    assert cbm_left <= containers_left * CONTAINER_DM3
    assert fcl_left + containers_left <= plan.units_total
