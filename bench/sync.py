"""Carrier sync benchmark: one sync of 5 carriers, one of them a DCSA carrier paging 2,000
routes in pages of 100; wall time and peak memory.

``python bench/sync.py [--backends sqlite postgresql] [--routes 2000] [--page-size 100] [--runs 3]``

The DCSA carrier is bench/dcsa_routes.py in a uvicorn process of its own on 127.0.0.1 (so the
figures are the app's work, HTTP included); the four others are simulated carriers (3 lanes, 2
sailings a week). Each backend gets fresh databases migrated with ``alembic upgrade head``:

- discovery: the first sync, which inserts every sailing, allotment and pool;
- steady: the syncs after it, which find nothing changed (the every-five-minutes case);
- fetch only: the DCSA adapter reading all pages, no database.

Wall times are medians of ``--runs`` runs; peak memory is tracemalloc's peak of Python
allocations during one more run of each (tracing slows it, so it is timed apart), and the
process's maximum RSS at the end. PostgreSQL is ``SLOTPOOL_BENCH_POSTGRES_URL`` (default local).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from holds_setup import _free_port, create_and_migrate, database_url, drop_database, load_average, machine  # noqa: E402

from app.carrier_adapters.cache import CarrierAdapters  # noqa: E402
from app.clock import Clock  # noqa: E402
from app.config import Settings  # noqa: E402
from app.db import create_engine  # noqa: E402
from app.inventory import service as inventory  # noqa: E402
from app.inventory.schemas import CarrierCreate  # noqa: E402
from app.logging import configure_logging  # noqa: E402
from app.runtime import Runtime  # noqa: E402
from app.secrets import new_key  # noqa: E402
from app.sync.schemas import SyncReport  # noqa: E402
from app.sync.service import sync_all  # noqa: E402
from carriers.base import ScheduleQuery  # noqa: E402
from carriers.dcsa import build_dcsa  # noqa: E402

SIMULATED = [
    ("SIM1", ["CNSHA-USLAX", "CNNGB-NLRTM", "TRIST-DEHAM"]),
    ("SIM2", ["KRPUS-USLGB", "SGSIN-NLRTM", "CNYTN-DEHAM"]),
    ("SIM3", ["VNSGN-USOAK", "INNSA-BEANR", "THLCH-USSEA"]),
    ("SIM4", ["JPTYO-CAVAN", "TWKHH-GBFXT", "MYPKG-ESVLC"]),
]


def dcsa_settings(url: str, page_size: int) -> dict[str, Any]:
    return {
        "base_url": url,
        "timeout": 30,
        "page_size": page_size,
        "lanes": ["CNSHA-USLAX"],
        "booking_agent": {"name": "Slotpool NVOCC Ltd"},
        "contact": {"name": "Slotpool Ops", "email": "ops@slotpool.example"},
        "allocation": {"42G1": {"units": 10, "rate": "1900", "currency": "USD"}},
    }


class Carrier:
    """bench/dcsa_routes.py served by uvicorn in its own process on a loopback port."""

    def __init__(self, routes: int) -> None:
        self.routes = routes
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None

    async def __aenter__(self) -> Carrier:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "BENCH_ROUTES": str(self.routes)}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "dcsa_routes:app", "--app-dir", str(ROOT / "bench"),
             "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"],
            env=env,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                try:
                    await client.get(f"{self.url}/v1/point-to-point-routes", params={"limit": 1})
                    return self
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        raise RuntimeError("the DCSA carrier did not start")

    async def __aexit__(self, *_: object) -> None:
        assert self._process is not None
        self._process.terminate()
        self._process.wait(timeout=10)


def make_runtime(url: str) -> Runtime:
    settings = Settings(database_url=url, scheduler_enabled=False, log_level="WARNING", secret_keys=new_key())
    return Runtime(
        settings=settings, engine=create_engine(settings), clock=Clock(), carriers=CarrierAdapters()
    )


async def register(rt: Runtime, carrier: Carrier, page_size: int) -> None:
    for scac, lanes in SIMULATED:
        settings = {"seed": len(scac), "lanes": lanes, "weekly_sailings": 2, "weeks": 8}
        await inventory.create_carrier(
            rt, CarrierCreate(scac=scac, name=scac, adapter_kind="simulated", adapter_settings=settings)
        )
    await inventory.create_carrier(
        rt,
        CarrierCreate(scac="DCSB", name="DCSA bench", adapter_kind="dcsa",
                      adapter_settings=dcsa_settings(carrier.url, page_size)),
    )  # fmt: skip


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await call()
    return time.perf_counter() - started, result


async def traced(call: Callable[[], Awaitable[Any]]) -> float:
    """Peak MiB of Python allocations while ``call`` runs."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        await call()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def check(report: SyncReport, routes: int, *, discovery: bool) -> None:
    notices = {n.scac: n for n in report.carriers}
    assert all(n.status == "ok" and n.complete for n in notices.values()), notices
    assert notices["DCSB"].sailings_seen == routes, notices["DCSB"]
    if not discovery:
        assert not any(report.changes.values()), report.changes


async def one_database(backend: str, workdir: Path, carrier: Carrier, args: argparse.Namespace) -> Any:
    url = database_url(backend, workdir)
    await create_and_migrate(url)
    rt = make_runtime(url)
    try:
        await register(rt, carrier, args.page_size)
        return rt, url
    except BaseException:
        await rt.engine.dispose()
        raise


async def bench_backend(
    backend: str, workdir: Path, carrier: Carrier, args: argparse.Namespace
) -> dict[str, Any]:
    figures: dict[str, Any] = {"discovery": [], "steady": [], "discovery_peak": 0.0, "steady_peak": 0.0}
    for run in range(args.runs + 1):
        rt, url = await one_database(backend, workdir, carrier, args)
        try:
            tracing = run == args.runs  # the last run measures memory, the others time
            if tracing:
                figures["discovery_peak"] = await traced(lambda rt=rt: sync_all(rt, rt.carriers))
                figures["steady_peak"] = await traced(lambda rt=rt: sync_all(rt, rt.carriers))
                continue
            elapsed, report = await timed(lambda rt=rt: sync_all(rt, rt.carriers))
            check(report, args.routes, discovery=True)
            figures["discovery"].append(elapsed)
            figures["sailings"] = sum(report.changes.values())
            elapsed, report = await timed(lambda rt=rt: sync_all(rt, rt.carriers))
            check(report, args.routes, discovery=False)
            figures["steady"].append(elapsed)
        finally:
            await rt.carriers.aclose()
            await rt.engine.dispose()
            await drop_database(url)
    return figures


async def fetch_only(carrier: Carrier, args: argparse.Namespace) -> tuple[float, float]:
    adapter = build_dcsa("DCSB", dcsa_settings(carrier.url, args.page_size))
    query = ScheduleQuery()
    try:
        times = []
        for _ in range(args.runs):
            elapsed, answer = await timed(lambda: adapter.schedules(query))
            assert len(answer.offers) == args.routes
            assert answer.complete
            times.append(elapsed)
        peak = await traced(lambda: adapter.schedules(query))
    finally:
        await adapter.aclose()
    return statistics.median(times), peak


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--routes", type=int, default=2000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    configure_logging("WARNING", False)
    print(f"{await machine()}; load average {load_average()}")
    pages = -(-args.routes // args.page_size)
    print(f"sync of 5 carriers: 4 simulated (3 lanes, 2 sailings a week) + DCSA with {args.routes} routes "
          f"in {pages} pages of {args.page_size}; medians of {args.runs} runs")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        async with Carrier(args.routes) as carrier:
            fetch, fetch_peak = await fetch_only(carrier, args)
            fetched = f"{fetch * 1000:.0f} ms, peak {fetch_peak:.1f} MiB"
            print(f"  fetch only (DCSA adapter, {pages} pages): {fetched}")
            for backend in args.backends:
                figures = await bench_backend(backend, Path(folder), carrier, args)
                print(
                    f"  {backend:10s} discovery ({figures['sailings']} changes): "
                    f"{statistics.median(figures['discovery']):.2f} s, "
                    f"peak {figures['discovery_peak']:.1f} MiB; "
                    f"steady: {statistics.median(figures['steady']) * 1000:.0f} ms, "
                    f"peak {figures['steady_peak']:.1f} MiB"
                )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  process max RSS {rss:.0f} MiB; load average after {load_average()}")


if __name__ == "__main__":
    asyncio.run(main())
