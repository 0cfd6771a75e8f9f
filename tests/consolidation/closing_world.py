"""Helpers for consolidation tests: a reefer pool with mixed LCL cargo, booked through the
services, a later sailing of the lane for the offers, and read-outs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import select, update

from app.consolidation.repository import containers
from app.db import transaction
from app.domain.states import Load
from app.inventory.repository import allotments, pools, sailings
from app.reservations import bookings, holds
from app.reservations.invariants import check_invariants, events
from app.reservations.repository import bookings as bookings_table
from app.reservations.schemas import BookingView, HoldConfirm, HoldCreate, HoldView
from app.runtime import Runtime
from tests.factories import World, build_world, confirmation, make_sailing

# 10 CBM and 5 t per container: small numbers, the same rules.
USABLE_CBM = Decimal(10)
PAYLOAD_KG = Decimal(5000)
PAINT = {"un_number": "1263", "imo_class": "3", "proper_shipping_name": "PAINT", "packing_group": 2}
# Class 5.1 must be "separated from" class 3 (IMDG 7.2.4): never in one container.
OXIDIZER = {"un_number": "1479", "imo_class": "5.1", "proper_shipping_name": "OXIDIZING SOLID, N.O.S."}


@dataclass
class Mixed:
    """Sailing ``sailing_id`` with a 45R1 pool (``pool_id``) holding five bookings, oldest first:
    paint (class 3, 4 CBM), an oxidizer (class 5.1, 4 CBM), frozen cargo at -18 °C (5 CBM),
    chilled cargo at +2 °C (5 CBM) and furniture (3 CBM). Packing needs four containers: the
    two dangerous goods apart, each set point alone; the counters drew three."""

    world: World
    sailing_id: uuid.UUID
    pool_id: uuid.UUID
    later_sailing_id: uuid.UUID
    booked: dict[str, BookingView]


async def mixed_pool(rt: Runtime, *, units: int) -> Mixed:
    world = await build_world(
        rt, size_type="45R1", units=units, pool_usable_cbm=USABLE_CBM, pool_payload_kg=PAYLOAD_KG
    )
    later = await make_sailing(
        rt, size_type="45R1", units=4, pool_usable_cbm=USABLE_CBM, pool_payload_kg=PAYLOAD_KG,
        cut_off_in=timedelta(days=10),
    )  # fmt: skip
    sailing_id = world.sailing.id
    booked = {}
    for name, cbm, cargo in (
        ("paint", "4", {"dangerous_goods": [PAINT]}),
        ("oxidizer", "4", {"dangerous_goods": [OXIDIZER]}),
        ("frozen", "5", {"reefer": {"set_point": "-18"}}),
        ("chilled", "5", {"reefer": {"set_point": "2"}}),
        ("furniture", "3", {}),
    ):
        booked[name] = await lcl_booking(rt, world, sailing_id, cbm, **cargo)
    return Mixed(world, sailing_id, await pool_id_of(rt, sailing_id), later.id, booked)


async def lcl_hold(rt: Runtime, world: World, sailing_id: uuid.UUID, cbm: str, kg: str = "500") -> HoldView:
    rt.clock.advance(1)  # "newest" is never a tie
    request = HoldCreate(sailing_id=sailing_id, load=Load.LCL, cbm=Decimal(cbm), kg=Decimal(kg))
    return await holds.place_hold(rt, world.shipper.actor, request)


async def lcl_booking(
    rt: Runtime, world: World, sailing_id: uuid.UUID, cbm: str, kg: str = "500", **cargo: Any
) -> BookingView:
    hold = await lcl_hold(rt, world, sailing_id, cbm, kg)
    body = msgspec.convert(confirmation(cbm=cbm, kg=kg, **cargo), HoldConfirm)
    return await bookings.confirm_hold(rt, world.shipper.actor, hold.id, body)


async def pool_id_of(rt: Runtime, sailing_id: uuid.UUID) -> uuid.UUID:
    async with transaction(rt.engine, read_only=True) as conn:
        return (await conn.execute(select(pools.c.id).where(pools.c.sailing_id == sailing_id))).scalar_one()


async def pool_row(rt: Runtime, pool_id: uuid.UUID) -> Any:
    async with transaction(rt.engine, read_only=True) as conn:
        return (await conn.execute(select(pools).where(pools.c.id == pool_id))).one()


async def allotment_row(rt: Runtime, allotment_id: uuid.UUID) -> Any:
    async with transaction(rt.engine, read_only=True) as conn:
        return (await conn.execute(select(allotments).where(allotments.c.id == allotment_id))).one()


async def container_rows(rt: Runtime, pool_id: uuid.UUID) -> list[Any]:
    async with transaction(rt.engine, read_only=True) as conn:
        query = select(containers).where(containers.c.pool_id == pool_id).order_by(containers.c.number)
        return list((await conn.execute(query)).all())


async def booking_rows(rt: Runtime, sailing_id: uuid.UUID) -> dict[str, Any]:
    async with transaction(rt.engine, read_only=True) as conn:
        query = select(bookings_table).where(bookings_table.c.sailing_id == sailing_id)
        return {row.reference: row for row in await conn.execute(query)}


async def events_of(rt: Runtime, kind: str) -> list[Any]:
    async with transaction(rt.engine, read_only=True) as conn:
        return list(
            (await conn.execute(select(events).where(events.c.type == kind).order_by(events.c.id))).all()
        )


async def set_lcl_cut_off(rt: Runtime, sailing_id: uuid.UUID, minutes_from_now: float) -> None:
    """Give the sailing an LCO cut-off this far from database time (negative: passed)."""
    async with transaction(rt.engine) as conn:
        now = (await conn.execute(select(rt.clock.now_sql(rt.dialect)))).scalar_one()
        lco = (now + timedelta(minutes=minutes_from_now)).isoformat()
        cut_offs = (
            await conn.execute(select(sailings.c.cut_offs).where(sailings.c.id == sailing_id))
        ).scalar_one()
        await conn.execute(
            update(sailings).where(sailings.c.id == sailing_id).values(cut_offs={**cut_offs, "LCO": lco})
        )


async def assert_invariants_hold(rt: Runtime) -> None:
    assert await check_invariants(rt) == []
