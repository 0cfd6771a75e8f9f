"""Every query over the carrier request outbox.

A subject's requests go one at a time, in ``sequence`` order: a request is due only when no
earlier request of its subject is unfinished (pending, sending or unknown). Claiming takes due
rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so replicas take different ones), marks them
``sending`` under a lease token until ``leased_until``, and commits; the carrier is called
after, outside any transaction; the answer is written only by the holder of the token. A
dispatcher that dies mid-call leaves its lease to lapse: the row is due again, ``maybe_sent``.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, and_, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.carrier_requests.models import UNFINISHED_STATES, CarrierRequest, RequestState
from app.carrier_requests.payload import SailingFacts
from app.db import table_of
from app.inventory.repository import carriers, sailings
from app.pagination import newest_first

requests = table_of(CarrierRequest)


class RequestRow(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``carrier_requests``."""

    id: uuid.UUID
    subject_kind: str
    subject_id: uuid.UUID
    subject_reference: str
    carrier_id: uuid.UUID
    operation: str
    sequence: int
    payload: dict[str, Any]
    state: str
    attempts: int
    maybe_sent: bool
    next_attempt_at: datetime
    lease_token: uuid.UUID | None
    leased_until: datetime | None
    carrier_reference: str | None
    carrier_status: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class SailingOfRequest(msgspec.Struct, frozen=True, kw_only=True):
    carrier_id: uuid.UUID
    facts: SailingFacts


def _row(row: Any) -> RequestRow:
    return RequestRow(**row._mapping)


async def sailing_of(conn: AsyncConnection, sailing_id: uuid.UUID) -> SailingOfRequest:
    """The carrier and the voyage a request about a booking on this sailing names."""
    s = sailings
    query = (
        select(
            s.c.carrier_id,
            carriers.c.scac,
            s.c.voyage_number,
            s.c.port_of_loading,
            s.c.port_of_discharge,
            s.c.service_code,
            s.c.vessel_name,
            s.c.vessel_imo,
        )
        .join(carriers, carriers.c.id == s.c.carrier_id)
        .where(s.c.id == sailing_id)
    )
    row = (await conn.execute(query)).one()
    return SailingOfRequest(
        carrier_id=row.carrier_id,
        facts=SailingFacts(
            carrier_scac=row.scac,
            voyage_number=row.voyage_number,
            port_of_loading=row.port_of_loading,
            port_of_discharge=row.port_of_discharge,
            service_code=row.service_code,
            vessel_name=row.vessel_name,
            vessel_imo=row.vessel_imo,
        ),
    )


async def record(
    conn: AsyncConnection, *, subject_kind: str, subject_id: uuid.UUID, subject_reference: str,
    carrier_id: uuid.UUID, operation: str, payload: dict[str, Any], now: datetime,
) -> None:  # fmt: skip
    """Add a request after the subject's others. The caller holds the subject's row (its
    booking or container was just inserted or updated), so ``sequence`` cannot race; the
    unique (subject, sequence) stands behind that."""
    following = (
        select(func.coalesce(func.max(requests.c.sequence), 0) + 1)
        .where(requests.c.subject_id == subject_id)
        .scalar_subquery()
    )
    await conn.execute(
        insert(requests).values(
            id=uuid.uuid4(),
            subject_kind=subject_kind,
            subject_id=subject_id,
            subject_reference=subject_reference,
            carrier_id=carrier_id,
            operation=operation,
            sequence=following,
            payload=payload,
            state=RequestState.PENDING,
            attempts=0,
            maybe_sent=False,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
    )


def _due(now: ColumnElement[datetime]) -> ColumnElement[bool]:
    """Pending and due, or sending under a lease that lapsed; and first of its subject."""
    earlier = requests.alias("earlier")
    waiting = exists().where(
        earlier.c.subject_id == requests.c.subject_id,
        earlier.c.sequence < requests.c.sequence,
        earlier.c.state.in_(UNFINISHED_STATES),
    )
    return and_(
        or_(
            and_(requests.c.state == RequestState.PENDING, requests.c.next_attempt_at <= now),
            and_(requests.c.state == RequestState.SENDING, requests.c.leased_until <= now),
        ),
        ~waiting,
    )


async def any_due(conn: AsyncConnection, now: ColumnElement[datetime]) -> bool:
    """Whether a request is due: a read, so that an idle dispatcher takes no write lock."""
    return (await conn.execute(select(exists().where(_due(now))))).scalar_one() is True


async def claim_due(
    conn: AsyncConnection, now: ColumnElement[datetime], token: uuid.UUID, lease_seconds: float,
    limit: int,
) -> list[RequestRow]:  # fmt: skip
    """Lease up to ``limit`` due requests to ``token``; each attempt counted. A request
    retaken from a lapsed lease is ``maybe_sent``: its call may have reached the carrier."""
    candidates = select(requests.c.id).where(_due(now)).order_by(requests.c.next_attempt_at, requests.c.id)
    if conn.dialect.name == "postgresql":
        candidates = candidates.with_for_update(of=requests, skip_locked=True)
    ids = list((await conn.execute(candidates.limit(limit))).scalars())
    if not ids:
        return []
    until = (await conn.execute(select(now))).scalar_one()
    statement = (
        update(requests)
        .where(requests.c.id.in_(ids), _due(now))
        .values(
            state=RequestState.SENDING,
            lease_token=token,
            leased_until=until + timedelta(seconds=lease_seconds),
            attempts=requests.c.attempts + 1,
            maybe_sent=or_(requests.c.maybe_sent, requests.c.state == RequestState.SENDING),
            updated_at=until,
        )
        .returning(*requests.c)
    )
    return sorted((_row(row) for row in await conn.execute(statement)), key=lambda r: r.sequence)


async def finish(
    conn: AsyncConnection, request_id: uuid.UUID, token: uuid.UUID, values: dict[str, Any]
) -> RequestRow | None:
    """Write an attempt's outcome if this dispatcher still holds the request; None if not."""
    statement = (
        update(requests)
        .where(
            requests.c.id == request_id,
            requests.c.lease_token == token,
            requests.c.state == RequestState.SENDING,
        )
        .values(lease_token=None, leased_until=None, **values)
        .returning(*requests.c)
    )
    row = (await conn.execute(statement)).first()
    return None if row is None else _row(row)


async def carrier_reference_of(conn: AsyncConnection, subject_id: uuid.UUID) -> str | None:
    """The carrier's reference of a subject's booking, once its request was acknowledged."""
    query = (
        select(requests.c.carrier_reference)
        .where(
            requests.c.subject_id == subject_id,
            requests.c.operation == "request",
            requests.c.state == RequestState.ACKNOWLEDGED,
        )
        .order_by(requests.c.sequence.desc())
        .limit(1)
    )
    found: str | None = (await conn.execute(query)).scalar()
    return found


async def give_up_unsent(conn: AsyncConnection, subject_id: uuid.UUID, why: str, now: datetime) -> None:
    """Stop the subject's requests still waiting to be sent (the carrier ended its booking)."""
    await conn.execute(
        update(requests)
        .where(requests.c.subject_id == subject_id, requests.c.state == RequestState.PENDING)
        .values(state=RequestState.FAILED, last_error=why[:500], updated_at=now)
    )


async def of_subject(conn: AsyncConnection, subject_id: uuid.UUID) -> list[RequestRow]:
    query = select(requests).where(requests.c.subject_id == subject_id).order_by(requests.c.sequence)
    return [_row(row) for row in await conn.execute(query)]


async def get(conn: AsyncConnection, request_id: uuid.UUID) -> RequestRow | None:
    row = (await conn.execute(select(requests).where(requests.c.id == request_id))).first()
    return None if row is None else _row(row)


async def listed(
    conn: AsyncConnection, state: str | None, before: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[RequestRow]:
    """Requests newest first, of ``state`` if given, from after the cursor position ``before``."""
    query = select(requests)
    if state is not None:
        query = query.where(requests.c.state == state)
    query = newest_first(query, requests, before).limit(limit)
    return [_row(row) for row in await conn.execute(query)]


async def settle_unknown(
    conn: AsyncConnection, request_id: uuid.UUID, values: dict[str, Any]
) -> RequestRow | None:
    """Write what an operator learnt of a request whose outcome was unknown; None when the
    request is not (or no longer) ``unknown``: settled once, by one caller."""
    statement = (
        update(requests)
        .where(requests.c.id == request_id, requests.c.state == RequestState.UNKNOWN)
        .values(**values)
        .returning(*requests.c)
    )
    row = (await conn.execute(statement)).first()
    return None if row is None else _row(row)
