"""A DCSA carrier that fails: typed errors on single calls, marked notices in a fan-out."""

from __future__ import annotations

import asyncio
import time

import pytest
from carrier_world import frozen_now
from dcsa_world import LANE, dcsa_adapter
from fake_dcsa import FakeDcsaState

from carriers.base import (
    CarrierAdapter,
    CarrierBookingStatus,
    MalformedCarrierAnswer,
    PermanentCarrierError,
    RetryableCarrierError,
)
from carriers.fanout import BreakerBoard, fan_out
from carriers.simulated import build_simulated


def schedules(adapter: CarrierAdapter) -> object:
    return adapter.schedules(LANE)


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("500", RetryableCarrierError),
        ("429", RetryableCarrierError),
        ("hang", RetryableCarrierError),
        ("malformed_json", MalformedCarrierAnswer),
    ],
)
async def test_single_call_raises_the_typed_error(
    fake_dcsa_state: FakeDcsaState, fault: str, error: type[Exception]
) -> None:
    fake_dcsa_state.fault = fault  # type: ignore[assignment]
    adapter = dcsa_adapter(fake_dcsa_state, timeout=0.1)
    async with asyncio.timeout(2):
        with pytest.raises(error):
            await adapter.schedules(LANE)
    await adapter.aclose()


@pytest.mark.parametrize(
    ("fault", "status"),
    [("500", "error"), ("malformed_json", "error"), ("hang", "timeout")],
)
async def test_fan_out_returns_the_healthy_carrier_and_marks_the_broken_one(
    fake_dcsa_state: FakeDcsaState, fault: str, status: str
) -> None:
    fake_dcsa_state.fault = fault  # type: ignore[assignment]
    dcsa = dcsa_adapter(fake_dcsa_state, timeout=5)  # the fan-out's budget is the tighter one
    healthy = build_simulated("SIMA", {"seed": 1}, clock=frozen_now)
    started = time.perf_counter()
    async with asyncio.timeout(2):
        result = await fan_out([healthy, dcsa], schedules, timeout=0.2, breakers=BreakerBoard())
    assert time.perf_counter() - started < 0.2 + 0.05
    assert list(result.results) == ["SIMA"]
    (notice,) = result.failed()
    assert (notice.scac, notice.status) == ("DCSA", status)
    await dcsa.aclose()


async def test_breaker_stops_calling_a_failing_dcsa_carrier(
    fake_dcsa_state: FakeDcsaState,
) -> None:
    fake_dcsa_state.fault = "500"
    dcsa = dcsa_adapter(fake_dcsa_state)
    board = BreakerBoard(failure_threshold=2, cool_down=60)
    for _ in range(3):
        await fan_out([dcsa], schedules, timeout=1, breakers=board)
    calls_so_far = fake_dcsa_state.calls
    result = await fan_out([dcsa], schedules, timeout=1, breakers=board)
    assert result.notices[0].status == "circuit_open"
    assert fake_dcsa_state.calls == calls_so_far
    await dcsa.aclose()


async def test_unknown_booking_is_permanent(fake_dcsa_state: FakeDcsaState) -> None:
    dcsa = dcsa_adapter(fake_dcsa_state)
    with pytest.raises(PermanentCarrierError, match="404"):
        await dcsa.booking_status("cbrr-9999")
    await dcsa.aclose()


async def test_confirmed_booking_is_polled_as_accepted_and_cancelled_by_request(
    fake_dcsa_state: FakeDcsaState,
) -> None:
    from carrier_world import booking_request

    dcsa = dcsa_adapter(fake_dcsa_state)
    offer = (await dcsa.schedules(LANE)).offers[0]
    ack = await dcsa.request_booking(booking_request(offer.key))
    fake_dcsa_state.confirm(ack.carrier_reference, "ABC709951")
    report = await dcsa.booking_status(ack.carrier_reference)
    assert report.status is CarrierBookingStatus.ACCEPTED
    assert report.carrier_booking_number == "ABC709951"

    ack2 = await dcsa.cancel_booking(ack.carrier_reference)
    assert ack2.status is CarrierBookingStatus.ACCEPTED  # until the carrier confirms
    booking = fake_dcsa_state.bookings[ack.carrier_reference]
    assert booking["bookingCancellationStatus"] == "CANCELLATION_RECEIVED"
    booking["bookingCancellationStatus"] = "CANCELLATION_CONFIRMED"
    final = await dcsa.booking_status(ack.carrier_reference)
    assert final.status is CarrierBookingStatus.CANCELLED
    assert fake_dcsa_state.violations == []
    await dcsa.aclose()
