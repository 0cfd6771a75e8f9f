"""Response (and the one request) bodies of the carrier sync and notifications."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

Health = Literal["unknown", "healthy", "unhealthy"]
NoticeStatus = Literal["ok", "timeout", "error", "circuit_open"]


class CarrierHealthView(msgspec.Struct, kw_only=True):
    """``unhealthy`` once the last sync of this carrier failed; ``unknown`` before any sync."""

    scac: str
    name: str
    adapter_kind: str
    health: Health
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    breaker: Literal["closed", "open", "half_open"]


class CarrierSyncNotice(msgspec.Struct, kw_only=True):
    """How one carrier's sync went: its fan-out status, what changed, what was skipped (routes,
    sheets or offers, with why), and whether the answer was complete (None: no answer). An
    incomplete answer cancels nothing by absence."""

    scac: str
    status: NoticeStatus
    detail: str | None
    elapsed_ms: float
    sailings_seen: int
    changes: dict[str, int]
    skipped: list[str]
    complete: bool | None


class SyncReport(msgspec.Struct, kw_only=True):
    """Counts of recorded changes by kind (every kind present), and one notice per carrier."""

    started_at: datetime
    changes: dict[str, int]
    carriers: list[CarrierSyncNotice]


DEFAULT_SIGNATURE_HEADER = "Notification-Signature"
HeaderName = Annotated[
    str, msgspec.Meta(pattern=r"^[A-Za-z0-9-]{1,100}$", examples=[DEFAULT_SIGNATURE_HEADER])
]


class CarrierAccountLink(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The carrier organisation whose API keys may post this carrier's notifications, and, if
    the carrier signs them, the shared secret (stored sealed, never shown again) and the header
    the ``sha256=<hex>`` signature comes in."""

    organisation_id: uuid.UUID
    signature_secret: Annotated[str, msgspec.Meta(min_length=16, max_length=500)] | None = None
    signature_header: HeaderName | None = None


class CarrierAccountView(msgspec.Struct, kw_only=True):
    scac: str
    organisation_id: uuid.UUID
    signed: bool
    signature_header: str | None


class NotificationReceipt(msgspec.Struct, kw_only=True):
    """``applied`` when the notification moved the carrier booking; otherwise ``ignored`` says
    why: a duplicate event (``duplicate``), older than the status held, a final status held."""

    event_id: str
    carrier_reference: str
    status: str
    duplicate: bool
    applied: bool
    ignored: str | None = None


class SyncChangeView(msgspec.Struct, kw_only=True):
    """A recorded change: ``detail`` holds the before/after figures of its ``kind``."""

    id: int
    carrier_scac: str
    sailing_id: uuid.UUID
    size_type: str | None
    kind: str
    detail: dict[str, Any]
    detected_at: datetime
