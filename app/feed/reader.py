"""The events feed (``GET /v1/events``) and the event type catalogue (``GET /v1/event-types``).

A consumer polls with the ``next_cursor`` of its last page as ``after``. The feed lists only
sequenced events, in position order (app/feed/sequencer.py), read in one snapshot with the
sequencer's mark: a page that is not full has shown everything sequenced up to that mark, so
its cursor moves to the mark and the next poll starts past what the consumer may not see or did
not ask for.
"""

from __future__ import annotations

import base64
import uuid

from app.accounts.actor import Actor
from app.db import transaction
from app.domain.errors import InvalidRequest
from app.feed import examples, repository, types
from app.feed.schemas import EventPage, EventTypeView, EventView
from app.feed.sequencer import SEQUENCER
from app.runtime import Runtime

_CURSOR_PREFIX = "feed:"


async def read_feed(
    rt: Runtime, actor: Actor, *, after: str | None, event_types: list[str], limit: int
) -> EventPage:
    """The caller's events past ``after`` (its own, those it placed as a marketplace; every
    event for an operator), oldest first."""
    start = decode_cursor(after)
    wanted = _event_types(event_types)
    audience = audience_of(actor)
    async with transaction(rt.engine, read_only=True) as conn:
        await repository.one_snapshot(conn)
        mark = await repository.read_cursor(conn, SEQUENCER)
        rows = await repository.feed_page(conn, audience, start, wanted, limit + 1)
    page = rows[:limit]
    has_more = len(rows) > limit
    reached = page[-1].position if has_more else max(start, mark)
    return EventPage(items=[event_view(row) for row in page], next_cursor=encode_cursor(reached),
                     has_more=has_more)  # fmt: skip


def audience_of(actor: Actor) -> uuid.UUID | None:
    """Whose events ``actor`` sees: its organisation's, or every one (None) for an operator."""
    return None if actor.sees_everything else actor.organisation_id


def event_view(row: repository.AnyRow) -> EventView:
    return EventView(
        id=row.event_id,
        type=row.type,
        version=row.version,
        timestamp=row.created_at,
        subject=row.subject_id,
        data=row.payload,
    )


def event_types() -> list[EventTypeView]:
    return [
        EventTypeView(
            type=t.name,
            version=t.version,
            description=t.description,
            schema=types.payload_schema(t.name),
            example=examples.example(t.name),
        )
        for t in types.EVENT_TYPES
    ]


def _event_types(requested: list[str]) -> list[str]:
    names = sorted({name.strip() for value in requested for name in value.split(",") if name.strip()})
    unknown = types.unknown(names)
    if unknown:
        raise InvalidRequest("types", f"unknown event types: {', '.join(unknown)} (see /v1/event-types)")
    return names


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith(_CURSOR_PREFIX):
            raise ValueError(raw)
        position = int(raw.removeprefix(_CURSOR_PREFIX))
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidRequest("after", "after is not a cursor this API returned") from error
    if not 0 <= position < 2**63:
        raise InvalidRequest("after", "after is not a cursor this API returned")
    return position
