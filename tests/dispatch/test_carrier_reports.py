"""What the carrier reports by polling and by notification drives the same transition as its
answers: a decline declines the booking once; nothing reported later reopens it."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx

from app.dispatch import service
from app.reconcile.carrier_bookings import poll_carrier_bookings
from app.reservations import bookings
from app.runtime import Runtime
from carriers.base import BookingStatusReport, CarrierBookingStatus
from tests.dispatch.world import SCAC, Lane, booking_row, events_of, fcl_booking, simulated_lane, units_booked
from tests.factories import World
from tests.sync.test_carrier_notifications import carrier_account

FIXTURES = Path(__file__).resolve().parents[1] / "carriers" / "fixtures"
CARRIER_REFERENCE = f"{SCAC}0000001"


def notification(status: str, time: str, message: str | None = None) -> dict[str, Any]:
    """A DCSA Booking 2.0 notification about our carrier booking."""
    event = json.loads((FIXTURES / "bkg_notification_v2.json").read_text())
    data: dict[str, Any] = {"carrierBookingRequestReference": CARRIER_REFERENCE, "bookingStatus": status}
    if message is not None:
        data["feedbacks"] = [{"severity": "ERROR", "code": "OTHER_ERROR", "message": message}]
    return {**event, "id": str(uuid.uuid4()), "time": time, "data": data}


async def placed_with_carrier(runtime: Runtime) -> tuple[Lane, str]:
    """A booking whose request the carrier acknowledged."""
    lane = await simulated_lane(runtime)
    booking = await fcl_booking(lane)
    await service.run(lane.rt)
    assert (await booking_row(lane.rt, booking.reference)).state == "confirmed"
    assert await units_booked(lane.rt, lane.sailing_ids[0], "42G1") == 1
    return lane, booking.reference


async def assert_declined_once(lane: Lane, reference: str, reason: str) -> None:
    row = await booking_row(lane.rt, reference)
    assert row.state == "declined"
    assert row.offered_hold_id is not None
    assert await units_booked(lane.rt, lane.sailing_ids[0], "42G1") == 0
    declined = await events_of(lane.rt, "booking.declined")
    assert [(e["reference"], e["reason"], e["offered_hold_id"]) for e in declined] == [
        (reference, reason, str(row.offered_hold_id))
    ]


async def test_a_decline_found_by_polling_declines_the_booking_once(runtime: Runtime) -> None:
    lane, reference = await placed_with_carrier(runtime)
    lane.probe.statuses[CARRIER_REFERENCE] = BookingStatusReport(
        carrier_reference=CARRIER_REFERENCE, status=CarrierBookingStatus.DECLINED, reason="vessel full"
    )

    polled = await poll_carrier_bookings(lane.rt, lane.rt.carriers)
    await service.run(lane.rt)  # the dispatcher's sweep finds nothing left to apply
    await poll_carrier_bookings(lane.rt, lane.rt.carriers)

    assert polled.changed == 1
    await assert_declined_once(lane, reference, "vessel full")


async def test_a_declining_notification_declines_the_booking_and_a_late_one_never_reopens_it(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    lane, reference = await placed_with_carrier(runtime)
    carrier = await carrier_account(client, world, runtime, SCAC)

    async def notify(event: dict[str, Any]) -> httpx.Response:
        response = await client.post(
            f"/v1/carriers/{SCAC}/notifications", json=event, headers=carrier.headers
        )
        assert response.status_code == 200, response.text
        return response

    await notify(notification("DECLINED", "2026-12-01T10:00:00Z", "no equipment"))
    await service.run(lane.rt)
    await assert_declined_once(lane, reference, "OTHER_ERROR: no equipment")

    late = await notify(notification("CONFIRMED", "2026-12-01T09:00:00Z"))
    later = await notify(notification("CONFIRMED", "2026-12-01T11:00:00Z"))
    await service.run(lane.rt)

    assert late.json()["applied"] is False
    assert later.json()["applied"] is False  # declined is final at the carrier too
    await assert_declined_once(lane, reference, "OTHER_ERROR: no equipment")
    view = await bookings.get_booking(lane.rt, lane.shipper.actor, reference)
    assert view.state == "declined"
    assert view.carrier is not None
    assert view.carrier.status == "DECLINED"
    assert view.carrier.reason == "OTHER_ERROR: no equipment"
