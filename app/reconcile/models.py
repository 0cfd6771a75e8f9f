"""Tables of reconciliation: bookings rolled with an offer. (The units given back to carriers,
``allotment_releases``, are in app.sync.models: the sync reads them too.)"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.dbtypes import UtcDateTime


class RolledBooking(Base):
    """Why a booking was rolled (the hold offered for it is the booking's ``offered_hold_id``)."""

    __tablename__ = "rolled_bookings"
    __table_args__ = (
        CheckConstraint("cause IN ('carrier_cut', 'sailing_cancelled', 'pool_closed')", name="cause"),
    )

    booking_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bookings.id"), primary_key=True)
    cause: Mapped[str] = mapped_column(String(32))
    rolled_at: Mapped[datetime] = mapped_column(UtcDateTime())
