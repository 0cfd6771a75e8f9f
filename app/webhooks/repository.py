"""Queries of webhook endpoints, deliveries and attempts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, delete, exists, func, insert, or_, select, true, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from app.accounts.actor import OrgKind
from app.accounts.repository import organisations
from app.db import table_of
from app.dialects import insert_ignoring_conflicts
from app.feed.repository import EVENT_COLUMNS, outbox
from app.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

endpoints = table_of(WebhookEndpoint)
deliveries = table_of(WebhookDelivery)
attempts = table_of(WebhookAttempt)

AnyRow = Row[Any]
PENDING = "pending"


# Endpoints


async def insert_endpoint(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(insert(endpoints).values(**row))


async def get_endpoint(
    conn: AsyncConnection, organisation_id: uuid.UUID | None, endpoint_id: uuid.UUID, *, lock: bool = False
) -> AnyRow | None:
    """The endpoint if ``organisation_id`` owns it (any owner when None); ``lock`` holds its row
    until the transaction ends (delivery workers then wait to record their attempts)."""
    query = select(endpoints).where(endpoints.c.id == endpoint_id, endpoints.c.deleted_at.is_(None))
    if organisation_id is not None:
        query = query.where(endpoints.c.organisation_id == organisation_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return (await conn.execute(query)).first()


async def list_endpoints(conn: AsyncConnection, organisation_id: uuid.UUID | None) -> list[AnyRow]:
    query = (
        select(endpoints)
        .where(endpoints.c.deleted_at.is_(None))
        .order_by(endpoints.c.created_at, endpoints.c.id)
    )
    if organisation_id is not None:
        query = query.where(endpoints.c.organisation_id == organisation_id)
    return list(await conn.execute(query))


async def update_endpoint(conn: AsyncConnection, endpoint_id: uuid.UUID, values: dict[str, Any]) -> AnyRow:
    """Apply ``values`` (the version moves on); returns the row as it is now."""
    result = await conn.execute(
        update(endpoints)
        .where(endpoints.c.id == endpoint_id)
        .values(**values, version=endpoints.c.version + 1)
        .returning(*endpoints.c)
    )
    return result.one()


async def delete_endpoint(conn: AsyncConnection, endpoint_id: uuid.UUID, at: datetime) -> None:
    """Nothing more is owed or sent to the endpoint; it stays a row without secrets until its
    deliveries are purged with their events."""
    await give_up_pending(conn, endpoint_id, at)
    await conn.execute(
        update(endpoints)
        .where(endpoints.c.id == endpoint_id)
        .values(
            enabled=False,
            deleted_at=at,
            updated_at=at,
            secret_sealed="",
            previous_secret_sealed=None,
            previous_secret_until=None,
            lease_token=None,
            leased_until=None,
        )
    )


async def give_up_pending(conn: AsyncConnection, endpoint_id: uuid.UUID, at: datetime) -> int:
    """Stop owing the endpoint its pending deliveries (disabled); an attempt in flight can no
    longer record its outcome on them."""
    result = await conn.execute(
        update(deliveries)
        .where(deliveries.c.endpoint_id == endpoint_id, deliveries.c.state == PENDING)
        .values(state="given_up", lease_token=None, finished_at=at)
    )
    return result.rowcount


# Fan-out


async def sequenced_after(conn: AsyncConnection, position: int, limit: int) -> list[AnyRow]:
    query = (
        select(
            outbox.c.id,
            outbox.c.position,
            outbox.c.type,
            outbox.c.organisation_id,
            outbox.c.marketplace_id,
        )
        .where(outbox.c.position > position)
        .order_by(outbox.c.position)
        .limit(limit)
    )
    return list(await conn.execute(query))


async def receiving_endpoints(conn: AsyncConnection, organisation_ids: Sequence[uuid.UUID]) -> list[AnyRow]:
    """Enabled endpoints of these organisations and of every operator."""
    query = (
        select(
            endpoints.c.id,
            endpoints.c.organisation_id,
            endpoints.c.event_types,
            (organisations.c.kind == OrgKind.OPERATOR.value).label("sees_everything"),
        )
        .join(organisations, organisations.c.id == endpoints.c.organisation_id)
        .where(
            endpoints.c.enabled.is_(True),
            or_(
                endpoints.c.organisation_id.in_(list(organisation_ids)),
                organisations.c.kind == OrgKind.OPERATOR.value,
            ),
        )
    )
    return list(await conn.execute(query))


def new_delivery(endpoint_id: uuid.UUID, event_row: int, now: datetime) -> dict[str, Any]:
    return {
        "endpoint_id": endpoint_id,
        "event_row": event_row,
        "state": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "owed_since": now,
    }


async def insert_deliveries(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Insert deliveries; one already owed for the same endpoint and event stays as it is."""
    if rows:
        statement = insert_ignoring_conflicts(conn.dialect.name, deliveries, ["endpoint_id", "event_row"])
        await conn.execute(statement, rows)


async def database_now(conn: AsyncConnection, now_sql: Any) -> datetime:
    moment: datetime = (await conn.execute(select(now_sql))).scalar_one()
    return moment


# Claims


def _due(now: datetime) -> Any:
    return and_(deliveries.c.state == PENDING, deliveries.c.next_attempt_at <= now)


def _claimable(now: Any) -> Any:
    """An enabled endpoint with a due delivery, that no worker holds (or whose lease lapsed)."""
    return and_(
        endpoints.c.enabled.is_(True),
        or_(endpoints.c.leased_until.is_(None), endpoints.c.leased_until <= now),
        exists().where(deliveries.c.endpoint_id == endpoints.c.id, _due(now)),
    )


async def any_due(conn: AsyncConnection, now: Any) -> bool:
    return (await conn.execute(select(endpoints.c.id).where(_claimable(now)).limit(1))).first() is not None


async def claim_endpoints(
    conn: AsyncConnection, now: datetime, token: uuid.UUID, until: datetime, limit: int
) -> list[AnyRow]:
    """Lease enabled endpoints that have due deliveries and no worker sending to them (or one
    whose lease lapsed); on PostgreSQL rows another replica is claiming are skipped."""
    query = select(endpoints.c.id).where(_claimable(now)).limit(limit)
    if conn.dialect.name == "postgresql":
        # NO KEY UPDATE: deliveries inserted meanwhile (their foreign keys) are not blocked.
        query = query.with_for_update(skip_locked=True, key_share=True)
    ids = list((await conn.execute(query)).scalars())
    if not ids:
        return []
    result = await conn.execute(
        update(endpoints)
        .where(endpoints.c.id.in_(ids))
        .values(lease_token=token, leased_until=until)
        .returning(*endpoints.c)
    )
    return list(result)


async def renew_endpoint(
    conn: AsyncConnection, endpoint_id: uuid.UUID, token: uuid.UUID, values: dict[str, Any]
) -> AnyRow | None:
    """Update an endpoint this worker still leases (and still enabled); None when it lost it."""
    result = await conn.execute(
        update(endpoints)
        .where(
            endpoints.c.id == endpoint_id,
            endpoints.c.lease_token == token,
            endpoints.c.enabled.is_(True),
        )
        .values(**values)
        .returning(*endpoints.c)
    )
    return result.first()


async def release_endpoint(conn: AsyncConnection, endpoint_id: uuid.UUID, token: uuid.UUID) -> None:
    """Let the endpoint go: any worker may claim it now."""
    await conn.execute(
        update(endpoints)
        .where(endpoints.c.id == endpoint_id, endpoints.c.lease_token == token)
        .values(lease_token=None, leased_until=None)
    )


class Claimed(NamedTuple):
    """A claimed delivery and the event it carries."""

    delivery: AnyRow
    event: AnyRow


async def claim_deliveries(
    conn: AsyncConnection,
    endpoint_id: uuid.UUID,
    now: datetime,
    token: uuid.UUID,
    until: datetime,
    limit: int,
) -> list[Claimed]:
    """Take up to ``limit`` due deliveries of a leased endpoint, oldest due first, with the
    events to send; each counts an attempt and is due again at ``until`` unless recorded."""
    # A CTE: its LIMIT holds (an IN-subquery may be evaluated again per row). No row locks are
    # needed: only the endpoint's lease holder claims its deliveries.
    due = (
        select(deliveries.c.id)
        .where(deliveries.c.endpoint_id == endpoint_id, _due(now))
        .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
        .limit(limit)
        .cte("due")
    )
    claimed = (
        update(deliveries)
        .where(deliveries.c.id.in_(select(due.c.id)), deliveries.c.state == PENDING)
        .values(lease_token=token, next_attempt_at=until, attempts=deliveries.c.attempts + 1)
        .returning(deliveries.c.id, deliveries.c.event_row, deliveries.c.attempts, deliveries.c.owed_since)
    )
    rows = sorted(await conn.execute(claimed), key=lambda row: row.id)
    if not rows:
        return []
    event_query = select(outbox.c.id, *EVENT_COLUMNS).where(outbox.c.id.in_([row.event_row for row in rows]))
    events = {row.id: row for row in await conn.execute(event_query)}
    return [Claimed(delivery=row, event=events[row.event_row]) for row in rows]


# Outcomes


async def insert_attempts(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(attempts), rows)


_finish = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("delivery_id"), deliveries.c.lease_token == bindparam("claim"))
    .values(
        state=bindparam("delivery_state"),
        next_attempt_at=bindparam("due_at"),
        finished_at=bindparam("done_at"),
        lease_token=None,
    )
)


async def settle_deliveries(conn: AsyncConnection, outcomes: list[dict[str, Any]]) -> None:
    """Record each claimed delivery's new state (``delivery_id``, ``claim``, ``delivery_state``,
    ``due_at``, ``done_at``); one whose claim was taken over is left to its new holder."""
    if outcomes:
        await conn.execute(_finish, outcomes)


# Redelivery


async def redeliver(
    conn: AsyncConnection,
    endpoint_id: uuid.UUID,
    event_rows: Sequence[int],
    now: datetime,
) -> int:
    """Owe these events to the endpoint again, due now, with a new retry window; returns how
    many. A delivery with an attempt in flight is left to it."""
    if not event_rows:
        return 0
    await conn.execute(
        update(deliveries)
        .where(
            deliveries.c.endpoint_id == endpoint_id,
            deliveries.c.event_row.in_(list(event_rows)),
            deliveries.c.lease_token.is_(None),
        )
        .values(state=PENDING, next_attempt_at=now, owed_since=now, finished_at=None)
    )
    await insert_deliveries(conn, [new_delivery(endpoint_id, row, now) for row in event_rows])
    return len(event_rows)


async def events_in_range(
    conn: AsyncConnection,
    audience: uuid.UUID | None,
    event_types: Sequence[str] | None,
    since: datetime,
    until: datetime,
    limit: int,
) -> list[int]:
    """Sequenced events ``audience`` is entitled to (every one when None) that happened in
    [since, until), of these types (any when None), in feed order, at most ``limit``."""
    query = select(outbox.c.id).where(
        outbox.c.position.is_not(None), outbox.c.created_at >= since, outbox.c.created_at < until
    )
    if audience is not None:
        query = query.where(or_(outbox.c.organisation_id == audience, outbox.c.marketplace_id == audience))
    if event_types is not None:
        query = query.where(outbox.c.type.in_(list(event_types)))
    return list((await conn.execute(query.order_by(outbox.c.position).limit(limit))).scalars())


# Attempts


async def attempts_page(
    conn: AsyncConnection, endpoint_id: uuid.UUID, before: int | None, limit: int
) -> list[AnyRow]:
    """Attempts at an endpoint, newest first, with the event each carried."""
    query = (
        select(
            attempts.c.id,
            attempts.c.attempt,
            attempts.c.attempted_at,
            attempts.c.status_code,
            attempts.c.latency_ms,
            attempts.c.error,
            deliveries.c.state,
            outbox.c.event_id,
            outbox.c.type,
        )
        .join(deliveries, deliveries.c.id == attempts.c.delivery_id)
        .join(outbox, outbox.c.id == deliveries.c.event_row)
        .where(attempts.c.endpoint_id == endpoint_id, attempts.c.id < before if before else true())
        .order_by(attempts.c.id.desc())
        .limit(limit)
    )
    return list(await conn.execute(query))


# Purge


async def purge_events(conn: AsyncConnection, cutoff: Any, fanned_out: int, limit: int) -> int:
    """Delete up to ``limit`` events older than ``cutoff`` that every endpoint has had or given
    up on (fanned out, none pending), with their deliveries and attempts; returns how many."""
    owed = exists().where(deliveries.c.event_row == outbox.c.id, deliveries.c.state == PENDING)
    candidates = (
        select(outbox.c.id)
        .where(
            outbox.c.position.is_not(None),
            outbox.c.position <= fanned_out,
            outbox.c.created_at < cutoff,
            ~owed,
        )
        .order_by(outbox.c.position)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        # Locked first, then checked again in a later snapshot: a redelivery that committed
        # meanwhile is seen, one that comes after waits on the lock and then finds no event.
        candidates = candidates.with_for_update(skip_locked=True)
        locked = list((await conn.execute(candidates)).scalars())
        doomed_query = select(outbox.c.id).where(outbox.c.id.in_(locked), ~owed)
        doomed = list((await conn.execute(doomed_query)).scalars()) if locked else []
    else:
        doomed = list((await conn.execute(candidates)).scalars())
    if not doomed:
        return 0
    of_doomed = select(deliveries.c.id).where(deliveries.c.event_row.in_(doomed))
    await conn.execute(delete(attempts).where(attempts.c.delivery_id.in_(of_doomed)))
    await conn.execute(delete(deliveries).where(deliveries.c.event_row.in_(doomed)))
    await conn.execute(delete(outbox).where(outbox.c.id.in_(doomed)))
    return len(doomed)


# Backlog, for the metrics (read at most every few seconds)

BACKLOG_CAP = 10_000


class Backlog(NamedTuple):
    """Events not yet sequenced and deliveries still pending (each counted up to
    :data:`BACKLOG_CAP`), and the age of the oldest of either in seconds (0 if none)."""

    unsequenced: int
    pending_deliveries: int
    oldest_age_seconds: float


async def outbox_backlog(conn: AsyncConnection, now_sql: Any) -> Backlog:
    """Cheap at any backlog: the counts stop at the cap, and each kind is read through its
    partial index (unsequenced events, pending deliveries)."""
    unsequenced = outbox.c.position.is_(None)
    pending = deliveries.c.state == "pending"
    capped_events = select(outbox.c.id).where(unsequenced).limit(BACKLOG_CAP).subquery()
    capped_deliveries = select(deliveries.c.id).where(pending).limit(BACKLOG_CAP).subquery()
    oldest_event = select(outbox.c.created_at).where(unsequenced).order_by(outbox.c.id).limit(1)
    oldest_delivery = select(func.min(deliveries.c.owed_since)).where(pending)
    row = (
        await conn.execute(
            select(
                select(func.count()).select_from(capped_events).scalar_subquery(),
                select(func.count()).select_from(capped_deliveries).scalar_subquery(),
                oldest_event.scalar_subquery(),
                oldest_delivery.scalar_subquery(),
                now_sql,
            )
        )
    ).one()
    events, pending_count, event_at, delivery_at, now = row
    oldest = [moment for moment in (event_at, delivery_at) if moment is not None]
    age = max((now - min(oldest)).total_seconds(), 0.0) if oldest else 0.0
    return Backlog(unsequenced=int(events), pending_deliveries=int(pending_count), oldest_age_seconds=age)
