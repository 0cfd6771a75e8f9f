"""The containers a closed pool's LCL bookings are packed into.

A container is also the platform's master booking with the carrier: the ``master_*`` columns
are its carrier side (sent like an FCL booking, the platform as booking party). Each LCL booking
aboard points at its container (``bookings.container_id``) and carries its house bill number.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.dbtypes import UtcDateTime

MASTER_STATUSES = ("to_request", "requested", "confirmed", "rejected", "declined", "cancelled")


class ConsolidationContainer(Base):
    __tablename__ = "consolidation_containers"
    __table_args__ = (
        UniqueConstraint("pool_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint("volume_dm3 >= 0", name="volume_non_negative"),
        CheckConstraint("weight_g >= 0", name="weight_non_negative"),
        CheckConstraint(
            "master_status IN ('to_request', 'requested', 'confirmed', 'rejected', 'declined', 'cancelled')",
            name="master_status",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    pool_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pools.id"), index=True)
    sailing_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sailings.id"), index=True)
    # 1..n within the pool, in the plan's order: stable across re-plans of the same bookings.
    number: Mapped[int]
    size_type: Mapped[str] = mapped_column(String(4))
    # What the bookings aboard add up to, in the counters' units.
    volume_dm3: Mapped[int]
    weight_g: Mapped[int]
    dangerous_goods_classes: Mapped[list[str]] = mapped_column(JSON, default=list)
    set_point_c: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    non_operating_reefer: Mapped[bool] = mapped_column(default=False)
    # The master booking: our reference sent to the carrier, and what the carrier answered.
    master_reference: Mapped[str] = mapped_column(String(35), unique=True)
    master_status: Mapped[str] = mapped_column(String(16), default="to_request")
    master_carrier_reference: Mapped[str | None] = mapped_column(String(100))
    master_carrier_booking_number: Mapped[str | None] = mapped_column(String(100))
    master_detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The box itself, once the container freight station has stuffed and sealed it: its ISO 6346
    # number and seal, which shipping instructions need (migration 0013).
    equipment_reference: Mapped[str | None] = mapped_column(String(11))
    seal_number: Mapped[str | None] = mapped_column(String(15))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
