"""Close-pools benchmark: how long one close of a pool with ~2,000 LCL bookings takes.

``python bench/close_pools.py [--backends sqlite postgresql] [--bookings 2000] [--seed 1]``

Each backend gets a fresh database migrated with ``alembic upgrade head``. One sailing has a 45G1
allotment and pool; ``--bookings`` confirmed LCL bookings (the dry share of bench/consolidation.py's
realistic mix: 0.5-15 CBM, some weight-heavy, 5 % dangerous goods across classes) are inserted in
bulk with their confirmed holds, and the pool's counters set as the holds would have left them
(the containers drawn: what the volume and weight need, plus one). Then ``close_pool`` runs
once, as the ``close-pools`` job does at the LCL cut-off: lock, release holds, plan, draw, write
the containers, a house bill per booking, the ``pool.closed`` event. Invariant 5 is checked
after it (the bulk set-up writes no hold events, so only invariant 5 is reported).
PostgreSQL is ``SLOTPOOL_BENCH_POSTGRES_URL`` (default: local).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.accounts import service as accounts  # noqa: E402
from app.accounts.actor import OrgKind  # noqa: E402
from app.accounts.schemas import OrganisationCreate  # noqa: E402
from app.clock import Clock  # noqa: E402
from app.config import Settings  # noqa: E402
from app.consolidation.service import close_pool  # noqa: E402
from app.db import create_engine, transaction  # noqa: E402
from app.domain.consolidation import PoolBooking  # noqa: E402
from app.inventory import repository as inventory  # noqa: E402
from app.inventory import service as sailings  # noqa: E402
from app.inventory.schemas import AllotmentCreate, CarrierCreate, PoolCreate, SailingCreate  # noqa: E402
from app.reservations.invariants import check_invariants  # noqa: E402
from app.reservations.repository import bookings, holds  # noqa: E402
from app.runtime import Runtime  # noqa: E402
from app.schemas import SizeType  # noqa: E402
from bench.consolidation import generate  # noqa: E402
from bench.expiry import drop_database, fresh_database  # noqa: E402

SIZE_TYPE = SizeType("45G1")
SMALL_PARCEL_DM3 = 4_000
UNITS = 1_000


async def set_up(rt: Runtime, count: int, seed: int) -> uuid.UUID:
    """The sailing, its pool and ``count`` live LCL bookings; the pool's id."""
    await sailings.create_carrier(rt, CarrierCreate(scac="BNCH", name="Bench Lines"))
    now = datetime.now(UTC)
    sailing = await sailings.create_sailing(
        rt,
        SailingCreate(
            carrier_scac="BNCH", service_code="B1", vessel_name="BENCH", voyage_number="B001E",
            port_of_loading="CNSHA", port_of_discharge="USLAX", etd=now + timedelta(days=5),
            eta=now + timedelta(days=20), cut_off=now + timedelta(days=4),
        ),
    )  # fmt: skip
    await sailings.add_allotment(
        rt, sailing.id, AllotmentCreate(size_type=SIZE_TYPE, units=UNITS, rate=Decimal(2000), currency="USD")
    )
    await sailings.add_pool(
        rt,
        sailing.id,
        PoolCreate(
            size_type=SIZE_TYPE, rate_per_revenue_tonne=Decimal(80), minimum=Decimal(0), currency="USD"
        ),
    )
    owner = await accounts.create_organisation(
        rt, OrganisationCreate(name="Bench shipper", kind=OrgKind.SHIPPER)
    )
    # The small-parcel share of the mix (<= 4 CBM), on which bench/README.md's figures were
    # measured: 2,000 of them fill some 80 containers.
    mix = generate(count * 4, seed)
    dry = [b for b in mix if b.set_point_c is None and b.volume_dm3 <= SMALL_PARCEL_DM3][:count]
    assert len(dry) == count, "generate more"
    async with transaction(rt.engine) as conn:
        pool = (await inventory.pools_of(conn, [sailing.id]))[0]
        hold_rows, booking_rows = [], []
        for n, booking in enumerate(dry):
            hold_id = uuid.uuid4()
            space = _space(sailing.id, pool, owner.id, booking)
            at = booking.booked_at
            hold_rows.append(
                {**space, "id": hold_id, "rate": Decimal(80), "minimum": Decimal(0), "state": "confirmed",
                 "created_at": at, "expires_at": at, "ended_at": at}
            )  # fmt: skip
            booking_rows.append(
                {**space, "id": uuid.uuid4(), "reference": f"SP-BENCH{n:06d}", "hold_id": hold_id,
                 "cargo": _cargo(booking), "parties": _PARTIES, "state": "confirmed", "version": 1,
                 "created_at": at, "updated_at": at}
            )  # fmt: skip
        await conn.execute(insert(holds), hold_rows)
        await conn.execute(insert(bookings), booking_rows)
        volume = sum(b.volume_dm3 for b in dry)
        weight = sum(b.weight_g for b in dry)
        drawn = max(-(-volume // pool.container_volume_dm3), -(-weight // pool.container_weight_g)) + 1
        await conn.execute(
            update(inventory.pools)
            .where(inventory.pools.c.id == pool.id)
            .values(
                containers=drawn,
                volume_total_dm3=drawn * pool.container_volume_dm3,
                weight_total_g=drawn * pool.container_weight_g,
                volume_booked_dm3=volume,
                weight_booked_g=weight,
            )
        )
        await conn.execute(
            update(inventory.allotments)
            .where(inventory.allotments.c.id == pool.allotment_id)
            .values(units_pooled=drawn)
        )
    return pool.id  # type: ignore[no-any-return]


_PARTIES = {"shipper": {"name": "Bench Exporter"}, "consignee": {"name": "Bench Importer"}}


def _space(sailing_id: uuid.UUID, pool: Any, owner: uuid.UUID, booking: PoolBooking) -> dict[str, Any]:
    return {
        "organisation_id": owner, "placed_by_id": None, "sailing_id": sailing_id,
        "allotment_id": pool.allotment_id, "pool_id": pool.id, "load": "LCL", "size_type": SIZE_TYPE.value,
        "units": 0, "volume_dm3": booking.volume_dm3, "weight_g": booking.weight_g,
        "price": Decimal(100), "currency": "USD",
    }  # fmt: skip


def _cargo(booking: PoolBooking) -> dict[str, Any]:
    return {
        "description": "Bench cargo",
        "hs_code": "940360",
        "packages": 1,
        "gross_kg": str(Decimal(booking.weight_g) / 1000),
        "cbm": str(Decimal(booking.volume_dm3) / 1000),
        "dangerous_goods": [
            {"un_number": g.un_number, "imo_class": g.imo_class} for g in booking.dangerous_goods
        ],
    }


async def measure(url: str, count: int, seed: int) -> tuple[float, Any, int]:
    settings = Settings(database_url=url, log_level="WARNING", secret_keys="")
    rt = Runtime(settings=settings, engine=create_engine(settings), clock=Clock())
    try:
        pool_id = await set_up(rt, count, seed)
        started = time.perf_counter()
        closed = await close_pool(rt, pool_id)
        seconds = time.perf_counter() - started
        violations = [v for v in await check_invariants(rt) if v.invariant == 5]
        async with transaction(rt.engine, read_only=True) as conn:
            placed = (
                await conn.execute(select(bookings.c.id).where(bookings.c.house_bill_number.is_not(None)))
            ).all()
        assert closed is not None
        assert not violations, violations[:3]
        assert len(placed) == closed.bookings_placed
        return seconds, closed, len(violations)
    finally:
        await rt.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--bookings", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print("| backend | bookings | containers | drawn | rolled | close time |")
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as workdir:
        for backend in args.backends:
            url = fresh_database(backend, Path(workdir))
            try:
                seconds, closed, _ = asyncio.run(measure(url, args.bookings, args.seed))
            finally:
                drop_database(url)
            print(
                f"| {backend} | {closed.bookings_placed + closed.bookings_rolled:,} | {closed.containers}"
                f" | {closed.containers_drawn} | {closed.bookings_rolled} | {seconds:.2f} s |"
            )


if __name__ == "__main__":
    main()
