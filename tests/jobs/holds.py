"""Placing holds through the service and reading back what the sweeper did."""

from __future__ import annotations

import uuid
from collections import Counter
from decimal import Decimal

import msgspec
from sqlalchemy import func, select

from app.db import transaction
from app.domain.states import Load
from app.reservations import holds
from app.reservations.invariants import events
from app.reservations.repository import holds as holds_table
from app.reservations.schemas import HoldConfirm, HoldCreate, HoldView
from app.runtime import Runtime
from tests.factories import Account, confirmation


async def place_fcl(
    rt: Runtime, account: Account, sailing_id: uuid.UUID, ttl_seconds: int, units: int = 1
) -> HoldView:
    request = HoldCreate(
        sailing_id=sailing_id, load=Load.FCL, size_type="42G1", units=units, ttl_seconds=ttl_seconds
    )
    return await holds.place_hold(rt, account.actor, request)


async def place_lcl(rt: Runtime, account: Account, sailing_id: uuid.UUID, ttl_seconds: int) -> HoldView:
    request = HoldCreate(
        sailing_id=sailing_id, load=Load.LCL, cbm=Decimal(2), kg=Decimal(500), ttl_seconds=ttl_seconds
    )
    return await holds.place_hold(rt, account.actor, request)


def confirm_request() -> HoldConfirm:
    return msgspec.convert(confirmation(), HoldConfirm)


async def states(rt: Runtime) -> dict[uuid.UUID, str]:
    query = select(holds_table.c.id, holds_table.c.state)
    async with transaction(rt.engine, read_only=True) as conn:
        return {row.id: row.state for row in await conn.execute(query)}


async def expired_events(rt: Runtime) -> Counter[str]:
    """How many ``hold.expired`` events each hold has (by hold id as text)."""
    query = select(events.c.subject_id, func.count()).where(events.c.type == "hold.expired")
    async with transaction(rt.engine, read_only=True) as conn:
        rows = await conn.execute(query.group_by(events.c.subject_id))
        return Counter({subject: int(count) for subject, count in rows})


async def active_count(rt: Runtime) -> int:
    query = select(func.count()).select_from(holds_table).where(holds_table.c.state == "active")
    async with transaction(rt.engine, read_only=True) as conn:
        return int((await conn.execute(query)).scalar_one())
