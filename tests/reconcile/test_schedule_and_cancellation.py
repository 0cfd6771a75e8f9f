"""A moved sailing tells its bookings and keeps holds within the new cut-off; a sailing the
carrier cancels releases every hold and rolls every booking, each with an alternative."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec

from app.reconcile.service import reconcile
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
    make_lane,
)
from tests.sync.sync_world import stored_sailings


async def test_a_schedule_change_tells_each_booking_and_no_hold_outlives_the_new_cut_off(
    runtime: Runtime, world: World
) -> None:
    lane = await make_lane(runtime)
    booked = await fcl_booking(lane.rt, world.shipper, lane.ids["R1"], 2)
    long_hold = await fcl_hold(lane.rt, world.other_shipper, lane.ids["R1"], 1, ttl_seconds=1500)
    short_hold = await fcl_hold(lane.rt, world.other_shipper, lane.ids["R1"], 1, ttl_seconds=60)
    # The carrier brings the sailing forward: its documentation cut-off is in ten minutes.
    now = datetime.now(UTC).replace(microsecond=0)
    etd = now + timedelta(days=2)
    moved = msgspec.structs.replace(
        lane.first,
        etd=etd,
        eta=etd + timedelta(days=14),
        cut_offs={"DCO": now + timedelta(minutes=10), "FCO": now + timedelta(days=1)},
    )
    await lane.resync(first=moved)

    report = await reconcile(lane.rt)

    assert report.changes_handled == {"sailing.schedule_changed": 1}
    [told] = await events_of(lane.rt, "booking.schedule_changed")
    assert told.subject_id == booked.reference
    assert told.organisation_id == world.shipper.organisation_id
    assert datetime.fromisoformat(told.payload["etd"]) == etd
    assert datetime.fromisoformat(told.payload["cut_off"]) == now + timedelta(minutes=10)
    cut_off = (await stored_sailings(lane.rt, "RCON"))["R1"].cut_off
    holds = await hold_rows(lane.rt)
    assert holds[long_hold.id].expires_at == cut_off  # was 25 minutes away, now at the cut-off
    assert holds[short_hold.id].expires_at == short_hold.expires_at  # already before it
    assert report.holds_capped == 1
    assert await check_invariants(lane.rt) == []


async def test_a_cancelled_sailing_releases_all_holds_and_rolls_all_bookings_onto_the_next_sailing(
    runtime: Runtime, world: World
) -> None:
    lane = await make_lane(runtime)
    first = await fcl_booking(lane.rt, world.shipper, lane.ids["R1"], 2)
    second = await fcl_booking(lane.rt, world.other_shipper, lane.ids["R1"], 3)
    held = await fcl_hold(lane.rt, world.shipper, lane.ids["R1"], 1)
    await lane.resync(first=msgspec.structs.replace(lane.first, status="cancelled"))

    report = await reconcile(lane.rt)

    assert report.changes_handled == {"sailing.cancelled_by_carrier": 1}
    assert (await stored_sailings(lane.rt, "RCON"))["R1"].status == "cancelled"
    [released] = await events_of(lane.rt, "hold.released")
    assert (released.subject_id, released.payload["reason"]) == (str(held.id), "sailing_cancelled")
    states = await booking_states(lane.rt)
    assert (states[first.reference], states[second.reference]) == ("rolled", "rolled")
    holds = await hold_rows(lane.rt)
    offered = {}
    for event in await events_of(lane.rt, "booking.rolled"):
        assert event.payload["cause"] == "sailing_cancelled"
        offered[event.subject_id] = holds[uuid.UUID(event.payload["alternative"]["hold_id"])]
    assert {ref: (h.sailing_id, h.units, h.state) for ref, h in offered.items()} == {
        first.reference: (lane.ids["R2"], 2, "active"),
        second.reference: (lane.ids["R2"], 3, "active"),
    }
    cancelled = await allotment(lane.rt, lane.ids["R1"])
    assert (cancelled.units_total, cancelled.units_held, cancelled.units_booked) == (0, 0, 0)
    assert (await allotment(lane.rt, lane.ids["R2"])).units_held == 5
    assert len(await events_of(lane.rt, "sailing.cancelled")) == 1
    assert await pending_changes(lane.rt) == []
    assert await check_invariants(lane.rt) == []


async def test_reconciling_again_changes_nothing(runtime: Runtime, world: World) -> None:
    lane = await make_lane(runtime)
    await fcl_booking(lane.rt, world.shipper, lane.ids["R1"], 2)
    await lane.resync(first=msgspec.structs.replace(lane.first, status="cancelled"))
    await reconcile(lane.rt)
    before = [len(await events_of(lane.rt, kind)) for kind in ("booking.rolled", "hold.created")]

    again = await reconcile(lane.rt)

    assert again.changes_handled == {}
    assert [len(await events_of(lane.rt, kind)) for kind in ("booking.rolled", "hold.created")] == before
    assert await check_invariants(lane.rt) == []
