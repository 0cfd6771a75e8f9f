"""Holds and bookings. Quantities are stored exactly as they count against the counters."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    Numeric,
    String,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.dbtypes import BIG_INTEGER, UtcDateTime

MONEY = Numeric(14, 2)
# Queries that should use these partial indexes compare state with this literal (not a bound
# parameter), so that the planner can match the index predicate.
ACTIVE: ColumnElement[str] = literal_column("'active'")
ACTIVE_ONLY: dict[str, Any] = {
    "postgresql_where": text("state = 'active'"),
    "sqlite_where": text("state = 'active'"),
}


class ClaimedSpace:
    """Where a hold or booking sits and how much space it counts against its counter row."""

    # The marketplace that placed it for its shipper, if any.
    placed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"))
    sailing_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sailings.id"), index=True)
    allotment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("allotments.id"))
    pool_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("pools.id"))
    load: Mapped[str] = mapped_column(String(3))
    size_type: Mapped[str] = mapped_column(String(4))
    units: Mapped[int] = mapped_column(default=0)
    volume_dm3: Mapped[int] = mapped_column(default=0)
    weight_g: Mapped[int] = mapped_column(BIG_INTEGER, default=0)


class Hold(ClaimedSpace, Base):
    __tablename__ = "holds"
    __table_args__ = (
        CheckConstraint("state IN ('active', 'confirmed', 'released', 'expired')", name="state"),
        CheckConstraint("load IN ('FCL', 'LCL')", name="load"),
        CheckConstraint(
            "(load = 'FCL' AND allotment_id IS NOT NULL AND units > 0)"
            " OR (load = 'LCL' AND pool_id IS NOT NULL AND volume_dm3 > 0 AND weight_g > 0)",
            name="quantity_matches_load",
        ),
        # Lazy reclaim and the sweeper look up overdue active holds by counter and by time. The
        # indexes cover active holds only: a hold that ends leaves them and costs them no more.
        Index("ix_holds_allotment_active", "allotment_id", "expires_at", **ACTIVE_ONLY),
        Index("ix_holds_pool_active", "pool_id", "expires_at", **ACTIVE_ONLY),
        Index("ix_holds_active_expires_at", "expires_at", **ACTIVE_ONLY),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    # The locked quote: tariff and the price it gave for this quantity.
    rate: Mapped[Decimal] = mapped_column(MONEY)
    minimum: Mapped[Decimal] = mapped_column(MONEY)
    price: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Booking(ClaimedSpace, Base):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint(
            "state IN ('confirmed', 'amended', 'cancelled', 'rolled', 'declined', 'closed', 'completed')",
            name="state",
        ),
        CheckConstraint("version >= 1", name="version_positive"),
        Index("ix_bookings_organisation_created", "organisation_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    hold_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("holds.id"), unique=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    price: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    cargo: Mapped[dict[str, Any]] = mapped_column(JSON)
    parties: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    # Bumped by every change; the ETag clients send back in If-Match.
    version: Mapped[int] = mapped_column(default=1)
    # The hold the platform placed for the owner on another sailing when this booking lost its
    # space (rolled by a carrier's cut or cancellation, declined by the carrier): one link for
    # every cause, read by the API view and carried by the booking's event.
    offered_hold_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("holds.id"))
    # LCL only, once its pool closed: the container it travels in and its house bill of lading.
    container_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("consolidation_containers.id"), index=True
    )
    house_bill_number: Mapped[str | None] = mapped_column(String(20), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
