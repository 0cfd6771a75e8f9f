"""Webhook endpoints, the deliveries owed to them and every attempt made."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.dbtypes import UtcDateTime
from app.events.models import SEQUENCE_ID

PENDING_ONLY: dict[str, Any] = {
    "postgresql_where": text("state = 'pending'"),
    "sqlite_where": text("state = 'pending'"),
}


class WebhookEndpoint(Base):
    """Where an organisation receives its events, signed with its secret."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        CheckConstraint("version >= 1", name="version_positive"),
        Index("ix_webhook_endpoints_organisation_created", "organisation_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(500))
    # The event types it receives; NULL: every type.
    event_types: Mapped[list[str] | None] = mapped_column(JSON)
    enabled: Mapped[bool]
    # Why it was disabled by the service (continuous failure); NULL when its owner did it.
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    # The signing secrets, sealed (app/secrets.py): they must be read back to sign. During a
    # rotation's overlap the previous secret signs too, until ``previous_secret_until``.
    secret_sealed: Mapped[str] = mapped_column(String(500))
    previous_secret_sealed: Mapped[str | None] = mapped_column(String(500))
    previous_secret_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Since when every attempt failed; NULL after any success.
    failing_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The delivery worker sending to it now, and until when (another replica may take it over
    # after that): one worker per endpoint, so its concurrency is bounded wherever it runs.
    lease_token: Mapped[uuid.UUID | None]
    leased_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # A deleted endpoint stays as a row without secrets, for its deliveries and attempts until
    # the purge takes them with their events (finding them by endpoint would need an index that
    # every delivery pays for).
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class WebhookDelivery(Base):
    """One event owed to one endpoint: ``pending`` until delivered, or given up (its retry
    window ran out, or the endpoint was disabled)."""

    __tablename__ = "webhook_deliveries"
    # Few indexes: every delivery is inserted and updated twice (claimed, settled), each time
    # in all of them.
    __table_args__ = (
        # Also how purge finds an event's deliveries.
        UniqueConstraint("event_row", "endpoint_id"),
        CheckConstraint("state IN ('pending', 'delivered', 'given_up')", name="state"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        # Due deliveries of one endpoint, in order; pending ones only.
        Index("ix_webhook_deliveries_endpoint_due", "endpoint_id", "next_attempt_at", **PENDING_ONLY),
    )

    id: Mapped[int] = mapped_column(SEQUENCE_ID, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoints.id"))
    # The outbox row (its internal id; the public event id is the webhook-id).
    event_row: Mapped[int] = mapped_column(SEQUENCE_ID, ForeignKey("outbox_events.id"))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    # When the next attempt is due; while one is in flight, when its claim lapses.
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # The claim of the attempt in flight: only its holder may record the outcome.
    lease_token: Mapped[uuid.UUID | None]
    # Start of the retry window: when it was first owed, or asked for again (redelivery).
    owed_since: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class WebhookAttempt(Base):
    """One request sent to an endpoint and how it went."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        Index("ix_webhook_attempts_endpoint_id", "endpoint_id", "id"),
        Index("ix_webhook_attempts_delivery_id", "delivery_id"),
    )

    id: Mapped[int] = mapped_column(SEQUENCE_ID, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(SEQUENCE_ID, ForeignKey("webhook_deliveries.id"))
    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoints.id"))
    attempt: Mapped[int]
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # None when no answer came (timeout, refused connection, refused address).
    status_code: Mapped[int | None]
    latency_ms: Mapped[int]
    error: Mapped[str | None] = mapped_column(String(500))
