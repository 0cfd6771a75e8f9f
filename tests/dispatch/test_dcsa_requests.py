"""A DCSA carrier cannot deduplicate booking requests (Booking 2.0.4 has no idempotency key and
no search by our reference): a request whose answer was lost is never sent again, so the
carrier never holds two bookings for one of ours."""

from __future__ import annotations

import dataclasses

import dcsa_spec
import msgspec
from dcsa_world import DCSA_SETTINGS, dcsa_adapter, fake_sailings
from fake_dcsa import FakeDcsaState

from app.accounts.actor import OrgKind
from app.dispatch import service
from app.domain.states import Load
from app.reservations import bookings, holds
from app.reservations.schemas import BookingAmend, HoldConfirm, HoldCreate
from app.runtime import Runtime
from tests.dispatch.world import CarrierProbe, request_rows
from tests.factories import Account, confirmation, make_account, make_sailing
from tests.sync.sync_world import add_carrier, fast_registry

PARTY = {"name": "Exporter Ltd", "address": "1 Quay Street", "city": "Shanghai", "country_code": "CN"}


async def dcsa_booking(
    runtime: Runtime, *, lose_first_answer: bool
) -> tuple[Runtime, FakeDcsaState, CarrierProbe, Account, str]:
    """An FCL booking (and its amendment) on a sailing of carrier DCSA, the fake DCSA carrier
    behind its adapter."""
    dcsa_spec.require_specs()
    rt = dataclasses.replace(runtime, carriers=fast_registry())
    await add_carrier(rt, "DCSA", "dcsa", **DCSA_SETTINGS)
    sailing = await make_sailing(rt, scac="DCSA")
    state = FakeDcsaState(fake_sailings("DCSA"))
    probe = CarrierProbe(dcsa_adapter(state), lose_first_answer=lose_first_answer)
    rt.carriers.install("DCSA", "dcsa", DCSA_SETTINGS, probe)
    shipper = await make_account(rt, OrgKind.SHIPPER)
    hold = await holds.place_hold(
        rt, shipper.actor, HoldCreate(sailing_id=sailing.id, load=Load.FCL, size_type="42G1", units=1)
    )
    body = confirmation(cbm="25.5", kg="9000")
    body["parties"] = {"shipper": PARTY, "consignee": {**PARTY, "name": "Importer Inc"}}
    booking = await bookings.confirm_hold(rt, shipper.actor, hold.id, msgspec.convert(body, HoldConfirm))
    await bookings.amend_booking(rt, shipper.actor, booking.reference, 1, BookingAmend(units=2))
    return rt, state, probe, shipper, booking.reference


async def test_a_booking_request_whose_answer_was_lost_is_not_sent_again_to_a_dcsa_carrier(
    runtime: Runtime,
) -> None:
    rt, state, probe, shipper, reference = await dcsa_booking(runtime, lose_first_answer=True)

    for _ in range(4):
        await service.run(rt)
        rt.clock.advance(120)

    assert state.violations == []
    assert len(state.bookings) == 1  # the carrier booked once; its answer never reached us
    assert probe.calls == [("request", reference)]
    request, amendment = await request_rows(rt, reference)
    assert (request.state, request.maybe_sent, request.attempts) == ("unknown", True, 1)
    assert amendment.state == "pending"  # waits behind the request whose outcome is unknown
    view = await bookings.get_booking(rt, shipper.actor, reference)
    assert view.carrier is not None
    assert view.carrier.pending == "request"
    assert "outcome unknown" in (view.carrier.last_error or "")


async def test_a_request_the_carrier_refuses_with_a_4xx_is_not_retried_and_shows_the_error(
    runtime: Runtime,
) -> None:
    rt, state, probe, shipper, reference = await dcsa_booking(runtime, lose_first_answer=False)
    state.refuse_bookings = [
        {
            "property": "shipmentLocations",
            "errorCodeText": "invalidData",
            "errorCodeMessage": "unknown port of loading",
        }
    ]

    for _ in range(4):
        await service.run(rt)
        rt.clock.advance(120)

    assert probe.calls == [("request", reference)]
    assert state.bookings == {}
    request, amendment = await request_rows(rt, reference)
    assert (request.state, request.attempts) == ("failed", 1)
    assert "unknown port of loading" in request.last_error
    # Nothing to amend at the carrier: the amendment fails too, without a call.
    assert amendment.state == "failed"
    view = await bookings.get_booking(rt, shipper.actor, reference)
    assert view.state == "amended"
    assert view.carrier is not None
    assert view.carrier.status is None
    assert "no carrier booking to amend" in (view.carrier.last_error or "")
