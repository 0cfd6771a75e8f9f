"""Response (and the one request) bodies of the carrier sync and notifications."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

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
    """How one carrier's sync went: its fan-out status, what changed, which offers were skipped."""

    scac: str
    status: NoticeStatus
    detail: str | None
    elapsed_ms: float
    sailings_seen: int
    changes: dict[str, int]
    skipped: list[str]


class SyncReport(msgspec.Struct, kw_only=True):
    """Counts of recorded changes by kind (every kind present), and one notice per carrier."""

    started_at: datetime
    changes: dict[str, int]
    carriers: list[CarrierSyncNotice]


class CarrierAccountLink(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The carrier organisation whose API keys may post this carrier's notifications."""

    organisation_id: uuid.UUID


class CarrierAccountView(msgspec.Struct, kw_only=True):
    scac: str
    organisation_id: uuid.UUID


class NotificationReceipt(msgspec.Struct, kw_only=True):
    """``duplicate`` when this event id was received before (nothing changed the second time)."""

    event_id: str
    carrier_reference: str
    status: str
    duplicate: bool


class SyncChangeView(msgspec.Struct, kw_only=True):
    """A recorded change: ``detail`` holds the before/after figures of its ``kind``."""

    id: int
    carrier_scac: str
    sailing_id: uuid.UUID
    size_type: str | None
    kind: str
    detail: dict[str, Any]
    detected_at: datetime
