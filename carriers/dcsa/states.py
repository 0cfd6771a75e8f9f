"""DCSA Booking 2.0 statuses mapped onto the platform's neutral `CarrierBookingStatus`.

A DCSA booking carries three statuses: `bookingStatus`, and when the consumer asked for an
amendment or a cancellation of a confirmed booking, `amendedBookingStatus` and
`bookingCancellationStatus`. Final booking statuses win; otherwise a confirmed cancellation
makes the booking cancelled and an amendment still being processed makes it pending_amendment.
"""

from __future__ import annotations

from carriers.base import CarrierBookingStatus as S

BOOKING_STATUS: dict[str, S] = {
    "RECEIVED": S.REQUESTED,
    "UPDATE_RECEIVED": S.REQUESTED,
    # The carrier needs something from us before it can go on.
    "PENDING_UPDATE": S.PENDING_AMENDMENT,
    "PENDING_AMENDMENT": S.PENDING_AMENDMENT,
    "CONFIRMED": S.ACCEPTED,
    "REJECTED": S.REJECTED,
    "DECLINED": S.DECLINED,
    "CANCELLED": S.CANCELLED,
    "COMPLETED": S.COMPLETED,
}

# None: the amendment does not change the booking's neutral status.
AMENDED_BOOKING_STATUS: dict[str, S | None] = {
    "AMENDMENT_RECEIVED": S.PENDING_AMENDMENT,
    "AMENDMENT_CONFIRMED": None,
    "AMENDMENT_DECLINED": None,  # the booking stands as it was confirmed
    "AMENDMENT_CANCELLED": None,
}

BOOKING_CANCELLATION_STATUS: dict[str, S | None] = {
    "CANCELLATION_RECEIVED": None,  # still confirmed until the carrier says otherwise
    "CANCELLATION_DECLINED": None,
    "CANCELLATION_CONFIRMED": S.CANCELLED,
}

FINAL = frozenset({S.REJECTED, S.DECLINED, S.CANCELLED, S.COMPLETED})


def neutral_status(
    booking_status: str,
    amended_booking_status: str | None = None,
    booking_cancellation_status: str | None = None,
) -> S:
    """The neutral status of a DCSA booking. Unknown codes raise ValueError."""
    try:
        base = BOOKING_STATUS[booking_status]
        amended = AMENDED_BOOKING_STATUS[amended_booking_status] if amended_booking_status else None
        cancelled = (
            BOOKING_CANCELLATION_STATUS[booking_cancellation_status] if booking_cancellation_status else None
        )
    except KeyError as exc:
        raise ValueError(f"unknown DCSA booking status {exc.args[0]!r}") from exc
    if base in FINAL:
        return base
    return cancelled or amended or base
