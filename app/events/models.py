"""Outbox events and idempotency records."""

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
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.dbtypes import UtcDateTime

# SQLite auto-increments only a column declared exactly INTEGER PRIMARY KEY.
SEQUENCE_ID = BigInteger().with_variant(Integer(), "sqlite")


class OutboxEvent(Base):
    """One state change, written in the transaction that made it; delivered at least once."""

    __tablename__ = "outbox_events"
    # Delivery reads undelivered events in order; delivered ones leave the index.
    __table_args__ = (
        Index(
            "ix_outbox_events_undelivered",
            "id",
            postgresql_where=text("delivered_at IS NULL"),
            sqlite_where=text("delivered_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(SEQUENCE_ID, primary_key=True, autoincrement=True)
    # The public id, sent as the webhook-id header so receivers can deduplicate.
    event_id: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class IdempotencyRecord(Base):
    """A mutating request seen under an Idempotency-Key, scoped to the API key that sent it."""

    __tablename__ = "idempotency_records"
    __table_args__ = (
        UniqueConstraint("api_key_id", "key"),
        CheckConstraint("state IN ('in_flight', 'done')", name="state"),
        Index("ix_idempotency_records_created_at", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    api_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_keys.id"))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 over method, path and body: another body under the same key is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    response_status: Mapped[int | None]
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    response_headers: Mapped[dict[str, str] | None] = mapped_column(JSON)
    # Who holds the key now: a request that died mid-flight frees it when the lease ends, and
    # a request whose lease was taken over can no longer complete it.
    lease_token: Mapped[uuid.UUID]
    locked_until: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
