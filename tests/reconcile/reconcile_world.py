"""Helpers for reconcile tests: a scripted carrier with two sailings on one lane (synced like
in production), holds and bookings placed through the services, and read-outs."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import select

from app.db import transaction
from app.domain.states import Load
from app.inventory import service as inventory
from app.inventory.repository import allotments, pools
from app.inventory.schemas import CarrierCreate
from app.reconcile.repository import rolled_bookings
from app.reconcile.service import reconcile
from app.reservations import bookings, holds
from app.reservations.invariants import events
from app.reservations.repository import bookings as bookings_table
from app.reservations.repository import holds as holds_table
from app.reservations.schemas import BookingView, HoldConfirm, HoldCreate, HoldView
from app.runtime import Runtime
from app.sync.service import sync_carrier
from carriers.base import SailingOffer
from tests.factories import Account, confirmation
from tests.sync.sync_world import ScriptedCarrier, fast_registry, offer, stored_sailings

SCAC = "RCON"


@dataclass
class Lane:
    """Carrier RCON with sailings R1 (in 20 days) and R2 (a week later), CNSHA -> USLAX, each
    with 22G1 x 4 (with an LCL pool) and 42G1 x 10."""

    rt: Runtime
    carrier: ScriptedCarrier
    first: SailingOffer
    second: SailingOffer
    ids: dict[str, uuid.UUID]

    async def resync(self, first: SailingOffer | None = None, second: SailingOffer | None = None) -> None:
        """The carrier now reports these; the sync records what changed."""
        self.first = first or self.first
        self.second = second or self.second
        self.carrier.sailings = [self.first, self.second]
        await sync_carrier(self.rt, self.rt.carriers, SCAC)


async def make_lane(
    runtime: Runtime, *, release_deadline_days: int = 7, first_in_days: int = 20, **second: Any
) -> Lane:
    rt = dataclasses.replace(runtime, carriers=fast_registry())
    await inventory.create_carrier(
        rt,
        CarrierCreate(
            scac=SCAC,
            name="Reconciled Lines",
            adapter_kind="simulated",
            release_deadline_days=release_deadline_days,
        ),
    )
    first = offer(SCAC, "R1", days=first_in_days)
    later = offer(SCAC, "R2", days=first_in_days + 7, **second)
    carrier = ScriptedCarrier(SCAC, "simulated", [first, later])
    rt.carriers.install(SCAC, "simulated", {}, carrier)
    await sync_carrier(rt, rt.carriers, SCAC)
    await reconcile(rt)  # the discoveries: nothing to do but mark them handled
    stored = await stored_sailings(rt, SCAC)
    return Lane(rt=rt, carrier=carrier, first=first, second=later, ids={v: s.id for v, s in stored.items()})


async def fcl_hold(
    rt: Runtime, account: Account, sailing_id: uuid.UUID, units: int, ttl_seconds: int = 600
) -> HoldView:
    # Each claim a second apart by the database clock: "newest" is never a tie.
    rt.clock.advance(1)
    request = HoldCreate(
        sailing_id=sailing_id, load=Load.FCL, size_type="42G1", units=units, ttl_seconds=ttl_seconds
    )
    return await holds.place_hold(rt, account.actor, request)


async def fcl_booking(rt: Runtime, account: Account, sailing_id: uuid.UUID, units: int) -> BookingView:
    hold = await fcl_hold(rt, account, sailing_id, units)
    return await bookings.confirm_hold(
        rt, account.actor, hold.id, msgspec.convert(confirmation(), HoldConfirm)
    )


async def lcl_booking(rt: Runtime, account: Account, sailing_id: uuid.UUID, cbm: str) -> BookingView:
    rt.clock.advance(1)
    request = HoldCreate(
        sailing_id=sailing_id, load=Load.LCL, size_type="22G1", cbm=Decimal(cbm), kg=Decimal(500)
    )
    hold = await holds.place_hold(rt, account.actor, request)
    return await bookings.confirm_hold(
        rt, account.actor, hold.id, msgspec.convert(confirmation(), HoldConfirm)
    )


async def hold_rows(rt: Runtime) -> dict[uuid.UUID, Any]:
    async with transaction(rt.engine, read_only=True) as conn:
        return {row.id: row for row in await conn.execute(select(holds_table))}


async def booking_states(rt: Runtime) -> dict[str, str]:
    async with transaction(rt.engine, read_only=True) as conn:
        rows = await conn.execute(select(bookings_table.c.reference, bookings_table.c.state))
        return {row.reference: row.state for row in rows}


async def allotment(rt: Runtime, sailing_id: uuid.UUID, size_type: str = "42G1") -> Any:
    async with transaction(rt.engine, read_only=True) as conn:
        query = select(allotments).where(
            allotments.c.sailing_id == sailing_id, allotments.c.size_type == size_type
        )
        return (await conn.execute(query)).one()


async def pool(rt: Runtime, sailing_id: uuid.UUID) -> Any:
    async with transaction(rt.engine, read_only=True) as conn:
        return (await conn.execute(select(pools).where(pools.c.sailing_id == sailing_id))).one()


async def events_of(rt: Runtime, kind: str) -> list[Any]:
    """Events of one type in the order they were recorded."""
    async with transaction(rt.engine, read_only=True) as conn:
        query = select(events).where(events.c.type == kind).order_by(events.c.id)
        return list((await conn.execute(query)).all())


async def rolled(rt: Runtime) -> dict[uuid.UUID, Any]:
    async with transaction(rt.engine, read_only=True) as conn:
        query = select(rolled_bookings, bookings_table.c.offered_hold_id).join(
            bookings_table, bookings_table.c.id == rolled_bookings.c.booking_id
        )
        return {row.booking_id: row for row in await conn.execute(query)}
