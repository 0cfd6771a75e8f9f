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
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
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


class CarrierRelease(Base):
    """Units a carrier took back, as its adapter recorded them (carriers/store.py): the carrier's
    side of a release, beside the platform's own ``allotment_releases``. One per release id."""

    __tablename__ = "carrier_releases"
    __table_args__ = (
        UniqueConstraint("carrier_id", "release_id"),
        CheckConstraint("units_released >= 0", name="units_released_non_negative"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    carrier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carriers.id"))
    release_id: Mapped[str] = mapped_column(String(100))
    voyage_number: Mapped[str] = mapped_column(String(50))
    port_of_loading: Mapped[str] = mapped_column(String(5))
    port_of_discharge: Mapped[str] = mapped_column(String(5))
    size_type: Mapped[str] = mapped_column(String(4))
    units_released: Mapped[int]
    released_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CarrierCounter(Base):
    """Numbers an adapter hands out once each (EDIFACT interchange references, a simulated
    carrier's syncs): raised by one conditional UPDATE, so replicas never share a number."""

    __tablename__ = "carrier_counters"
    __table_args__ = (CheckConstraint("value >= 0", name="value_non_negative"),)

    carrier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carriers.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class CarrierDocument(Base):
    """A small document an adapter keeps (a simulated carrier's bookings, say)."""

    __tablename__ = "carrier_documents"

    carrier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carriers.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
