"""Databases, seed data, server processes and checks for ``bench/holds.py``."""

from __future__ import annotations

import asyncio
import os
import platform
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import httpx
import msgspec
from sqlalchemy import select
from sqlalchemy.engine import make_url

from app.accounts import service as accounts
from app.accounts.actor import OrgKind
from app.accounts.schemas import ApiKeyCreate, OrganisationCreate
from app.clock import Clock
from app.config import Settings
from app.db import create_engine, transaction
from app.inventory import repository as inventory
from app.inventory import service as sailings
from app.inventory.schemas import AllotmentCreate, CarrierCreate, SailingCreate
from app.reservations.invariants import check_invariants
from app.runtime import Runtime

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get(
    "SLOTPOOL_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
SIZE_TYPE = "42G1"


class ServerFailed(RuntimeError):
    """A server process did not come up, or died."""


# --- databases --------------------------------------------------------------------------------


def database_url(backend: str, workdir: Path) -> str:
    """Where a backend's fresh database goes: a file in ``workdir``, or a new PostgreSQL database."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{workdir / f'holds-{uuid.uuid4().hex[:8]}.db'}"
    name = f"slotpool_bench_{backend.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


async def create_and_migrate(url: str) -> None:
    """Create the database and run ``alembic upgrade head`` on it, as a deployment would."""
    if url.startswith("postgresql"):
        await _admin(f'CREATE DATABASE "{make_url(url).database}"')
    env = {**os.environ, "SLOTPOOL_DATABASE_URL": url}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "alembic",
        "upgrade",
        "head",
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    if process.returncode:
        raise ServerFailed(
            f"alembic upgrade head failed on {make_url(url).database}: {stderr.decode()[-1500:]}"
        )


async def drop_database(url: str) -> None:
    if url.startswith("postgresql"):
        await _admin(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


async def _admin(sql: str) -> None:
    dsn = make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def backend_pids(url: str) -> list[int]:
    """The PostgreSQL backend processes connected to ``url``'s database (none for SQLite)."""
    if not url.startswith("postgresql"):
        return []
    dsn = make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1", make_url(url).database
        )
    finally:
        await connection.close()
    return [row["pid"] for row in rows]


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def runtime(url: str) -> Runtime:
    settings = Settings(database_url=url, scheduler_enabled=False, log_level="WARNING")
    return Runtime(settings=settings, engine=create_engine(settings), clock=Clock())


# --- seed data --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sailing:
    sailing_id: uuid.UUID
    allotment_id: uuid.UUID

    def body(self) -> bytes:
        """A 1-unit FCL hold request on this sailing."""
        request = {"sailing_id": str(self.sailing_id), "load": "FCL", "size_type": SIZE_TYPE, "units": 1}
        return msgspec.json.encode(request)


@dataclass(frozen=True)
class Seeded:
    operator_key: str
    shipper_id: uuid.UUID
    hot: Sailing
    sellout: Sailing


async def seed(url: str, hot_units: int, sellout_units: int) -> Seeded:
    """Migrate, then an operator key, a shipper, a carrier and two sailings through the services.

    The allotments go in through the service, not the API: the hot one is above the API's
    ceiling of 10,000 units per allotment, so that it never runs out during a run.
    """
    await create_and_migrate(url)
    rt = runtime(url)
    try:
        operator = await accounts.create_organisation(
            rt, OrganisationCreate(name="Bench Operations", kind=OrgKind.OPERATOR)
        )
        key = await accounts.create_api_key(rt, operator.id, ApiKeyCreate(name="bench"))
        assert key.key is not None
        # The baseline needs an owner for its holds; the app's shipper is made through the API.
        shipper = await accounts.create_organisation(
            rt, OrganisationCreate(name="Bench Baseline Shipper", kind=OrgKind.SHIPPER)
        )
        await sailings.create_carrier(rt, CarrierCreate(scac="BNCH", name="Bench Line"))
        hot = await _sailing(rt, "HOT1", hot_units)
        sellout = await _sailing(rt, "SELL", sellout_units)
    finally:
        await rt.engine.dispose()
    return Seeded(operator_key=key.key, shipper_id=shipper.id, hot=hot, sellout=sellout)


async def _sailing(rt: Runtime, voyage: str, units: int) -> Sailing:
    etd = datetime.now(UTC) + timedelta(days=10)
    sailing = await sailings.create_sailing(
        rt,
        SailingCreate(
            carrier_scac="BNCH",
            service_code="TP1",
            vessel_name="BENCH VESSEL",
            voyage_number=voyage,
            port_of_loading="CNSHA",
            port_of_discharge="USLAX",
            etd=etd,
            eta=etd + timedelta(days=14),
        ),
    )
    allotment = AllotmentCreate(size_type=SIZE_TYPE, units=units, rate=Decimal("1500.00"), currency="USD")
    await sailings.add_allotment(rt, sailing.id, allotment)
    a = inventory.allotments
    async with transaction(rt.engine, read_only=True) as conn:
        query = select(a.c.id).where(a.c.sailing_id == sailing.id, a.c.size_type == SIZE_TYPE)
        allotment_id = (await conn.execute(query)).scalar_one()
    return Sailing(sailing_id=sailing.id, allotment_id=allotment_id)


async def issue_shipper_key(base_url: str, operator_key: str) -> str:
    """A shipper organisation and its key, through the admin API as an operator would."""
    headers = {"Authorization": f"Bearer {operator_key}"}
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        org = await client.post(
            "/v1/admin/organisations/",
            json={"name": "Bench Shipper", "kind": "shipper"},
            headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        org.raise_for_status()
        issued = await client.post(
            f"/v1/admin/organisations/{org.json()['id']}/api-keys",
            json={"name": "bench"},
            headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        issued.raise_for_status()
    key: str = issued.json()["key"]
    return key


# --- checks -----------------------------------------------------------------------------------


async def free_units(url: str, sailing: Sailing) -> int:
    return (await _counter(url, sailing))[0]


async def counter_change(url: str, sailing: Sailing, free_before: int) -> tuple[int, int]:
    """Free units now, and how many units were taken since ``free_before``."""
    free, _ = await _counter(url, sailing)
    return free, free_before - free


async def _counter(url: str, sailing: Sailing) -> tuple[int, int]:
    a = inventory.allotments
    free = a.c.units_total - a.c.units_held - a.c.units_booked - a.c.units_pooled
    rt = runtime(url)
    try:
        async with transaction(rt.engine, read_only=True) as conn:
            row = (
                await conn.execute(select(free, a.c.units_held).where(a.c.id == sailing.allotment_id))
            ).one()
    finally:
        await rt.engine.dispose()
    return int(row[0]), int(row[1])


async def invariant_violations(url: str, *, baseline: bool) -> list[str]:
    """DESIGN invariants 1-4; on the baseline, which records no events, only 1 and 2."""
    rt = runtime(url)
    try:
        violations = await check_invariants(rt)
    finally:
        await rt.engine.dispose()
    kept = [v for v in violations if not baseline or v.invariant in (1, 2)]
    return [f"{v.invariant} {v.subject}: {v.detail}" for v in kept]


# --- servers ----------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    base_url: str

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


async def start_app(
    url: str, workdir: Path, name: str, *, profile: bool = False, metrics: bool = True
) -> Server:
    """The app under uvicorn (``metrics``: Prometheus metrics on, the default, or off); with
    ``profile``, under bench/holds_profile.py's timers and cProfile, which write ``<name>.json``
    and ``<name>.pstats`` into ``workdir`` when it stops."""
    env = {
        **os.environ,
        "SLOTPOOL_DATABASE_URL": url,
        "SLOTPOOL_LOG_LEVEL": "WARNING",
        "SLOTPOOL_SCHEDULER_ENABLED": "false",
        "SLOTPOOL_METRICS_ENABLED": "true" if metrics else "false",
    }
    if not profile:
        return await _start(name, ["-m", "uvicorn", "app.main:create_app", "--factory"], env, workdir)
    report, stats = workdir / f"{name}.json", workdir / f"{name}.pstats"
    arguments = [str(ROOT / "bench" / "holds_profile.py"), str(report), "--cprofile", str(stats)]
    return await _start(name, arguments, env, workdir, uvicorn_options=False)


def app_pool_size() -> int:
    """The app's connections: its fixed pool (no overflow by default)."""
    settings = Settings.from_env()
    return settings.db_pool_size + settings.db_max_overflow


async def start_baseline(url: str, shipper_id: uuid.UUID, workdir: Path, pool_size: int) -> Server:
    env = {
        **os.environ,
        "BASELINE_DATABASE_URL": asyncpg_dsn(url),
        "BASELINE_ORGANISATION_ID": str(shipper_id),
        "BASELINE_POOL_SIZE": str(pool_size),
    }
    arguments = ["-m", "uvicorn", "baseline_app:create_app", "--factory", "--app-dir", str(ROOT / "bench")]
    return await _start("baseline", arguments, env, workdir)


async def _start(
    name: str, arguments: list[str], env: dict[str, str], workdir: Path, *, uvicorn_options: bool = True
) -> Server:
    """Start a server process on a free port and wait (with a deadline) until it answers."""
    port = _free_port()
    log = (workdir / f"{name}.log").open("wb")
    command = [sys.executable, *arguments]
    if uvicorn_options:
        command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"]
    env = {**env, "BENCH_HOST": "127.0.0.1", "BENCH_PORT": str(port)}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(name, process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(base_url=server.base_url, timeout=2) as client:
        while True:
            if process.poll() is not None:
                raise ServerFailed(f"{name} server exited with {process.returncode}")
            try:
                if (await client.get("/health")).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                server.stop()
                raise ServerFailed(f"{name} server not ready within 30 s")
            await asyncio.sleep(0.1)  # polling readiness with a deadline


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# --- the machine ------------------------------------------------------------------------------


async def machine() -> str:
    dsn = make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        version = await connection.fetchval("SHOW server_version")
    finally:
        await connection.close()
    return f"{os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL {version}"


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())
