"""Expiry benchmark: how late holds expire under churn, and how fast a backlog is swept.

``python bench/expiry.py [--backends postgresql sqlite] [--seconds 20] [--rate 500]
[--sweep 100000] [--batch-sizes 500,2000,5000]``

1. Churn: a ``slotpool worker`` process runs the scheduler (settings as deployed: a sweep every
   second, batches of 500) while this process inserts ``--rate`` holds a second with TTLs drawn
   from 1-3 s, for ``--seconds``. Lag = the ``hold.expired`` event's ``created_at`` minus the
   hold's ``expires_at``, both database time.
2. Sweep: ``--sweep`` holds already overdue are inserted in bulk, then one run of the expire job
   (no time budget) releases them all; timed per batch size.

Holds are inserted with SQL in bulk (their counters and ``hold.created`` events with them) so
the set-up costs little; the invariant check at the end proves the set-up and the sweep kept
counters equal to the ledger. PostgreSQL is ``SLOTPOOL_BENCH_POSTGRES_URL`` (default: local).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.accounts import service as accounts  # noqa: E402
from app.accounts.actor import OrgKind  # noqa: E402
from app.accounts.schemas import OrganisationCreate  # noqa: E402
from app.clock import Clock  # noqa: E402
from app.config import Settings  # noqa: E402
from app.db import (  # noqa: E402
    create_engine,
    table_of,
    transaction,
)
from app.events.models import OutboxEvent  # noqa: E402
from app.inventory import repository as inventory  # noqa: E402
from app.inventory import service as sailings  # noqa: E402
from app.inventory.schemas import AllotmentCreate, CarrierCreate, SailingCreate  # noqa: E402
from app.jobs.expire_holds import expire_overdue_holds  # noqa: E402
from app.reservations.invariants import check_invariants  # noqa: E402
from app.reservations.repository import holds  # noqa: E402
from app.runtime import Runtime  # noqa: E402

POSTGRES_URL = os.environ.get(
    "SLOTPOOL_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
events = table_of(OutboxEvent)
UNITS_PER_ALLOTMENT = 10_000  # the API's ceiling for one allotment


# --- databases --------------------------------------------------------------------------------


def fresh_database(backend: str, workdir: Path) -> str:
    """A new, migrated database; its URL."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / f'expiry-{uuid.uuid4().hex[:8]}.db'}"
    else:
        name = f"slotpool_bench_{uuid.uuid4().hex[:12]}"
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
        url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")
    return url


def drop_database(url: str) -> None:
    if url.startswith("postgresql"):
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))


async def _admin(sql: str) -> None:
    dsn = make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


# --- bulk holds -------------------------------------------------------------------------------


class Stock:
    """A shipper and FCL allotments to hold against, filled one after the other."""

    def __init__(self, organisation_id: uuid.UUID, allotments: list[tuple[uuid.UUID, uuid.UUID]]) -> None:
        self.organisation_id = organisation_id
        self.allotments = allotments  # (sailing id, allotment id)
        self.placed = 0

    @classmethod
    async def create(cls, rt: Runtime, holds_wanted: int) -> Stock:
        shipper = await accounts.create_organisation(
            rt, OrganisationCreate(name="Bench Shipper", kind=OrgKind.SHIPPER)
        )
        await sailings.create_carrier(rt, CarrierCreate(scac="BNCH", name="Bench Line"))
        etd = datetime.now(UTC) + timedelta(days=10)
        allotments = []
        for voyage in range(-(-holds_wanted // UNITS_PER_ALLOTMENT)):
            sailing = await sailings.create_sailing(
                rt,
                SailingCreate(
                    carrier_scac="BNCH",
                    service_code="TP1",
                    vessel_name="BENCH VESSEL",
                    voyage_number=f"B{voyage:04d}",
                    port_of_loading="CNSHA",
                    port_of_discharge="USLAX",
                    etd=etd,
                    eta=etd + timedelta(days=14),
                ),
            )
            await sailings.add_allotment(
                rt,
                sailing.id,
                AllotmentCreate(
                    size_type="42G1", units=UNITS_PER_ALLOTMENT, rate=Decimal("1500.00"), currency="USD"
                ),
            )
            a = inventory.allotments
            async with transaction(rt.engine, read_only=True) as conn:
                allotment_id = (
                    await conn.execute(select(a.c.id).where(a.c.sailing_id == sailing.id))
                ).scalar_one()
            allotments.append((sailing.id, allotment_id))
        return cls(shipper.id, allotments)

    async def insert(self, rt: Runtime, ttls: list[float]) -> None:
        """Insert one 1-unit FCL hold per TTL (seconds from database now; negative = overdue),
        with its counter and its ``hold.created`` event, in one transaction."""
        async with transaction(rt.engine) as conn:
            now: datetime = (await conn.execute(select(rt.clock.now_sql(rt.dialect)))).scalar_one()
            rows, per_allotment = [], Counter[uuid.UUID]()
            for ttl in ttls:
                sailing_id, allotment_id = self.allotments[self.placed // UNITS_PER_ALLOTMENT]
                self.placed += 1
                per_allotment[allotment_id] += 1
                rows.append(self._hold(sailing_id, allotment_id, now, now + timedelta(seconds=ttl)))
            for allotment_id, units in sorted(per_allotment.items()):
                a = inventory.allotments
                await conn.execute(
                    update(a).where(a.c.id == allotment_id).values(units_held=a.c.units_held + units)
                )
            await conn.execute(insert(holds), rows)
            created = [
                {
                    "event_id": uuid.uuid4(),
                    "type": "hold.created",
                    "subject_id": str(row["id"]),
                    "organisation_id": self.organisation_id,
                    "payload": {"id": str(row["id"])},
                    "created_at": now,
                }
                for row in rows
            ]
            await conn.execute(insert(events), created)

    def _hold(
        self, sailing_id: uuid.UUID, allotment_id: uuid.UUID, now: datetime, expires_at: datetime
    ) -> dict[str, Any]:
        return {
            "id": uuid.uuid4(),
            "organisation_id": self.organisation_id,
            "placed_by_id": None,
            "sailing_id": sailing_id,
            "allotment_id": allotment_id,
            "pool_id": None,
            "load": "FCL",
            "size_type": "42G1",
            "units": 1,
            "volume_dm3": 0,
            "weight_g": 0,
            "rate": Decimal("1500.00"),
            "minimum": Decimal("0.00"),
            "price": Decimal("1500.00"),
            "currency": "USD",
            "state": "active",
            "created_at": now,
            "expires_at": expires_at,
            "ended_at": None,
        }


async def active_holds(rt: Runtime) -> int:
    query = select(func.count()).select_from(holds).where(holds.c.state == "active")
    async with transaction(rt.engine, read_only=True) as conn:
        return int((await conn.execute(query)).scalar_one())


# --- 1. churn ---------------------------------------------------------------------------------


async def churn(url: str, seconds: float, rate: int, workdir: Path) -> dict[str, float]:
    settings = Settings(database_url=url, scheduler_enabled=False, log_level="WARNING")
    rt = Runtime(settings=settings, engine=create_engine(settings), clock=Clock())
    stock = await Stock.create(rt, int(rate * seconds) + 1)
    log = (workdir / f"worker-{uuid.uuid4().hex[:6]}.log").open("wb")
    env = {**os.environ, "SLOTPOOL_DATABASE_URL": url, "SLOTPOOL_LOG_LEVEL": "WARNING"}
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app", "worker", cwd=ROOT, env=env, stdout=log, stderr=log
    )
    try:
        ttls = random.Random(42)
        tick, per_tick = 0.1, max(1, round(rate * 0.1))
        started = time.monotonic()
        for step in range(int(seconds / tick)):
            await stock.insert(rt, [ttls.uniform(1.0, 3.0) for _ in range(per_tick)])
            pause = started + (step + 1) * tick - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)  # pacing the load generator, not waiting for a result
        achieved = stock.placed / (time.monotonic() - started)
        deadline = time.monotonic() + 30
        while await active_holds(rt):
            assert time.monotonic() < deadline, "the worker did not expire every hold within 30 s"
            await asyncio.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
        await worker.wait()
        log.close()
    lags = await expiry_lags(rt)
    assert len(lags) == stock.placed, f"{stock.placed} holds, {len(lags)} expiry events"
    violations = await check_invariants(rt)
    await rt.engine.dispose()
    quantiles = statistics.quantiles(lags, n=100)
    return {
        "holds": stock.placed,
        "rate": achieved,
        "p50": quantiles[49],
        "p99": quantiles[98],
        "max": max(lags),
        "violations": len(violations),
    }


async def expiry_lags(rt: Runtime) -> list[float]:
    """Seconds from each hold's ``expires_at`` to its ``hold.expired`` event."""
    async with transaction(rt.engine, read_only=True) as conn:
        due = {str(i): at for i, at in await conn.execute(select(holds.c.id, holds.c.expires_at))}
        expired = select(events.c.subject_id, events.c.created_at).where(events.c.type == "hold.expired")
        return [(at - due[subject]).total_seconds() for subject, at in await conn.execute(expired)]


# --- 2. sweep ---------------------------------------------------------------------------------


async def sweep(url: str, count: int, batch_size: int, check: bool) -> dict[str, float]:
    settings = Settings(database_url=url, scheduler_enabled=False, log_level="WARNING")
    rt = Runtime(settings=settings, engine=create_engine(settings), clock=Clock())
    stock = await Stock.create(rt, count)
    loaded = time.perf_counter()
    for start in range(0, count, 5_000):
        await stock.insert(rt, [-1.0] * min(5_000, count - start))
    loaded = time.perf_counter() - loaded
    started = time.perf_counter()
    swept = await expire_overdue_holds(rt, batch_size=batch_size, budget_seconds=3600)
    elapsed = time.perf_counter() - started
    assert swept == count, f"swept {swept} of {count}"
    violations = len(await check_invariants(rt)) if check else -1
    await rt.engine.dispose()
    return {"seconds": elapsed, "per_second": count / elapsed, "load": loaded, "violations": violations}


# --- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", nargs="+", default=["postgresql", "sqlite"])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--sweep", type=int, default=100_000)
    parser.add_argument("--batch-sizes", default="500,2000,5000")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="slotpool-expiry-"))
    for backend in args.backends:
        url = fresh_database(backend, workdir)
        try:
            figures = asyncio.run(churn(url, args.seconds, args.rate, workdir))
        finally:
            drop_database(url)
        print(
            f"{backend:<10} churn  {figures['holds']:.0f} holds at {figures['rate']:.0f}/s, TTL 1-3 s:"
            f" lag p50 {figures['p50']:.3f} s  p99 {figures['p99']:.3f} s  max {figures['max']:.3f} s"
            f"  (target p99 <= 2 s)  invariant violations: {figures['violations']:.0f}",
            flush=True,
        )
        sizes = [int(size) for size in args.batch_sizes.split(",")]
        for index, batch_size in enumerate(sizes):
            url = fresh_database(backend, workdir)
            try:
                figures = asyncio.run(sweep(url, args.sweep, batch_size, check=index == len(sizes) - 1))
            finally:
                drop_database(url)
            checked = (
                "" if figures["violations"] < 0 else f"  invariant violations: {figures['violations']:.0f}"
            )
            print(
                f"{backend:<10} sweep  {args.sweep} overdue holds, batch {batch_size}:"
                f" {figures['seconds']:.2f} s ({figures['per_second']:.0f} holds/s; target <= 10 s)"
                f"  [bulk load {figures['load']:.1f} s]{checked}",
                flush=True,
            )


if __name__ == "__main__":
    main()
