"""Tables the carrier adapters keep their memory in (carriers/store.py), one carrier's rows
apart from another's."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.dbtypes import UtcDateTime


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
