"""Response bodies of reconciliation: what a pass, a poll and a release run did."""

from __future__ import annotations

from datetime import datetime

import msgspec


class CarrierBookingPoll(msgspec.Struct, kw_only=True):
    """Carrier bookings asked about, how many changed status, how many calls failed."""

    polled: int = 0
    changed: int = 0
    failed: int = 0


class ReconcileReport(msgspec.Struct, kw_only=True):
    """One reconcile pass. ``changes_left``: taken but not completed (retried next pass)."""

    started_at: datetime
    changes_handled: dict[str, int]
    changes_left: int = 0
    holds_released: int = 0
    bookings_rolled: int = 0
    alternatives_offered: int = 0
    alternatives_unavailable: int = 0
    holds_capped: int = 0
    bookings_told: int = 0
    carrier_bookings: CarrierBookingPoll | None = None


class ReleaseReport(msgspec.Struct, kw_only=True):
    """One run of the unused-allotment release."""

    recorded: int = 0
    released: int = 0
    units_released: int = 0
    failed: int = 0
