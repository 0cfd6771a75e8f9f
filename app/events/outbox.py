"""Writes domain events into the outbox, always inside the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app import metrics
from app.db import table_of
from app.events.models import OutboxEvent

_outbox = table_of(OutboxEvent)


class PendingEvent:
    """One event to record: type such as ``hold.created``, its subject and its payload."""

    __slots__ = ("organisation_id", "payload", "subject_id", "type")

    def __init__(
        self,
        type: str,
        subject_id: object,
        organisation_id: uuid.UUID | None,
        payload: dict[str, Any],
    ) -> None:
        self.type = type
        self.subject_id = str(subject_id)
        self.organisation_id = organisation_id
        self.payload = payload


class EventRow(msgspec.Struct, frozen=True, kw_only=True):
    """A new row of ``outbox_events`` (its sequence id is the database's)."""

    event_id: uuid.UUID
    type: str
    subject_id: str
    organisation_id: uuid.UUID | None
    payload: dict[str, Any]
    created_at: datetime


def row(event: PendingEvent, at: datetime) -> EventRow:
    """The outbox row of ``event``, recorded at ``at``."""
    return EventRow(
        event_id=uuid.uuid4(),
        type=event.type,
        subject_id=event.subject_id,
        organisation_id=event.organisation_id,
        payload=event.payload,
        created_at=at,
    )


_insert = insert(_outbox)


async def record(conn: AsyncConnection, events: Iterable[PendingEvent], at: datetime) -> None:
    """Insert the events in one statement; they commit or roll back with the change they describe."""
    rows = [msgspec.structs.asdict(row(event, at)) for event in events]
    for written in rows:
        # Booking transitions are counted as their events are written (in memory; a rolled
        # back transaction is rare enough not to correct for).
        if written["type"].startswith("booking."):
            metrics.BOOKING_TRANSITIONS.labels(written["type"].removeprefix("booking.")).inc()
    if rows:
        # A list of one would take SQLAlchemy's executemany path, which costs more.
        await conn.execute(_insert, rows[0] if len(rows) == 1 else rows)
