"""Helpers for sync tests: carriers registered like an operator would, a scripted carrier, and
read-outs of what the sync stored."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import func, select

from app.carrier_adapters.cache import CarrierAdapters
from app.db import table_of, transaction
from app.inventory import service as inventory
from app.inventory.models import Allotment, Pool, Sailing
from app.inventory.repository import carriers
from app.inventory.schemas import CarrierCreate
from app.runtime import Runtime
from app.sync import repository
from app.sync.models import AllotmentOffer, SailingCarrierState, SyncChange
from carriers.base import (
    AllocationStatus,
    BookingAck,
    BookingRequest,
    BookingStatusReport,
    Manifest,
    ManifestReceipt,
    OfferedAllocation,
    PermanentCarrierError,
    ReleaseReceipt,
    RetryableCarrierError,
    SailingKey,
    SailingOffer,
    ScheduleAnswer,
    ScheduleQuery,
    UnitRelease,
)

sailings = table_of(Sailing)
allotments = table_of(Allotment)
pools = table_of(Pool)
offers = table_of(AllotmentOffer)
states = table_of(SailingCarrierState)
changes = table_of(SyncChange)


async def add_carrier(rt: Runtime, scac: str, kind: str = "simulated", **settings: Any) -> None:
    await inventory.create_carrier(
        rt, CarrierCreate(scac=scac, name=f"Carrier {scac}", adapter_kind=kind, adapter_settings=settings)
    )


def fast_registry(**overrides: Any) -> CarrierAdapters:
    """A registry that gives up quickly: tests never wait on real back-offs."""
    values: dict[str, Any] = {"timeout": 5.0, "attempts": 1, "backoff": 0.0}
    values.update(overrides)
    return CarrierAdapters(**values)


def offer(scac: str, voyage: str, *, days: int = 20, units: int = 10, **changes: Any) -> SailingOffer:
    """A sailing `days` ahead, CNSHA->USLAX, with one 42G1 allocation and one 22G1."""
    etd = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)
    base = SailingOffer(
        carrier_scac=scac,
        service_code="TPX",
        vessel_name="SCRIPTED VESSEL",
        vessel_imo="9321483",
        voyage_number=voyage,
        port_of_loading="CNSHA",
        port_of_discharge="USLAX",
        etd=etd,
        eta=etd + timedelta(days=14),
        cut_offs={"DCO": etd - timedelta(days=3), "FCO": etd - timedelta(days=2)},
        allocations=[
            OfferedAllocation(size_type="22G1", units=4, rate=Decimal("1100"), currency="USD"),
            OfferedAllocation(size_type="42G1", units=units, rate=Decimal("1900"), currency="USD"),
        ],
    )
    return msgspec.structs.replace(base, **changes)


def with_units(sailing: SailingOffer, size_type: str, units: int) -> SailingOffer:
    return msgspec.structs.replace(
        sailing,
        allocations=[
            msgspec.structs.replace(a, units=units) if a.size_type == size_type else a
            for a in sailing.allocations
        ],
    )


class ScriptedCarrier:
    """A carrier whose schedule a test edits between syncs; it may fail or hang on demand."""

    def __init__(self, scac: str, kind: str, sailings: list[SailingOffer]) -> None:
        self.scac = scac
        self.kind = kind
        self.sailings = sailings
        self.failing = False
        self.hanging = False
        self.problems: list[str] = []  # when set, the answer says it is incomplete
        self.calls = 0

    async def schedules(self, query: ScheduleQuery) -> ScheduleAnswer:
        self.calls += 1
        if self.hanging:
            await asyncio.Event().wait()
        if self.failing:
            raise RetryableCarrierError(self.scac, "scripted 503")
        offers = [s for s in self.sailings if query.matches(s)]
        return ScheduleAnswer(offers=offers, complete=not self.problems, problems=list(self.problems))

    async def allocation(self, key: SailingKey) -> AllocationStatus:
        raise PermanentCarrierError(self.scac, "not scripted")

    async def request_booking(self, req: BookingRequest) -> BookingAck:
        raise PermanentCarrierError(self.scac, "not scripted")

    async def booking_status(self, carrier_reference: str) -> BookingStatusReport:
        raise PermanentCarrierError(self.scac, "not scripted")

    async def amend_booking(self, carrier_reference: str, req: BookingRequest) -> BookingAck:
        raise PermanentCarrierError(self.scac, "not scripted")

    async def cancel_booking(self, carrier_reference: str) -> BookingAck:
        raise PermanentCarrierError(self.scac, "not scripted")

    async def release_units(self, release: UnitRelease) -> ReleaseReceipt:
        raise PermanentCarrierError(self.scac, "not scripted")

    async def submit_manifest(self, manifest: Manifest) -> ManifestReceipt:
        raise PermanentCarrierError(self.scac, "not scripted")

    async def aclose(self) -> None:
        return None


async def scripted_carrier(
    rt: Runtime, registry: CarrierAdapters, scac: str, sailings: list[SailingOffer], kind: str = "simulated"
) -> ScriptedCarrier:
    """Register carrier `scac` and make the registry use a scripted adapter for it."""
    await add_carrier(rt, scac, kind)
    carrier = ScriptedCarrier(scac, kind, sailings)
    registry.install(scac, kind, {}, carrier)
    return carrier


@dataclass(frozen=True)
class StoredAllotment:
    size_type: str
    units_total: int
    units_offered: int | None
    rate: Decimal


@dataclass(frozen=True)
class StoredSailing:
    id: uuid.UUID
    voyage_number: str
    etd: datetime
    eta: datetime
    cut_off: datetime
    status: str
    carrier_status: str | None
    allotments: dict[str, StoredAllotment]
    pools: dict[str, tuple[Decimal, Decimal, int]]  # size-type: (rate, minimum, usable dm3 = CBM x 1000)


async def stored_sailings(rt: Runtime, scac: str) -> dict[str, StoredSailing]:
    """Every sailing of carrier `scac` as stored, by voyage number."""
    async with transaction(rt.engine, read_only=True) as conn:
        rows = (
            await conn.execute(
                select(sailings, states.c.carrier_status)
                .join(carriers, carriers.c.id == sailings.c.carrier_id)
                .outerjoin(states, states.c.sailing_id == sailings.c.id)
                .where(carriers.c.scac == scac)
            )
        ).all()
        result = {}
        for row in rows:
            units = (
                await conn.execute(
                    select(allotments, offers.c.units_offered)
                    .outerjoin(offers, offers.c.allotment_id == allotments.c.id)
                    .where(allotments.c.sailing_id == row.id)
                )
            ).all()
            pool_rows = (await conn.execute(select(pools).where(pools.c.sailing_id == row.id))).all()
            result[row.voyage_number] = StoredSailing(
                id=row.id,
                voyage_number=row.voyage_number,
                etd=row.etd,
                eta=row.eta,
                cut_off=row.cut_off,
                status=row.status,
                carrier_status=row.carrier_status,
                allotments={
                    a.size_type: StoredAllotment(a.size_type, a.units_total, a.units_offered, a.rate)
                    for a in units
                },
                pools={p.size_type: (p.rate, p.minimum, p.container_volume_dm3) for p in pool_rows},
            )
    return result


async def recorded_changes(rt: Runtime, scac: str) -> list[tuple[str, str, str | None, dict[str, Any]]]:
    """(kind, voyage, size-type, detail) of every change recorded for carrier `scac`, in order."""
    async with transaction(rt.engine, read_only=True) as conn:
        carrier_id = (await conn.execute(select(carriers.c.id).where(carriers.c.scac == scac))).scalar_one()
        rows = await repository.changes_of_carrier(conn, carrier_id)
        voyages = dict((await conn.execute(select(sailings.c.id, sailings.c.voyage_number))).tuples().all())
    return [(row.kind, voyages[row.sailing_id], row.size_type, row.detail) for row in rows]


async def change_count(rt: Runtime) -> int:
    async with transaction(rt.engine, read_only=True) as conn:
        return int((await conn.execute(select(func.count()).select_from(changes))).scalar_one())
