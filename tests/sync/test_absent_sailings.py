"""No false cancellations: a sailing missing from a carrier's answer is cancelled only when the
answer was complete, several times in a row, for long enough; a paged answer is read to its
end; an answer without vessels, or cut short by a failing page, cancels nothing."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest
from fake_dcsa import FakeDcsaState
from sqlalchemy import select, update

from app.accounts.actor import OrgKind
from app.db import transaction
from app.inventory.repository import carriers
from app.reconcile.service import reconcile
from app.runtime import Runtime
from app.sync.service import sync_all
from tests.factories import make_account
from tests.reconcile.reconcile_world import booking_states, fcl_booking, fcl_hold, hold_rows
from tests.sync.dcsa_sync_world import SCAC, connect, dcsa_carrier, six_sailings, with_settings
from tests.sync.sync_world import offer, recorded_changes, scripted_carrier, stored_sailings
from tests.sync.sync_world import sailings as sailings_table


def kinds(report_changes: dict[str, int]) -> dict[str, int]:
    return {kind: n for kind, n in report_changes.items() if n}


def cancelled(stored: dict[str, object]) -> list[str]:
    return sorted(v for v, s in stored.items() if getattr(s, "carrier_status") == "cancelled")


async def test_a_paged_schedule_answer_yields_every_sailing_and_cancels_nothing(runtime: Runtime) -> None:
    rt = with_settings(runtime, sync_absent_syncs_to_cancel=1, sync_absent_hours_to_cancel=0)
    state = FakeDcsaState(six_sailings())
    await dcsa_carrier(rt, state, page_size=2)

    first = await sync_all(rt, rt.carriers)
    later = [await sync_all(rt, rt.carriers) for _ in range(3)]

    assert state.pages_served == 3 * 4  # 6 routes in pages of 2, every sync
    assert kinds(first.changes) == {"sailing.discovered": 6}
    assert first.carriers[0].complete is True
    assert all(kinds(report.changes) == {} for report in later)
    assert cancelled(await stored_sailings(rt, SCAC)) == []
    assert state.violations == []


@pytest.mark.parametrize("vessel", ["none", "name_only", "imo_only"])
async def test_an_answer_without_vessel_objects_cancels_nothing(runtime: Runtime, vessel: str) -> None:
    rt = with_settings(runtime, sync_absent_syncs_to_cancel=1, sync_absent_hours_to_cancel=0)
    sailings = six_sailings()
    state = FakeDcsaState(sailings[:3])
    await dcsa_carrier(rt, state)
    await sync_all(rt, rt.carriers)

    state.vessel = vessel  # type: ignore[assignment]
    state.sailings = sailings
    reports = [await sync_all(rt, rt.carriers) for _ in range(3)]

    assert [kinds(r.changes) for r in reports] == [{"sailing.discovered": 3}, {}, {}]
    stored = await stored_sailings(rt, SCAC)
    assert cancelled(stored) == []
    assert len(stored) == 6
    assert state.violations == []


async def test_a_sailing_discovered_without_a_vessel_is_stored_to_be_named_and_named_later(
    runtime: Runtime,
) -> None:
    state = FakeDcsaState(six_sailings()[:1])
    state.vessel = "none"
    await dcsa_carrier(runtime, state)
    await sync_all(runtime, runtime.carriers)

    async def vessels() -> list[tuple[str, str | None]]:
        async with transaction(runtime.engine, read_only=True) as conn:
            rows = await conn.execute(select(sailings_table.c.vessel_name, sailings_table.c.vessel_imo))
            return [tuple(row) for row in rows]  # type: ignore[misc]

    assert await vessels() == [("TBN", None)]
    state.vessel = "full"
    await sync_all(runtime, runtime.carriers)
    assert await vessels() == [("CAPE ORIENT", "9321483")]


@pytest.mark.parametrize("page_fault", ["500", "hang"])
async def test_a_failure_mid_pagination_cancels_nothing_however_often(
    runtime: Runtime, page_fault: str
) -> None:
    rt = with_settings(runtime, sync_absent_syncs_to_cancel=1, sync_absent_hours_to_cancel=0)
    state = FakeDcsaState(six_sailings())
    await dcsa_carrier(rt, state, page_size=2, timeout=0.3)
    await sync_all(rt, rt.carriers)

    state.fail_on_page, state.page_fault = 2, page_fault  # type: ignore[assignment]
    reports = [await sync_all(rt, rt.carriers) for _ in range(3)]

    notice = reports[0].carriers[0]
    assert (notice.status, notice.complete) == ("ok", False)
    assert "page 2" in notice.skipped[0]
    assert cancelled(await stored_sailings(rt, SCAC)) == []
    absent = [d for kind, _, _, d in await recorded_changes(rt, SCAC) if kind == "sailing.absent"]
    assert len(absent) == 3 * 4  # sailings of pages 2 and 3, each sync, recorded as not counted
    assert all(
        d["counted"] is False and d["reason"].startswith("not counted: answer incomplete") for d in absent
    )

    state.fail_on_page = None
    recovered = await sync_all(rt, rt.carriers)
    assert kinds(recovered.changes) == {}
    assert recovered.carriers[0].complete is True


async def test_a_route_that_cannot_be_read_is_skipped_counted_and_cancels_nothing(runtime: Runtime) -> None:
    rt = with_settings(runtime, sync_absent_syncs_to_cancel=1, sync_absent_hours_to_cancel=0)
    state = FakeDcsaState(six_sailings())
    await dcsa_carrier(rt, state)
    await sync_all(rt, rt.carriers)

    state.broken_routes, state.naive_routes = {2}, {4}
    report = await sync_all(rt, rt.carriers)

    notice = report.carriers[0]
    assert (notice.status, notice.complete, notice.sailings_seen) == ("ok", False, 4)
    assert len(notice.skipped) == 2
    assert any("without a UTC offset" in skipped for skipped in notice.skipped)
    assert cancelled(await stored_sailings(rt, SCAC)) == []


async def test_a_sailing_absent_from_complete_answers_is_cancelled_after_n_syncs_and_the_margin(
    runtime: Runtime,
) -> None:
    rt = with_settings(runtime, sync_absent_syncs_to_cancel=3, sync_absent_hours_to_cancel=6)
    sailings = six_sailings()
    state = FakeDcsaState(sailings)
    await dcsa_carrier(rt, state)
    await sync_all(rt, rt.carriers)
    gone = sailings[2].voyage_number
    state.sailings = [s for s in sailings if s.voyage_number != gone]

    await sync_all(rt, rt.carriers)
    state.sailings = sailings  # listed again: the count starts over
    await sync_all(rt, rt.carriers)
    state.sailings = [s for s in sailings if s.voyage_number != gone]
    for _ in range(3):
        await sync_all(rt, rt.carriers)
    assert cancelled(await stored_sailings(rt, SCAC)) == []  # three answers, but not 6 hours yet

    rt.clock.advance(timedelta(hours=6, minutes=1).total_seconds())
    report = await sync_all(rt, rt.carriers)

    assert kinds(report.changes) == {"sailing.cancelled_by_carrier": 1}
    assert cancelled(await stored_sailings(rt, SCAC)) == [gone]
    log = [(kind, d) for kind, voyage, _, d in await recorded_changes(rt, SCAC) if voyage == gone]
    counts = [d["absent_syncs"] for kind, d in log if kind == "sailing.absent"]
    assert counts == [1, 1, 2, 3]
    assert "not before" in log[-2][1]["reason"]
    assert log[-1][0] == "sailing.cancelled_by_carrier"
    assert log[-1][1]["reason"].startswith("absent from 4 consecutive complete answers since")


async def test_an_explicit_cancellation_still_cancels_at_once(runtime: Runtime) -> None:
    rt = with_settings(runtime, sync_absent_syncs_to_cancel=3, sync_absent_hours_to_cancel=6)
    listed = offer("DCSA", "001E")
    carrier = await scripted_carrier(
        rt, rt.carriers, "DCSA", [listed, offer("DCSA", "002E", days=27)], "dcsa"
    )
    await sync_all(rt, rt.carriers)
    carrier.sailings = [msgspec.structs.replace(listed, status="cancelled"), carrier.sailings[1]]
    carrier.problems = ["route 7: unreadable"]  # even in an incomplete answer

    report = await sync_all(rt, rt.carriers)

    assert kinds(report.changes) == {"sailing.cancelled_by_carrier": 1}
    assert cancelled(await stored_sailings(rt, "DCSA")) == ["001E"]


async def test_incomplete_answers_never_release_a_hold_nor_roll_a_booking(runtime: Runtime) -> None:
    rt = with_settings(runtime, sync_absent_syncs_to_cancel=1, sync_absent_hours_to_cancel=0)
    shipper = await make_account(rt, OrgKind.SHIPPER)
    sailings = six_sailings()
    state = FakeDcsaState(sailings)
    await dcsa_carrier(rt, state, page_size=2)
    await sync_all(rt, rt.carriers)
    await reconcile(rt)
    last = (await stored_sailings(rt, SCAC))[sailings[5].voyage_number].id
    hold = await fcl_hold(rt, shipper, last, 2)
    booking = await fcl_booking(rt, shipper, last, 3)

    state.fail_on_page = 3
    for _ in range(3):
        await sync_all(rt, rt.carriers)
        await reconcile(rt)

    assert (await booking_states(rt))[booking.reference] == "confirmed"
    assert (await hold_rows(rt))[hold.id].state == "active"
    assert (await stored_sailings(rt, SCAC))[sailings[5].voyage_number].status == "open"

    # Control: the same sailing missing from a complete answer is cancelled and its cargo rolled.
    state.fail_on_page = None
    state.sailings = sailings[:5]
    await sync_all(rt, rt.carriers)
    await reconcile(rt)
    assert (await booking_states(rt))[booking.reference] == "rolled"


async def test_a_sailing_on_a_lane_no_longer_asked_about_is_not_cancelled(runtime: Runtime) -> None:
    rt = with_settings(runtime, sync_absent_syncs_to_cancel=1, sync_absent_hours_to_cancel=0)
    europe = [
        msgspec.structs.replace(s, voyage_number=f"E{s.voyage_number}", port_of_loading="CNNGB")
        for s in six_sailings()
    ]
    europe = [msgspec.structs.replace(s, port_of_discharge="NLRTM") for s in europe]
    state = FakeDcsaState(six_sailings() + europe)
    await dcsa_carrier(rt, state, lanes=["CNSHA-USLAX", "CNNGB-NLRTM"])
    await sync_all(rt, rt.carriers)
    assert len(await stored_sailings(rt, SCAC)) == 12

    # The operator stops asking for the European lane: its sailings are not missing, only unasked.
    one_lane = await set_lanes(rt, ["CNSHA-USLAX"])
    connect(rt, state, rt.carriers, one_lane)
    reports = [await sync_all(rt, rt.carriers) for _ in range(3)]

    assert all(kinds(r.changes) == {} for r in reports)
    assert cancelled(await stored_sailings(rt, SCAC)) == []


async def set_lanes(rt: Runtime, lanes: list[str]) -> dict[str, object]:
    async with transaction(rt.engine) as conn:
        settings = (
            await conn.execute(select(carriers.c.adapter_settings).where(carriers.c.scac == SCAC))
        ).scalar_one()
        changed = {**settings, "lanes": lanes}
        await conn.execute(update(carriers).where(carriers.c.scac == SCAC).values(adapter_settings=changed))
    return changed
