"""Queries over organisations and API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from app.accounts.models import ApiKey, Organisation
from app.db import table_of
from app.pagination import newest_first

organisations = table_of(Organisation)
api_keys = table_of(ApiKey)
AnyRow = Row[tuple[object, ...]]


async def insert_organisation(
    conn: AsyncConnection,
    *,
    name: str,
    kind: str,
    marketplace_id: uuid.UUID | None,
    at: datetime,
    external_id: str | None = None,
) -> uuid.UUID:
    org_id = uuid.uuid4()
    await conn.execute(
        insert(organisations).values(
            id=org_id,
            name=name,
            kind=kind,
            marketplace_id=marketplace_id,
            external_id=external_id,
            created_at=at,
        )
    )
    return org_id


async def get_organisation(conn: AsyncConnection, org_id: uuid.UUID) -> AnyRow | None:
    result = await conn.execute(select(organisations).where(organisations.c.id == org_id))
    return result.first()


async def organisations_named(conn: AsyncConnection, name: str) -> list[AnyRow]:
    result = await conn.execute(select(organisations).where(organisations.c.name == name))
    return list(result.all())


async def list_organisations(conn: AsyncConnection) -> list[AnyRow]:
    result = await conn.execute(select(organisations).order_by(organisations.c.created_at))
    return list(result.all())


async def shipper_by_external_id(
    conn: AsyncConnection, marketplace_id: uuid.UUID, external_id: str
) -> AnyRow | None:
    query = select(organisations).where(
        organisations.c.marketplace_id == marketplace_id, organisations.c.external_id == external_id
    )
    return (await conn.execute(query)).first()


async def list_shippers(
    conn: AsyncConnection,
    marketplace_id: uuid.UUID,
    *,
    external_id: str | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[AnyRow]:
    """A marketplace's shippers, newest first, from before the cursor's position."""
    query = select(organisations).where(organisations.c.marketplace_id == marketplace_id)
    if external_id is not None:
        query = query.where(organisations.c.external_id == external_id)
    return await _page(conn, query, organisations, before, limit)


async def insert_api_key(
    conn: AsyncConnection,
    *,
    organisation_id: uuid.UUID,
    name: str,
    prefix: str,
    key_hash: str,
    scopes: str,
    at: datetime,
) -> uuid.UUID:
    key_id = uuid.uuid4()
    await conn.execute(
        insert(api_keys).values(
            id=key_id,
            organisation_id=organisation_id,
            name=name,
            prefix=prefix,
            key_hash=key_hash,
            scopes=scopes,
            created_at=at,
        )
    )
    return key_id


def _still_valid(now: ColumnElement[datetime]) -> ColumnElement[bool]:
    return or_(api_keys.c.revoked_at.is_(None), api_keys.c.revoked_at > now)


async def find_active_key(
    conn: AsyncConnection, key_hash: str, now: ColumnElement[datetime]
) -> AnyRow | None:
    result = await conn.execute(
        select(
            api_keys.c.id,
            api_keys.c.organisation_id,
            api_keys.c.scopes,
            organisations.c.kind,
        )
        .join(organisations, organisations.c.id == api_keys.c.organisation_id)
        .where(api_keys.c.key_hash == key_hash, _still_valid(now))
    )
    return result.first()


def _owned(query: Select[Any], owner: uuid.UUID | None) -> Select[Any]:
    """Keys of ``owner`` only; None: any organisation's (operators)."""
    return query if owner is None else query.where(api_keys.c.organisation_id == owner)


async def list_api_keys(
    conn: AsyncConnection,
    owner: uuid.UUID | None,
    *,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[AnyRow]:
    """Keys of ``owner`` (None: every organisation's), newest first; revoked ones too."""
    return await _page(conn, _owned(select(api_keys), owner), api_keys, before, limit)


async def lock_api_key(
    conn: AsyncConnection, key_id: uuid.UUID, owner: uuid.UUID | None, now: ColumnElement[datetime]
) -> AnyRow | None:
    """The key (``owner``'s, or any for None) with database time as ``now``, locked."""
    query = select(api_keys, now.label("now")).where(api_keys.c.id == key_id)
    query = _owned(query, owner).with_for_update(of=api_keys)
    return (await conn.execute(query)).first()


async def revoke_api_key(conn: AsyncConnection, key_id: uuid.UUID, at: ColumnElement[datetime]) -> AnyRow:
    """Refuse the key from ``at`` on; a key already refused earlier keeps its earlier time."""
    statement = (
        update(api_keys)
        .where(api_keys.c.id == key_id, _still_valid(at))
        .values(revoked_at=at)
        .returning(*api_keys.c)
    )
    row = (await conn.execute(statement)).first()
    if row is not None:
        return row
    return (await conn.execute(select(api_keys).where(api_keys.c.id == key_id))).one()


async def _page(
    conn: AsyncConnection,
    query: Select[Any],
    table: Table,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[AnyRow]:
    return list((await conn.execute(newest_first(query, table, before).limit(limit))).all())
