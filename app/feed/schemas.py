"""Bodies of the events feed and the event type catalogue."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec


class EventView(msgspec.Struct, kw_only=True):
    """One event, as the feed lists it and as a webhook's body carries it."""

    # Also the ``webhook-id`` of every delivery of this event: deduplicate on it.
    id: uuid.UUID
    type: str
    # The payload's schema version (GET /v1/event-types).
    version: int
    # When the change happened.
    timestamp: datetime
    # The hold, booking, allotment or sailing the event is about.
    subject: str
    data: dict[str, Any]


class EventPage(msgspec.Struct, kw_only=True):
    """``next_cursor`` is always given: poll with it as ``after`` to get what comes next, never
    missing an event. ``has_more``: a full page; more may be read at once."""

    items: list[EventView]
    next_cursor: str
    has_more: bool


class EventTypeView(msgspec.Struct, kw_only=True):
    type: str
    version: int
    description: str
    # JSON Schema (2020-12) of ``data``.
    schema: dict[str, Any]
    example: dict[str, Any]
