"""State machines of holds and bookings."""

from __future__ import annotations

from app.domain.states import CHANGEABLE_BOOKING_STATES, LIVE_BOOKING_STATES, BookingState


def test_cancelled_rolled_and_declined_bookings_no_longer_occupy_space() -> None:
    gone = {BookingState.CANCELLED, BookingState.ROLLED, BookingState.DECLINED}
    assert gone.isdisjoint(LIVE_BOOKING_STATES)
    assert LIVE_BOOKING_STATES | gone == set(BookingState)


def test_only_confirmed_or_amended_bookings_may_change() -> None:
    assert {BookingState.CONFIRMED, BookingState.AMENDED} == CHANGEABLE_BOOKING_STATES
    assert CHANGEABLE_BOOKING_STATES <= LIVE_BOOKING_STATES
