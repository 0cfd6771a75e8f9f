"""State machines of holds and bookings.

Each transition is applied by one conditional UPDATE on the row's current state, so it happens
once however many requests race for it; these tables say which transitions exist.
"""

from __future__ import annotations

from enum import StrEnum


class Load(StrEnum):
    FCL = "FCL"
    LCL = "LCL"


class SailingStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    DEPARTED = "departed"
    CANCELLED = "cancelled"


class HoldState(StrEnum):
    ACTIVE = "active"
    CONFIRMED = "confirmed"
    RELEASED = "released"
    EXPIRED = "expired"


class BookingState(StrEnum):
    CONFIRMED = "confirmed"
    AMENDED = "amended"
    CANCELLED = "cancelled"
    ROLLED = "rolled"
    CLOSED = "closed"
    COMPLETED = "completed"


HOLD_TRANSITIONS: dict[HoldState, frozenset[HoldState]] = {
    HoldState.ACTIVE: frozenset({HoldState.CONFIRMED, HoldState.RELEASED, HoldState.EXPIRED}),
    HoldState.CONFIRMED: frozenset(),
    HoldState.RELEASED: frozenset(),
    HoldState.EXPIRED: frozenset(),
}

# Bookings in these states occupy space on the vessel and count in ``*_booked``.
LIVE_BOOKING_STATES: frozenset[BookingState] = frozenset(
    {BookingState.CONFIRMED, BookingState.AMENDED, BookingState.CLOSED, BookingState.COMPLETED}
)
# Bookings in these states may still be amended or cancelled by their owner.
CHANGEABLE_BOOKING_STATES: frozenset[BookingState] = frozenset({BookingState.CONFIRMED, BookingState.AMENDED})


# Live bookings a carrier's cut or cancellation may roll to another sailing: not yet shipped.
ROLLABLE_BOOKING_STATES: frozenset[BookingState] = frozenset(
    {BookingState.CONFIRMED, BookingState.AMENDED, BookingState.CLOSED}
)


def can_transition(current: HoldState, target: HoldState) -> bool:
    return target in HOLD_TRANSITIONS[current]
