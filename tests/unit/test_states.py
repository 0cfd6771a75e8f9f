"""State machines of holds and bookings."""

from __future__ import annotations

import itertools

import pytest

from app.domain.states import (
    CHANGEABLE_BOOKING_STATES,
    HOLD_TRANSITIONS,
    LIVE_BOOKING_STATES,
    BookingState,
    HoldState,
    can_transition,
)

ENDINGS = {HoldState.CONFIRMED, HoldState.RELEASED, HoldState.EXPIRED}


def test_every_hold_state_has_a_transition_entry() -> None:
    assert set(HOLD_TRANSITIONS) == set(HoldState)


@pytest.mark.parametrize("ending", sorted(ENDINGS))
def test_an_active_hold_can_end_each_way(ending: HoldState) -> None:
    assert can_transition(HoldState.ACTIVE, ending)


@pytest.mark.parametrize(("ended", "target"), list(itertools.product(sorted(ENDINGS), sorted(HoldState))))
def test_an_ended_hold_never_moves_again(ended: HoldState, target: HoldState) -> None:
    assert not can_transition(ended, target)


def test_a_hold_cannot_become_active_again() -> None:
    assert not can_transition(HoldState.ACTIVE, HoldState.ACTIVE)


def test_cancelled_and_rolled_bookings_no_longer_occupy_space() -> None:
    assert {BookingState.CANCELLED, BookingState.ROLLED}.isdisjoint(LIVE_BOOKING_STATES)
    assert LIVE_BOOKING_STATES | {BookingState.CANCELLED, BookingState.ROLLED} == set(BookingState)


def test_only_confirmed_or_amended_bookings_may_change() -> None:
    assert {BookingState.CONFIRMED, BookingState.AMENDED} == CHANGEABLE_BOOKING_STATES
    assert CHANGEABLE_BOOKING_STATES <= LIVE_BOOKING_STATES
