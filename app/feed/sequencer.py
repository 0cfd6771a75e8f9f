"""The sequencer: gives each committed event its position in the feed, in the order it finds
them committed, and names the organisations entitled to it.

Why: outbox ids are taken when a row is inserted, not when its transaction commits, so an event
with a lower id can become visible after one with a higher id; a feed ordered by id skips it for
a consumer that already moved past. Positions are given instead by one sequencer at a time (the
``sequencer`` row of ``feed_cursors``, locked for the transaction), each run after the previous
run committed, to events already committed. So whatever a reader sees, it sees every position
below it: the positions visible at any moment are 1..N, and a reader that resumes after its
cursor finds whatever was sequenced since. Writers need do nothing: an event is inserted as
before and sequenced on the next run.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import structlog

from app.db import transaction
from app.feed import repository
from app.feed.types import EVENT_TYPES
from app.runtime import Runtime

SEQUENCER = "sequencer"
BATCH_SIZE = 1000
# Batches one run may take: a backlog is caught up over a few runs, never in one long one.
MAX_BATCHES = 20
BOOKING_KEYS = {t.name: t.booking_key for t in EVENT_TYPES if t.booking_key is not None}
log = structlog.get_logger("slotpool.events")


async def sequence_events(rt: Runtime, batch_size: int = BATCH_SIZE) -> int:
    """Sequence what is committed and unsequenced, ``batch_size`` per transaction; returns how
    many events it placed (0 also when another replica is sequencing now)."""
    # A look first, without the write lock (SQLite has one for the whole database).
    async with transaction(rt.engine, read_only=True) as conn:
        if not await repository.any_unsequenced(conn):
            return 0
    total = await drain(lambda: _sequence_batch(rt, batch_size), batch_size)
    if total:
        log.debug("events.sequenced", count=total)
    return total


async def drain(batch: Callable[[], Awaitable[int]], batch_size: int) -> int:
    """Run ``batch`` (one transaction, returning how many rows it took) again while it comes
    back full, at most ``MAX_BATCHES`` times; returns the rows taken."""
    total = 0
    for _ in range(MAX_BATCHES):
        taken = await batch()
        total += taken
        if taken < batch_size:
            break
    return total


async def _sequence_batch(rt: Runtime, batch_size: int) -> int:
    async with transaction(rt.engine) as conn:
        last = await repository.lock_cursor(conn, SEQUENCER)
        if last is None:
            return 0
        events = await repository.unsequenced(conn, BOOKING_KEYS, batch_size)
        if not events:
            return 0
        bookings = await repository.bookings_by_reference(
            conn, (e.booking_reference for e in events if e.booking_reference)
        )
        audiences = []
        for event in events:
            owner, marketplace = event.organisation_id, _uuid(event.placed_by)
            if event.booking_reference in bookings:
                booking_owner, booking_marketplace = bookings[event.booking_reference]
                owner = owner or booking_owner
                marketplace = marketplace or booking_marketplace
            audiences.append((owner, marketplace))
        # Only a marketplace that exists is entitled: a payload naming anything else (a bug, an
        # organisation gone) must not stop the feed.
        marketplaces = await repository.marketplaces_among(conn, {m for _, m in audiences if m})
        placed = []
        for offset, (event, (owner, marketplace)) in enumerate(zip(events, audiences, strict=True), start=1):
            if marketplace not in marketplaces:
                marketplace = None
            placed.append(
                {
                    "event_row": event.id,
                    "event_position": last + offset,
                    "event_owner": owner,
                    "event_marketplace": marketplace if marketplace != owner else None,
                }
            )
        await repository.place_in_feed(conn, placed)
        await repository.move_cursor(conn, SEQUENCER, last + len(events))
    return len(events)


def _uuid(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
