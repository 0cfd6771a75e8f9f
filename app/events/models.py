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
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.dbtypes import BIG_INTEGER, UtcDateTime

SEQUENCE_ID = BIG_INTEGER


# Indexes over sequenced events only: a writer inserts an event unsequenced, so these cost the
# hot insert nothing; the sequencer adds the entries.
SEQUENCED: dict[str, Any] = {
    "postgresql_where": text("position IS NOT NULL"),
    "sqlite_where": text("position IS NOT NULL"),
}


class OutboxEvent(Base):
    """One state change, written in the transaction that made it.

    Writers insert it with ``position`` NULL. The sequencer (app/feed/sequencer.py) then gives
    each committed event its place in the feed, in the order it finds them committed, and the
    organisations entitled to it; webhooks are fanned out from the feed.
    """

    __tablename__ = "outbox_events"
    __table_args__ = (
        # The sequencer reads unsequenced events in id order; sequenced ones leave the index.
        Index(
            "ix_outbox_events_unsequenced",
            "id",
            postgresql_where=text("position IS NULL"),
            sqlite_where=text("position IS NULL"),
        ),
        Index("ix_outbox_events_position", "position", unique=True, **SEQUENCED),
        Index("ix_outbox_events_organisation_position", "organisation_id", "position", **SEQUENCED),
        # Only events a marketplace placed: most have none.
        Index(
            "ix_outbox_events_marketplace_position",
            "marketplace_id",
            "position",
            postgresql_where=text("position IS NOT NULL AND marketplace_id IS NOT NULL"),
            sqlite_where=text("position IS NOT NULL AND marketplace_id IS NOT NULL"),
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
    # The payload's schema version (GET /v1/event-types); writers leave it to the default.
    version: Mapped[int] = mapped_column(SmallInteger, server_default=text("1"))
    # Set by the sequencer: the event's place in the feed, and the marketplace that placed the
    # hold or booking it is about (entitled to it beside its owner).
    position: Mapped[int | None] = mapped_column(BigInteger)
    marketplace_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"))


class FeedCursor(Base):
    """How far a process went along the feed: ``sequencer`` is the last position given out,
    ``webhooks`` the last position fanned out to endpoints. Each row is also its process's lock:
    one sequencer (one fan-out) at a time, whatever the number of replicas."""

    __tablename__ = "feed_cursors"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)


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
