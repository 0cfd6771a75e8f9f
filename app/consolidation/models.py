"""Consolidation's own table: the house bill number sequence. The containers themselves are
inventory (``app.inventory.models.ConsolidationContainer``): reservations, reconcile and the
dispatcher read them too, and none of them may import this feature back."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class HouseBillSequence(Base):
    """The last house bill sequence number given out (one row): raised by one ``UPDATE ...
    RETURNING`` per close, so two closes on two replicas never share a number."""

    __tablename__ = "house_bill_sequence"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("last_value >= 0", name="last_value_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_value: Mapped[int] = mapped_column(BigInteger)
