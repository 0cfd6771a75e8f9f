"""State machines of holds and bookings."""

from __future__ import annotations

from app.domain.states import CHANGEABLE_BOOKING_STATES, LIVE_BOOKING_STATES, BookingState


def test_cancelled_and_rolled_bookings_no_longer_occupy_space() -> None:
    assert {BookingState.CANCELLED, BookingState.ROLLED}.isdisjoint(LIVE_BOOKING_STATES)
    assert LIVE_BOOKING_STATES | {BookingState.CANCELLED, BookingState.ROLLED} == set(BookingState)


def test_only_confirmed_or_amended_bookings_may_change() -> None:
    assert {BookingState.CONFIRMED, BookingState.AMENDED} == CHANGEABLE_BOOKING_STATES
    assert CHANGEABLE_BOOKING_STATES <= LIVE_BOOKING_STATES
