"""The outbox of carrier requests.

One row per request to a carrier about one subject (an FCL booking, or the master booking of a
consolidated container), recorded in the transaction that made the change and numbered per
subject (``sequence``): the dispatcher sends a subject's requests one at a time, in that order.
``payload`` is the neutral ``carriers.base.BookingRequest`` as it stood at that change
(msgspec builtins), so a request sent late says what was decided then.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.dbtypes import UtcDateTime

SUBJECT_KINDS = ("booking", "master")
OPERATIONS = ("request", "amend", "cancel")


class RequestState(enum.StrEnum):
    """pending: to send (again) at ``next_attempt_at``; sending: a dispatcher holds it until
    ``leased_until``; acknowledged: the carrier answered; unknown: the answer to a booking
    request was lost and the carrier cannot be asked again safely (an operator settles it);
    failed: never will succeed (the carrier refused it, or the attempts ran out)."""

    PENDING = "pending"
    SENDING = "sending"
    ACKNOWLEDGED = "acknowledged"
    UNKNOWN = "unknown"
    FAILED = "failed"


REQUEST_STATES = tuple(state.value for state in RequestState)
# States that keep the subject's later requests waiting.
UNFINISHED_STATES = ("pending", "sending", "unknown")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class CarrierRequest(Base):
    __tablename__ = "carrier_requests"
    __table_args__ = (
        UniqueConstraint("subject_id", "sequence"),
        CheckConstraint(_one_of("subject_kind", SUBJECT_KINDS), name="subject_kind"),
        CheckConstraint(_one_of("operation", OPERATIONS), name="operation"),
        CheckConstraint(_one_of("state", REQUEST_STATES), name="state"),
        CheckConstraint("sequence >= 1", name="sequence_positive"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        Index("ix_carrier_requests_due", "state", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    subject_kind: Mapped[str] = mapped_column(String(8))
    # The booking's or the container's id (two tables: no foreign key).
    subject_id: Mapped[uuid.UUID]
    # Our reference, sent to the carrier in the request's references (its deduplication key).
    subject_reference: Mapped[str] = mapped_column(String(35), index=True)
    carrier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carriers.id"))
    operation: Mapped[str] = mapped_column(String(8))
    sequence: Mapped[int]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    # An attempt may have reached the carrier without its answer reaching us (a timeout, a
    # dispatcher that died mid-call): a booking request is then resent only to a carrier that
    # deduplicates on our reference.
    maybe_sent: Mapped[bool] = mapped_column(default=False)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    lease_token: Mapped[uuid.UUID | None]
    leased_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # What the carrier answered: its booking (request) reference and the status it gave.
    carrier_reference: Mapped[str | None] = mapped_column(String(100))
    carrier_status: Mapped[str | None] = mapped_column(String(24))
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
