"""Tables of reconciliation: units given back to carriers, and bookings rolled with an offer."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.dbtypes import UtcDateTime


class AllotmentRelease(Base):
    """Unsold units given back to the carrier before its release deadline.

    Recorded ``pending`` before the carrier is called, under a deterministic ``release_id``
    (unique), so the give-back happens once: a failed call is retried later under the same id,
    and the carrier deduplicates on it. ``released`` once the carrier confirmed and
    ``units_total`` was lowered in the same transaction.
    """

    __tablename__ = "allotment_releases"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'released')", name="state"),
        CheckConstraint("units > 0", name="units_positive"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # f"{allotment_id}:{deadline date}": the carrier's idempotency key.
    release_id: Mapped[str] = mapped_column(String(100), unique=True)
    allotment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("allotments.id"), index=True)
    units: Mapped[int]
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    # What the carrier confirmed, and how much of it was still unsold here when it did.
    units_released: Mapped[int | None]
    units_withdrawn: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class RolledBooking(Base):
    """Why a booking was rolled, and the hold offered on another sailing (None if no space)."""

    __tablename__ = "rolled_bookings"
    __table_args__ = (CheckConstraint("cause IN ('carrier_cut', 'sailing_cancelled')", name="cause"),)

    booking_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bookings.id"), primary_key=True)
    cause: Mapped[str] = mapped_column(String(32))
    offered_hold_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("holds.id"))
    rolled_at: Mapped[datetime] = mapped_column(UtcDateTime())
