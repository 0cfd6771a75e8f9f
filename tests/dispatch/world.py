"""The dispatcher's test world: a simulated carrier synced into the inventory like in production,
a probe between the app and the carrier's adapter (what the carrier received, and how many of a
booking's calls were in flight at once), dispatcher replicas with engines of their own."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import select

from app.accounts.actor import OrgKind
from app.carrier_requests.repository import requests
from app.db import create_engine, table_of, transaction
from app.dispatch import service
from app.domain.states import Load
from app.events.models import OutboxEvent
from app.inventory import service as inventory
from app.inventory.repository import allotments, carriers, sailings
from app.inventory.schemas import AllotmentCreate
from app.reservations import bookings, holds
from app.reservations.repository import bookings as bookings_table
from app.reservations.schemas import BookingView, HoldConfirm, HoldCreate
from app.runtime import Runtime
from app.sync.service import sync_carrier
from carriers.base import (
    BookingAck,
    BookingRequest,
    BookingStatusReport,
    CarrierAdapter,
    RetryableCarrierError,
)
from tests.factories import Account, confirmation, make_account
from tests.sync.sync_world import add_carrier, fast_registry

SCAC = "SIMU"
SIMULATED = {"seed": 7, "lanes": ["CNSHA-USLAX"], "weeks": 4}
events = table_of(OutboxEvent)


class CarrierProbe:
    """Stands between the app and a carrier adapter: records every booking call, counts the
    calls in flight per booking, may lose the answer to the first booking request (the carrier
    booked, the answer timed out), and may report statuses of its own."""

    def __init__(self, inner: CarrierAdapter, *, lose_first_answer: bool = False) -> None:
        self.inner = inner
        self.scac = inner.scac
        self.kind = inner.kind
        self.deduplicates_booking_requests = getattr(inner, "deduplicates_booking_requests", False)
        self.lose_first_answer = lose_first_answer
        self.calls: list[tuple[str, str]] = []
        self.in_flight: Counter[str] = Counter()
        self.most_in_flight = 0
        self.statuses: dict[str, BookingStatusReport] = {}
        self.request_answers: dict[str, BookingAck] = {}

    @asynccontextmanager
    async def _call(self, operation: str, subject: str) -> AsyncIterator[None]:
        self.calls.append((operation, subject))
        self.in_flight[subject] += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight[subject])
        try:
            await asyncio.sleep(0.05)  # long enough for racing dispatchers to overlap
            yield
        finally:
            self.in_flight[subject] -= 1

    async def request_booking(self, req: BookingRequest) -> BookingAck:
        async with self._call("request", req.reference):
            ack = await self.inner.request_booking(req)
            if self.lose_first_answer:
                self.lose_first_answer = False
                raise RetryableCarrierError(self.scac, "read timeout: the answer was lost")
            return self.request_answers.get(req.reference, ack)

    async def amend_booking(self, carrier_reference: str, req: BookingRequest) -> BookingAck:
        async with self._call("amend", req.reference):
            return await self.inner.amend_booking(carrier_reference, req)

    async def cancel_booking(self, carrier_reference: str) -> BookingAck:
        async with self._call("cancel", carrier_reference):
            return await self.inner.cancel_booking(carrier_reference)

    async def booking_status(self, carrier_reference: str) -> BookingStatusReport:
        if carrier_reference in self.statuses:
            return self.statuses[carrier_reference]
        return await self.inner.booking_status(carrier_reference)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@dataclasses.dataclass
class Lane:
    rt: Runtime
    probe: CarrierProbe
    shipper: Account
    # Sailings of the lane still open for booking, soonest first.
    sailing_ids: list[uuid.UUID]


async def simulated_lane(runtime: Runtime, *, lose_first_answer: bool = False, reefer_units: int = 0) -> Lane:
    """Carrier SIMU (simulated) synced into the inventory; its adapter behind a probe."""
    rt = dataclasses.replace(runtime, carriers=fast_registry())
    await add_carrier(rt, SCAC, "simulated", **SIMULATED)
    await sync_carrier(rt, rt.carriers, SCAC)
    await rt.carriers.adapter_for(rt, SCAC, "simulated", SIMULATED)
    # The simulated adapter itself (adapter_for hands it out wrapped for the metrics): tests
    # turn its knobs.
    inner = rt.carriers.cached(SCAC)
    assert inner is not None
    probe = CarrierProbe(inner, lose_first_answer=lose_first_answer)
    rt.carriers.install(SCAC, "simulated", SIMULATED, probe)
    async with transaction(rt.engine, read_only=True) as conn:
        query = (
            select(sailings.c.id)
            .join(carriers, carriers.c.id == sailings.c.carrier_id)
            .where(carriers.c.scac == SCAC, sailings.c.cut_off > datetime.now(UTC) + timedelta(days=1))
            .order_by(sailings.c.etd)
        )
        ids = list((await conn.execute(query)).scalars())
    assert len(ids) >= 2, ids
    if reefer_units:
        # The carrier allocates no reefers: a reefer booking is one it will reject.
        for sailing_id in ids[:2]:
            await inventory.add_allotment(
                rt,
                sailing_id,
                AllotmentCreate(size_type="45R1", units=reefer_units, rate=Decimal(3400), currency="USD"),
            )
    shipper = await make_account(rt, OrgKind.SHIPPER)
    return Lane(rt=rt, probe=probe, shipper=shipper, sailing_ids=ids)


async def fcl_booking(
    lane: Lane, *, units: int = 1, size_type: str = "42G1", sailing: int = 0, **cargo: Any
) -> BookingView:
    rt = lane.rt
    hold = await holds.place_hold(
        rt,
        lane.shipper.actor,
        HoldCreate(sailing_id=lane.sailing_ids[sailing], load=Load.FCL, size_type=size_type, units=units),
    )
    return await bookings.confirm_hold(
        rt, lane.shipper.actor, hold.id, msgspec.convert(confirmation(**cargo), HoldConfirm)
    )


@asynccontextmanager
async def replicas(lane: Lane, count: int) -> AsyncIterator[list[Runtime]]:
    """``count`` dispatchers as separate replicas would be: each its own engine (connections)
    and adapter cache, all on the same database, clock and carrier."""
    async with AsyncExitStack() as stack:
        runtimes = []
        for _ in range(count):
            engine = create_engine(lane.rt.settings)
            stack.push_async_callback(engine.dispose)
            rt = Runtime(
                settings=lane.rt.settings, engine=engine, clock=lane.rt.clock, carriers=fast_registry()
            )
            rt.carriers.install(SCAC, "simulated", SIMULATED, lane.probe)
            runtimes.append(rt)
        yield runtimes


async def dispatch_until(lane: Lane, runtimes: list[Runtime], done: Any, rounds: int = 12) -> None:
    """Run the replicas' dispatchers at once, round after round, the clock moved past any
    back-off between rounds, until ``done()`` (a coroutine) is true."""
    for _ in range(rounds):
        await asyncio.gather(*(service.run(rt) for rt in runtimes))
        if await done():
            return
        lane.rt.clock.advance(5)
    raise AssertionError("the dispatchers did not get there")


async def request_rows(rt: Runtime, subject_reference: str) -> list[Any]:
    async with transaction(rt.engine, read_only=True) as conn:
        query = select(requests).where(requests.c.subject_reference == subject_reference)
        return list((await conn.execute(query.order_by(requests.c.sequence))).all())


async def booking_row(rt: Runtime, reference: str) -> Any:
    async with transaction(rt.engine, read_only=True) as conn:
        query = select(bookings_table).where(bookings_table.c.reference == reference)
        return (await conn.execute(query)).one()


async def units_booked(rt: Runtime, sailing_id: uuid.UUID, size_type: str) -> int:
    async with transaction(rt.engine, read_only=True) as conn:
        query = select(allotments.c.units_booked).where(
            allotments.c.sailing_id == sailing_id, allotments.c.size_type == size_type
        )
        return int((await conn.execute(query)).scalar_one())


async def events_of(rt: Runtime, kind: str) -> list[dict[str, Any]]:
    async with transaction(rt.engine, read_only=True) as conn:
        query = select(events.c.payload).where(events.c.type == kind).order_by(events.c.id)
        return [row.payload for row in await conn.execute(query)]
