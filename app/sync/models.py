"""Tables of the carrier sync.

The sync keeps what the carriers last said beside the inventory rather than in it: the
inventory's rows say what the platform sells, these say what the carrier reports. Where the two
differ (a cut, a cancellation) a row in ``carrier_sync_changes`` tells the scheduler to act.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.dbtypes import UtcDateTime
from app.events.models import SEQUENCE_ID

CHANGE_KINDS = (
    "sailing.discovered",
    "sailing.schedule_changed",
    "sailing.absent",
    "sailing.cancelled_by_carrier",
    "sailing.reinstated_by_carrier",
    "allotment.raised",
    "allotment.cut",
)
CARRIER_BOOKING_STATUSES = (
    "requested",
    "pending_amendment",
    "accepted",
    "rejected",
    "declined",
    "cancelled",
    "completed",
)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class CarrierAccount(Base):
    """The carrier organisation whose API keys speak for a carrier (notifications), and the
    secret its notifications are signed with, if it signs them (sealed: app/secrets.py)."""

    __tablename__ = "carrier_accounts"

    carrier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carriers.id"), primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), unique=True)
    signature_secret_sealed: Mapped[str | None] = mapped_column(String(1000))
    signature_header: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CarrierSyncState(Base):
    """Health of one carrier's sync: when it last worked and how it last failed."""

    __tablename__ = "carrier_sync_states"
    __table_args__ = (CheckConstraint("consecutive_failures >= 0", name="consecutive_failures_non_negative"),)

    carrier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carriers.id"), primary_key=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    consecutive_failures: Mapped[int] = mapped_column(default=0)


class SailingCarrierState(Base):
    """What the carrier last reported of a sailing; ``cancelled`` while the sailing may still be
    open here, until the scheduler acts on the ``sailing.cancelled_by_carrier`` change.

    ``absent_syncs`` counts the consecutive complete answers of a carrier that cancels by
    absence which left the sailing out, since ``absent_since``; a listing resets both.
    """

    __tablename__ = "sailing_carrier_states"
    __table_args__ = (
        CheckConstraint("carrier_status IN ('scheduled', 'cancelled')", name="carrier_status"),
        CheckConstraint("absent_syncs >= 0", name="absent_syncs_non_negative"),
    )

    sailing_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sailings.id"), primary_key=True)
    carrier_status: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    absent_syncs: Mapped[int] = mapped_column(default=0, server_default="0")
    absent_since: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AllotmentOffer(Base):
    """The carrier's latest figure for an allotment. Below ``units_total`` it is a cut the
    scheduler has yet to carry out (release holds, roll bookings, then lower the total)."""

    __tablename__ = "allotment_offers"
    __table_args__ = (CheckConstraint("units_offered >= 0", name="units_offered_non_negative"),)

    allotment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("allotments.id"), primary_key=True)
    units_offered: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SyncChange(Base):
    """One change a sync found, for the scheduler to act on; ``handled_at`` once it has."""

    __tablename__ = "carrier_sync_changes"
    __table_args__ = (
        CheckConstraint(_one_of("kind", CHANGE_KINDS), name="kind"),
        Index("ix_carrier_sync_changes_unhandled", "handled_at", "id"),
    )

    id: Mapped[int] = mapped_column(SEQUENCE_ID, primary_key=True, autoincrement=True)
    carrier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carriers.id"), index=True)
    sailing_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sailings.id"), index=True)
    size_type: Mapped[str | None] = mapped_column(String(4))
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime())
    handled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class CarrierBooking(Base):
    """A booking as the carrier reports it (DCSA notifications, polling)."""

    __tablename__ = "carrier_bookings"
    __table_args__ = (
        UniqueConstraint("carrier_id", "carrier_reference"),
        CheckConstraint(_one_of("status", CARRIER_BOOKING_STATUSES), name="status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    carrier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carriers.id"))
    carrier_reference: Mapped[str] = mapped_column(String(100))
    # Our booking, once the booking placed with the carrier is linked to it.
    booking_reference: Mapped[str | None] = mapped_column(String(16), index=True)
    carrier_booking_number: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # When the carrier's booking was in this status (the notification's time, or the poll's):
    # an older report never replaces a newer one.
    reported_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class CarrierNotification(Base):
    """A notification received, by the carrier's event id: the same event twice counts once."""

    __tablename__ = "carrier_notifications"
    __table_args__ = (UniqueConstraint("carrier_id", "event_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    carrier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carriers.id"))
    event_id: Mapped[str] = mapped_column(String(200))
    carrier_reference: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(24))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


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
