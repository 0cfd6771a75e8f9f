"""Request and response bodies of webhook endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from app.schemas import Moment

Url = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=2048,
        description="https URL on a public address",
        examples=["https://checkout.example.com/slotpool/webhooks"],
    ),
]
Description = Annotated[str, msgspec.Meta(max_length=500)]
EventTypeName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, examples=["hold.expired"])]
EventTypes = Annotated[
    list[EventTypeName],
    msgspec.Meta(
        min_length=1,
        max_length=64,
        description="Types to receive (GET /v1/event-types); null or absent: every type",
    ),
]
# A rotation's overlap: up to a week, in which the previous secret signs too.
OverlapSeconds = Annotated[int, msgspec.Meta(ge=0, le=7 * 86400)]


class EndpointCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: Url
    event_types: EventTypes | None = None
    description: Description = ""
    enabled: bool = True


class EndpointChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Any of these. Enabling an endpoint the service disabled starts it afresh."""

    url: Url | None = None
    # Send null to receive every type again.
    event_types: EventTypes | msgspec.UnsetType | None = msgspec.UNSET
    description: Description | None = None
    enabled: bool | None = None


class EndpointView(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    url: str
    description: str
    event_types: list[str] | None
    enabled: bool
    # Set when the service disabled it: every delivery failed for the configured period.
    disabled_reason: str | None
    failing_since: datetime | None
    # During a rotation's overlap: until when the previous secret still signs.
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointView, kw_only=True):
    """The signing secret is shown here once; a replay of the same request answers null."""

    secret: str | None


class SecretRotation(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    overlap_seconds: OverlapSeconds = 86_400


class SecretRotated(msgspec.Struct, kw_only=True):
    """The new secret, shown once (a replay answers null). Until ``previous_secret_expires_at``
    requests carry a signature by each secret."""

    endpoint_id: uuid.UUID
    secret: str | None
    previous_secret_expires_at: datetime | None


class Redelivery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One event by id (any type it may receive), or every event in [since, until) of the
    types it subscribes to."""

    event_id: uuid.UUID | None = None
    since: Moment | None = None
    until: Moment | None = None


class RedeliveryScheduled(msgspec.Struct, kw_only=True):
    endpoint_id: uuid.UUID
    scheduled: int


AttemptState = Literal["pending", "delivered", "given_up"]


class AttemptView(msgspec.Struct, kw_only=True):
    id: int
    event_id: uuid.UUID
    event_type: str
    attempt: int
    attempted_at: datetime
    # None when no answer came: see error.
    status_code: int | None
    latency_ms: int
    error: str | None
    # Where the delivery stands now.
    delivery_state: AttemptState


class AttemptPage(msgspec.Struct, kw_only=True):
    items: list[AttemptView]
    next_cursor: str | None
