"""Queries over organisations and API keys."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from app.accounts.models import ApiKey, Organisation
from app.db import table_of

organisations = table_of(Organisation)
api_keys = table_of(ApiKey)


async def insert_organisation(
    conn: AsyncConnection,
    *,
    name: str,
    kind: str,
    marketplace_id: uuid.UUID | None,
    at: datetime,
) -> uuid.UUID:
    org_id = uuid.uuid4()
    await conn.execute(
        insert(organisations).values(
            id=org_id, name=name, kind=kind, marketplace_id=marketplace_id, created_at=at
        )
    )
    return org_id


async def get_organisation(conn: AsyncConnection, org_id: uuid.UUID) -> Row[tuple[object, ...]] | None:
    result = await conn.execute(select(organisations).where(organisations.c.id == org_id))
    return result.first()


async def list_organisations(conn: AsyncConnection) -> list[Row[tuple[object, ...]]]:
    result = await conn.execute(select(organisations).order_by(organisations.c.created_at))
    return list(result.all())


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


async def find_active_key(conn: AsyncConnection, key_hash: str) -> Row[tuple[object, ...]] | None:
    result = await conn.execute(
        select(
            api_keys.c.id,
            api_keys.c.organisation_id,
            api_keys.c.scopes,
            organisations.c.kind,
        )
        .join(organisations, organisations.c.id == api_keys.c.organisation_id)
        .where(api_keys.c.key_hash == key_hash, api_keys.c.revoked_at.is_(None))
    )
    return result.first()
