"""FCL bookings reach their carrier: once, in order, whatever replicas race and answers get lost;
a carrier's rejection declines the booking, frees its space and offers the next sailing."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from app.dispatch import service
from app.reservations import bookings
from app.reservations.schemas import BookingAmend
from app.runtime import Runtime
from carriers.base import BookingRequest
from tests.dispatch.world import (
    SCAC,
    booking_row,
    dispatch_until,
    events_of,
    fcl_booking,
    replicas,
    request_rows,
    simulated_lane,
    units_booked,
)

REEFER_CARGO = {"reefer": {"set_point": "-18.0"}}


async def test_a_booking_its_amendment_and_cancellation_reach_the_carrier_once_in_order_across_replicas(
    runtime: Runtime,
) -> None:
    lane = await simulated_lane(runtime, lose_first_answer=True)
    booking = await fcl_booking(lane)
    actor = lane.shipper.actor
    amended = await bookings.amend_booking(lane.rt, actor, booking.reference, 1, BookingAmend(units=2))
    await bookings.cancel_booking(lane.rt, actor, booking.reference)

    async def cancelled_at_carrier() -> bool:
        return [row.state for row in await request_rows(lane.rt, booking.reference)] == ["acknowledged"] * 3

    async with replicas(lane, 4) as runtimes:
        await dispatch_until(lane, runtimes, cancelled_at_carrier)

    probe = lane.probe
    carrier_reference = f"{SCAC}0000001"
    # The first answer was lost: the request went again, and the carrier, which keys booking
    # requests on our reference, answered with the booking it had made. One booking there.
    assert probe.calls == [
        ("request", booking.reference),
        ("request", booking.reference),
        ("amend", booking.reference),
        ("cancel", carrier_reference),
    ]
    assert await probe.inner._store.last_number(SCAC, "bookings") == 1
    assert probe.most_in_flight == 1
    rows = await request_rows(lane.rt, booking.reference)
    assert [(r.operation, r.attempts, r.carrier_reference) for r in rows] == [
        ("request", 2, carrier_reference),
        ("amend", 1, carrier_reference),
        ("cancel", 1, carrier_reference),
    ]
    assert amended.units == 2
    view = await bookings.get_booking(lane.rt, actor, booking.reference)
    assert view.carrier is not None
    assert (view.carrier.carrier_reference, view.carrier.status, view.carrier.pending) == (
        carrier_reference,
        "CANCELLED",
        None,
    )


async def test_the_amendment_waits_for_the_request_to_be_acknowledged(runtime: Runtime) -> None:
    lane = await simulated_lane(runtime)
    lane.probe.inner.settings = msgspec.structs.replace(lane.probe.inner.settings, error_rate=1.0)
    booking = await fcl_booking(lane)
    await bookings.amend_booking(lane.rt, lane.shipper.actor, booking.reference, 1, BookingAmend(units=2))

    async with replicas(lane, 3) as runtimes:
        for _ in range(3):
            for rt in runtimes:
                await service.run(rt)
            lane.rt.clock.advance(5)

    # The carrier kept answering 503: the booking request is retried, the amendment never sent.
    assert {operation for operation, _ in lane.probe.calls} == {"request"}
    request, amendment = await request_rows(lane.rt, booking.reference)
    assert (request.state, amendment.state, amendment.attempts) == ("pending", "pending", 0)
    assert request.attempts >= 2
    assert "503" in request.last_error
    view = await bookings.get_booking(lane.rt, lane.shipper.actor, booking.reference)
    assert view.carrier is not None
    assert view.carrier.pending == "request"
    assert "503" in (view.carrier.last_error or "")


async def test_a_rejected_booking_is_declined_frees_its_space_and_is_offered_the_next_sailing(
    runtime: Runtime,
) -> None:
    lane = await simulated_lane(runtime, reefer_units=2)
    booking = await fcl_booking(lane, size_type="45R1", **REEFER_CARGO)
    first, second = lane.sailing_ids[:2]
    assert await units_booked(lane.rt, first, "45R1") == 1

    async def declined() -> bool:
        return (await booking_row(lane.rt, booking.reference)).state == "declined"

    async with replicas(lane, 3) as runtimes:
        await dispatch_until(lane, runtimes, declined)
        # Later runs (and a repeated report) change nothing: the transition happened once.
        for rt in runtimes:
            await service.run(rt)

    row = await booking_row(lane.rt, booking.reference)
    assert row.offered_hold_id is not None
    assert await units_booked(lane.rt, first, "45R1") == 0
    declined_events = await events_of(lane.rt, "booking.declined")
    assert len(declined_events) == 1
    event = declined_events[0]
    assert event["offered_hold_id"] == str(row.offered_hold_id)
    assert event["alternative"]["sailing_id"] == str(second)
    assert event["carrier_status"] == "rejected"
    assert event["state"] == "declined"
    offered = [e for e in await events_of(lane.rt, "hold.created") if e["id"] == str(row.offered_hold_id)]
    assert offered
    assert offered[0]["offered_for"] == booking.reference
    sent = msgspec.convert((await request_rows(lane.rt, booking.reference))[0].payload, BookingRequest)
    assert sent.reefer is not None
    assert sent.reefer.temperature_setpoint == Decimal("-18.0")
