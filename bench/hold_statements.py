"""PostgreSQL's own CPU per hold: the app's statements against the baseline's transaction.

``python bench/hold_statements.py [--holds 2000] [--runs 2]``. One connection each, holds placed
one after the other, so that no lock is waited for: the CPU the database backend spends (read
from ``/proc``) is the statements' own cost. The app: ``app.reservations.holds.place_hold`` on an
engine of one connection (the read of the sailing, then the placement statement: claim, hold,
event). The baseline: ``bench/baseline_app.py``'s transaction (claim, hold). A fresh database
migrated and seeded as ``bench/holds.py`` does; the paths take turns.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.accounts.actor import Actor, OrgKind, Scope  # noqa: E402
from app.clock import Clock  # noqa: E402
from app.config import Settings  # noqa: E402
from app.db import autocommit, create_engine  # noqa: E402
from app.domain.states import Load  # noqa: E402
from app.reservations import holds  # noqa: E402
from app.reservations.schemas import HoldCreate  # noqa: E402
from app.runtime import Runtime  # noqa: E402
from bench import holds_setup as setup  # noqa: E402
from bench.baseline_app import CLAIM, HOLD_TTL, INSERT_HOLD  # noqa: E402
from bench.holds_load import process_cpu  # noqa: E402

WARM_UP = 200


async def measure(args: argparse.Namespace) -> None:
    url = setup.database_url("postgresql", ROOT)
    seeded = await setup.seed(url, hot_units=10_000_000, sellout_units=1)
    settings = Settings(database_url=url, scheduler_enabled=False, log_level="WARNING", db_pool_size=1)
    rt = Runtime(settings=settings, engine=create_engine(settings), clock=Clock())
    baseline = await asyncpg.connect(setup.asyncpg_dsn(url))
    try:
        async with autocommit(rt.engine) as conn:
            app_backend = (await conn.exec_driver_sql("SELECT pg_backend_pid()")).scalar_one()
        baseline_backend = await baseline.fetchval("SELECT pg_backend_pid()")
        shipper = Actor(
            organisation_id=seeded.shipper_id,
            kind=OrgKind.SHIPPER,
            scopes=frozenset(Scope),
            api_key_id=uuid.uuid4(),
        )
        request = HoldCreate(
            sailing_id=seeded.hot.sailing_id, load=Load.FCL, size_type=setup.SIZE_TYPE, units=1
        )

        async def app_hold() -> None:
            await holds.place_hold(rt, shipper, request)

        async def baseline_hold() -> None:
            async with baseline.transaction():
                claimed = await baseline.fetchrow(CLAIM, seeded.hot.sailing_id, setup.SIZE_TYPE, 1)
                _, rate, currency, now = claimed
                await baseline.execute(
                    INSERT_HOLD, uuid.uuid4(), seeded.shipper_id, seeded.hot.sailing_id, claimed[0],
                    setup.SIZE_TYPE, 1, rate, rate, currency, now, now + HOLD_TTL,
                )  # fmt: skip

        paths = [("app: read of the sailing + placement", app_hold, app_backend)]
        paths.append(("baseline: claim + insert in a transaction", baseline_hold, baseline_backend))
        for _ in range(args.runs):
            for label, hold, backend in paths:
                for _ in range(WARM_UP):
                    await hold()
                cpu, wall = process_cpu(backend), time.perf_counter()
                for _ in range(args.holds):
                    await hold()
                cpu, wall = process_cpu(backend) - cpu, time.perf_counter() - wall
                print(
                    f"  {label:<44} {cpu / args.holds * 1e6:5.0f} us database CPU per hold,"
                    f" {wall / args.holds * 1e6:5.0f} us wall"
                )
    finally:
        await baseline.close()
        await rt.engine.dispose()
        await setup.drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--holds", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=2)
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
