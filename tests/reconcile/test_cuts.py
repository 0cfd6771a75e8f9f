"""Carrier raises and cuts: a cut below what is sold frees unsold units first, then releases
holds newest first, then rolls the newest bookings with an alternative held on the next
sailing of the lane."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from app.reconcile.service import reconcile
from app.reservations.bookings import get_booking
from app.reservations.invariants import check_invariants
from app.runtime import Runtime
from app.sync.service import pending_changes
from tests.factories import World
from tests.reconcile.reconcile_world import (
    allotment,
    booking_states,
    events_of,
    fcl_booking,
    fcl_hold,
    hold_rows,
    lcl_booking,
    make_lane,
    pool,
    rolled,
)
from tests.sync.sync_world import with_units


async def test_a_raise_is_already_applied_and_is_only_marked_handled(runtime: Runtime, world: World) -> None:
    lane = await make_lane(runtime)
    await lane.resync(first=with_units(lane.first, "42G1", 12))

    report = await reconcile(lane.rt)

    assert report.changes_handled == {"allotment.raised": 1}
    assert (await allotment(lane.rt, lane.ids["R1"])).units_total == 12
    assert await pending_changes(lane.rt) == []
    assert await check_invariants(lane.rt) == []


async def test_a_cut_within_unsold_units_lowers_the_total_and_touches_nothing_sold(
    runtime: Runtime, world: World
) -> None:
    lane = await make_lane(runtime)
    held = await fcl_hold(lane.rt, world.shipper, lane.ids["R1"], 2)
    booked = await fcl_booking(lane.rt, world.shipper, lane.ids["R1"], 3)
    await lane.resync(first=with_units(lane.first, "42G1", 5))

    report = await reconcile(lane.rt)

    assert report.changes_handled == {"allotment.cut": 1}
    assert (report.holds_released, report.bookings_rolled) == (0, 0)
    counters = await allotment(lane.rt, lane.ids["R1"])
    assert (counters.units_total, counters.units_held, counters.units_booked) == (5, 2, 3)
    assert (await hold_rows(lane.rt))[held.id].state == "active"
    assert (await booking_states(lane.rt))[booked.reference] == "confirmed"
    assert await check_invariants(lane.rt) == []


async def test_a_cut_below_what_is_sold_releases_the_newest_hold_first(
    runtime: Runtime, world: World
) -> None:
    lane = await make_lane(runtime)
    older = await fcl_hold(lane.rt, world.shipper, lane.ids["R1"], 2)
    newer = await fcl_hold(lane.rt, world.other_shipper, lane.ids["R1"], 2)
    booked = await fcl_booking(lane.rt, world.shipper, lane.ids["R1"], 4)
    # 8 of 10 sold: a cut to 7 needs one unit back, and the newest hold gives it.
    await lane.resync(first=with_units(lane.first, "42G1", 7))

    report = await reconcile(lane.rt)

    states = {hold_id: row.state for hold_id, row in (await hold_rows(lane.rt)).items()}
    assert (states[older.id], states[newer.id]) == ("active", "released")
    assert (await booking_states(lane.rt))[booked.reference] == "confirmed"
    [released] = await events_of(lane.rt, "hold.released")
    assert (released.subject_id, released.payload["reason"]) == (str(newer.id), "carrier_cut")
    counters = await allotment(lane.rt, lane.ids["R1"])
    assert (counters.units_total, counters.units_held, counters.units_booked) == (7, 2, 4)
    assert report.changes_handled == {"allotment.cut": 1}
    assert await check_invariants(lane.rt) == []


async def test_a_deep_cut_releases_every_hold_before_rolling_the_newest_bookings_with_an_offer(
    runtime: Runtime, world: World
) -> None:
    lane = await make_lane(runtime)
    oldest_booking = await fcl_booking(lane.rt, world.shipper, lane.ids["R1"], 2)
    newest_booking = await fcl_booking(lane.rt, world.market_shipper, lane.ids["R1"], 2)
    first_hold = await fcl_hold(lane.rt, world.shipper, lane.ids["R1"], 2)
    second_hold = await fcl_hold(lane.rt, world.other_shipper, lane.ids["R1"], 1)
    # 7 sold, cut to 3: both holds (3 units) are not enough; the newest booking rolls.
    await lane.resync(first=with_units(lane.first, "42G1", 3))

    report = await reconcile(lane.rt)

    released = [event.subject_id for event in await events_of(lane.rt, "hold.released")]
    assert released == [str(second_hold.id), str(first_hold.id)]  # newest first
    assert await booking_states(lane.rt) == {
        oldest_booking.reference: "confirmed",
        newest_booking.reference: "rolled",
    }
    counters = await allotment(lane.rt, lane.ids["R1"])
    assert (counters.units_total, counters.units_held, counters.units_booked) == (3, 0, 2)
    [rolled_event] = await events_of(lane.rt, "booking.rolled")
    offered = rolled_event.payload["alternative"]
    assert rolled_event.subject_id == newest_booking.reference
    assert rolled_event.payload["cause"] == "carrier_cut"
    offered_hold = (await hold_rows(lane.rt))[uuid.UUID(offered["hold_id"])]
    assert offered_hold.sailing_id == lane.ids["R2"] == uuid.UUID(offered["sailing_id"])
    assert (offered_hold.state, offered_hold.units) == ("active", 2)
    assert offered_hold.organisation_id == world.market_shipper.organisation_id
    assert offered_hold.placed_by_id == newest_booking.placed_by  # as the original was
    assert offered_hold.expires_at == datetime.fromisoformat(offered["expires_at"])
    assert offered_hold.expires_at - offered_hold.created_at == timedelta(seconds=1800)
    assert [row.offered_hold_id for row in (await rolled(lane.rt)).values()] == [offered_hold.id]
    # The booking links to its offered hold, in the API and in its event.
    assert rolled_event.payload["offered_hold_id"] == offered["hold_id"]
    view = await get_booking(lane.rt, world.market_shipper.actor, newest_booking.reference)
    assert view.offered_hold_id == offered_hold.id
    assert (await allotment(lane.rt, lane.ids["R2"])).units_held == 2
    assert (report.holds_released, report.bookings_rolled, report.alternatives_offered) == (2, 1, 1)
    assert await check_invariants(lane.rt) == []


async def test_a_rolled_booking_is_told_when_no_later_sailing_has_space(
    runtime: Runtime, world: World
) -> None:
    lane = await make_lane(runtime)
    booked = await fcl_booking(lane.rt, world.shipper, lane.ids["R1"], 3)
    await fcl_booking(lane.rt, world.other_shipper, lane.ids["R2"], 9)  # one unit left there
    await lane.resync(first=with_units(lane.first, "42G1", 0))

    report = await reconcile(lane.rt)

    [rolled_event] = await events_of(lane.rt, "booking.rolled")
    assert rolled_event.subject_id == booked.reference
    assert rolled_event.payload["alternative"] is None
    assert "no later sailing" in rolled_event.payload["alternative_unavailable"]
    assert [row.offered_hold_id for row in (await rolled(lane.rt)).values()] == [None]
    assert rolled_event.payload["offered_hold_id"] is None
    assert (await allotment(lane.rt, lane.ids["R2"])).units_held == 0  # the failed claim left nothing
    assert (report.alternatives_offered, report.alternatives_unavailable) == (0, 1)
    assert (await allotment(lane.rt, lane.ids["R1"])).units_total == 0
    assert await check_invariants(lane.rt) == []


async def test_a_cut_into_pooled_units_rolls_lcl_bookings_newest_first_until_a_container_empties(
    runtime: Runtime, world: World
) -> None:
    lane = await make_lane(runtime)
    # The pool (22G1, 28 CBM usable per container) draws containers from the 22G1 allotment of 4.
    first = await lcl_booking(lane.rt, world.shipper, lane.ids["R1"], "20")
    second = await lcl_booking(lane.rt, world.other_shipper, lane.ids["R1"], "20")  # draws a second
    third = await lcl_booking(lane.rt, world.market_shipper, lane.ids["R1"], "5")
    assert (await allotment(lane.rt, lane.ids["R1"], "22G1")).units_pooled == 2
    # Cut to 1: two free units go, then one of the two pooled containers must empty.
    await lane.resync(first=with_units(lane.first, "22G1", 1))

    report = await reconcile(lane.rt)

    # 45 CBM in two containers; rolling the 5 CBM leaves 40 (still two), the 20 after it 20 (one).
    assert await booking_states(lane.rt) == {
        first.reference: "confirmed",
        second.reference: "rolled",
        third.reference: "rolled",
    }
    counters = await allotment(lane.rt, lane.ids["R1"], "22G1")
    assert (counters.units_total, counters.units_pooled) == (1, 1)
    assert (await pool(lane.rt, lane.ids["R1"])).containers == 1
    offers = [event.payload["alternative"] for event in await events_of(lane.rt, "booking.rolled")]
    assert all(offered is not None for offered in offers)
    assert (await pool(lane.rt, lane.ids["R2"])).volume_held_dm3 == 25_000
    assert report.bookings_rolled == 2
    assert await check_invariants(lane.rt) == []
