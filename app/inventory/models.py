"""Inventory tables. Counters change only through app.inventory.repository."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.dbtypes import BIG_INTEGER, UtcDateTime

MONEY = Numeric(14, 2)


class Carrier(Base):
    __tablename__ = "carriers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    scac: Mapped[str] = mapped_column(String(4), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    adapter_kind: Mapped[str] = mapped_column(String(32))
    adapter_settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Unsold units go back this many days before ETD (no-show fees after that).
    release_deadline_days: Mapped[int] = mapped_column(default=7)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Sailing(Base):
    __tablename__ = "sailings"
    __table_args__ = (
        UniqueConstraint("carrier_id", "voyage_number", "port_of_loading", "port_of_discharge"),
        CheckConstraint("status IN ('open', 'closed', 'departed', 'cancelled')", name="status"),
        CheckConstraint("eta > etd", name="eta_after_etd"),
        CheckConstraint("cut_off <= etd", name="cut_off_before_etd"),
        Index("ix_sailings_lane_etd", "port_of_loading", "port_of_discharge", "etd"),
        Index("ix_sailings_etd_id", "etd", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    carrier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carriers.id"), index=True)
    service_code: Mapped[str] = mapped_column(String(16))
    vessel_name: Mapped[str] = mapped_column(String(100))
    vessel_imo: Mapped[str | None] = mapped_column(String(7))
    voyage_number: Mapped[str] = mapped_column(String(32))
    port_of_loading: Mapped[str] = mapped_column(String(5))
    port_of_discharge: Mapped[str] = mapped_column(String(5))
    etd: Mapped[datetime] = mapped_column(UtcDateTime())
    eta: Mapped[datetime] = mapped_column(UtcDateTime())
    # Booking cut-off: no hold is sold or outlives it. DCSA cut-offs (DCO, FCO, LCO...) as given.
    cut_off: Mapped[datetime] = mapped_column(UtcDateTime())
    cut_offs: Mapped[dict[str, str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Allotment(Base):
    """Whole containers of one size-type bought on a sailing. Pools draw units from here."""

    __tablename__ = "allotments"
    __table_args__ = (
        UniqueConstraint("sailing_id", "size_type"),
        CheckConstraint("units_held >= 0", name="units_held_non_negative"),
        CheckConstraint("units_booked >= 0", name="units_booked_non_negative"),
        CheckConstraint("units_pooled >= 0", name="units_pooled_non_negative"),
        CheckConstraint("units_held + units_booked + units_pooled <= units_total", name="units_within_total"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    sailing_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sailings.id"))
    size_type: Mapped[str] = mapped_column(String(4))
    units_total: Mapped[int]
    units_held: Mapped[int] = mapped_column(default=0)
    units_booked: Mapped[int] = mapped_column(default=0)
    units_pooled: Mapped[int] = mapped_column(default=0)
    rate: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))


class Pool(Base):
    """Shared LCL space of one size-type on a sailing, in dm3 and grams (exact integers)."""

    __tablename__ = "pools"
    __table_args__ = (
        UniqueConstraint("sailing_id", "size_type"),
        CheckConstraint("volume_held_dm3 >= 0", name="volume_held_non_negative"),
        CheckConstraint("volume_booked_dm3 >= 0", name="volume_booked_non_negative"),
        CheckConstraint(
            "volume_held_dm3 + volume_booked_dm3 <= volume_total_dm3", name="volume_within_total"
        ),
        CheckConstraint("weight_held_g >= 0", name="weight_held_non_negative"),
        CheckConstraint("weight_booked_g >= 0", name="weight_booked_non_negative"),
        CheckConstraint("weight_held_g + weight_booked_g <= weight_total_g", name="weight_within_total"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    sailing_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sailings.id"))
    allotment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("allotments.id"), index=True)
    size_type: Mapped[str] = mapped_column(String(4))
    # Usable space and payload of one container (below nominal: stowage factor).
    container_volume_dm3: Mapped[int]
    container_weight_g: Mapped[int] = mapped_column(BIG_INTEGER)
    containers: Mapped[int] = mapped_column(default=0)
    volume_total_dm3: Mapped[int] = mapped_column(default=0)
    volume_held_dm3: Mapped[int] = mapped_column(default=0)
    volume_booked_dm3: Mapped[int] = mapped_column(default=0)
    weight_total_g: Mapped[int] = mapped_column(BIG_INTEGER, default=0)
    weight_held_g: Mapped[int] = mapped_column(BIG_INTEGER, default=0)
    weight_booked_g: Mapped[int] = mapped_column(BIG_INTEGER, default=0)
    rate: Mapped[Decimal] = mapped_column(MONEY)
    minimum: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    # Set when the pool closed at its LCL cut-off: no new holds or amendments after it.
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ConsolidationContainer(Base):
    """A container a closed pool's LCL bookings are packed into (app.consolidation), and the
    platform's master booking with the carrier: the ``master_*`` columns are its carrier side
    (sent like an FCL booking, the platform as booking party). Each LCL booking aboard points at
    it (``bookings.container_id``) and carries its house bill number."""

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
    weight_g: Mapped[int] = mapped_column(BIG_INTEGER)
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
    # number and seal, which shipping instructions need.
    equipment_reference: Mapped[str | None] = mapped_column(String(11))
    seal_number: Mapped[str | None] = mapped_column(String(15))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
