"""One contract, every adapter: simulated, file feed and DCSA (against the fake carrier)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from carrier_world import booking_request, frozen_now, manifest
from dcsa_world import LANE, dcsa_adapter
from fake_dcsa import FakeDcsaState
from msgspec.structs import replace

from carriers.base import (
    CarrierAdapter,
    CarrierBookingStatus,
    PermanentCarrierError,
    SailingKey,
    SailingOffer,
    UnitRelease,
)
from carriers.codes import CUT_OFF_CODES
from carriers.feed import build_feed
from carriers.registry import build_adapter

SAMPLES = Path(__file__).resolve().parents[2] / "carriers" / "samples"


@pytest.fixture(params=["simulated", "feed", "dcsa"])
async def adapter(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[CarrierAdapter]:
    built: CarrierAdapter
    state: FakeDcsaState | None = None
    if request.param == "simulated":
        built = build_adapter("simulated", "SIMA", {"seed": 1, "lanes": ["CNSHA-USLAX"]}, clock=frozen_now)
    elif request.param == "feed":
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        for sample in SAMPLES.iterdir():
            shutil.copy(sample, inbox)
        # Asked after the sample sheets were issued (3 and 4 March), as a carrier would be.
        built = build_feed("FEED", {"inbox": str(inbox), "outbox": str(tmp_path / "out")},
                           clock=lambda: frozen_now() + timedelta(days=2))  # fmt: skip
    else:
        state = request.getfixturevalue("fake_dcsa_state")
        built = dcsa_adapter(state)
    yield built
    await built.aclose()
    if state is not None:
        assert state.violations == []


async def first_sailing(adapter: CarrierAdapter) -> SailingOffer:
    offers = (await adapter.schedules(LANE)).offers
    assert offers, "every adapter under contract offers CNSHA-USLAX sailings"
    return offers[0]


async def test_schedules_are_utc_with_known_cut_off_codes_and_decimal_rates(
    adapter: CarrierAdapter,
) -> None:
    offers = (await adapter.schedules(LANE)).offers
    assert offers
    for offer in offers:
        assert offer.carrier_scac == adapter.scac
        assert (offer.port_of_loading, offer.port_of_discharge) == ("CNSHA", "USLAX")
        assert offer.etd.tzinfo is not None
        assert offer.etd.utcoffset() == timedelta(0)
        assert offer.eta > offer.etd
        assert set(offer.cut_offs) <= CUT_OFF_CODES
        assert "LCL" not in offer.cut_offs
        assert all(isinstance(a.rate, Decimal) for a in offer.allocations)
        assert offer.key == SailingKey(
            carrier_scac=offer.carrier_scac,
            voyage_number=offer.voyage_number,
            port_of_loading="CNSHA",
            port_of_discharge="USLAX",
        )
    assert [o.etd for o in offers] == sorted(o.etd for o in offers)


async def test_etd_window_is_respected(adapter: CarrierAdapter) -> None:
    offers = (await adapter.schedules(LANE)).offers
    cut = offers[0].etd + timedelta(hours=1)
    later = (await adapter.schedules(replace(LANE, etd_from=cut))).offers
    assert [o.key for o in later] == [o.key for o in offers if o.etd >= cut]


async def test_allocation_of_a_sailing_and_of_an_unknown_one(adapter: CarrierAdapter) -> None:
    offer = await first_sailing(adapter)
    status = await adapter.allocation(offer.key)
    assert status.key == offer.key
    assert status.as_of.utcoffset() == timedelta(0)
    assert {a.size_type for a in status.allocations} == {a.size_type for a in offer.allocations}
    with pytest.raises(PermanentCarrierError):
        await adapter.allocation(replace(offer.key, voyage_number="NOPE1"))


async def test_booking_request_status_amend_and_cancel(adapter: CarrierAdapter) -> None:
    offer = await first_sailing(adapter)
    req = booking_request(offer.key)
    req = replace(req, size_type=offer.allocations[-1].size_type, units=1)
    ack = await adapter.request_booking(req)
    assert ack.carrier_reference
    assert ack.status in (CarrierBookingStatus.REQUESTED, CarrierBookingStatus.ACCEPTED)

    report = await adapter.booking_status(ack.carrier_reference)
    assert report.carrier_reference == ack.carrier_reference
    assert report.status in (CarrierBookingStatus.REQUESTED, CarrierBookingStatus.ACCEPTED)

    amended = await adapter.amend_booking(ack.carrier_reference, replace(req, units=1))
    assert amended.carrier_reference == ack.carrier_reference

    cancelled = await adapter.cancel_booking(ack.carrier_reference)
    assert cancelled.carrier_reference == ack.carrier_reference
    assert cancelled.status in (CarrierBookingStatus.CANCELLED, CarrierBookingStatus.PENDING_AMENDMENT)


async def test_release_with_the_same_id_releases_once(adapter: CarrierAdapter) -> None:
    offer = await first_sailing(adapter)
    size_type = offer.allocations[0].size_type
    before = {a.size_type: a.units for a in (await adapter.allocation(offer.key)).allocations}
    release = UnitRelease(release_id="rel-1", sailing=offer.key, size_type=size_type, units=2)
    first = await adapter.release_units(release)
    second = await adapter.release_units(release)
    assert first == second
    assert first.units_released == 2
    after = {a.size_type: a.units for a in (await adapter.allocation(offer.key)).allocations}
    assert after[size_type] == before[size_type] - 2


async def test_manifest_is_accepted_with_a_carrier_reference(adapter: CarrierAdapter) -> None:
    offer = await first_sailing(adapter)
    sent = manifest(offer.key)
    sent = replace(
        sent,
        containers=[replace(c, carrier_booking_reference="BN0000001") for c in sent.containers],
    )
    receipt = await adapter.submit_manifest(sent)
    assert receipt.carrier_reference
    assert receipt.accepted
