"""States of sailings, holds and bookings, and the sets of booking states the rules act on.

Each transition is applied by one conditional UPDATE on the row's current state, so it happens
once however many requests race for it.
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
    # The carrier rejected or declined the booking: its space is freed, a hold may be offered.
    DECLINED = "declined"
    CLOSED = "closed"
    COMPLETED = "completed"


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
