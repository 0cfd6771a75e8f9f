"""Start-up errors an operator can act on, seen as the operator sees them: the CLI run as a
subprocess. A bad setting is one line naming the variable (exit status 2, no traceback); a
database that is missing or unreachable is named (never its password) with how to create it;
a server or worker whose database is down says so once per change of state, not per request or
tick, and ``/ready`` answers 503 meanwhile."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from app.jobs.scheduler import JOBS
from tests.conftest import TEST_SECRET_KEY, require_postgres
from tests.databases import POSTGRES_URL, _admin
from tests.jobs.test_expire_holds import poll
from tests.live_server import ROOT, free_port, live_server

SLOTPOOL = [sys.executable, "-m", "app"]
ALEMBIC = [sys.executable, "-m", "alembic"]
COMMANDS = {
    "run": [*SLOTPOOL, "run", "--port", "1"],
    "worker": [*SLOTPOOL, "worker"],
    "check-invariants": [*SLOTPOOL, "check-invariants"],
    "alembic": [*ALEMBIC, "upgrade", "head"],
}
PASSWORD = "s3cret-Pa55"  # a test value that must never be printed


def run(command: list[str], **variables: str) -> subprocess.CompletedProcess[str]:
    """``command`` with only these ``SLOTPOOL_*`` variables (the caller's are left out)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("SLOTPOOL_")}
    env.update(variables)
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def postgres_at(database: str, *, port: int | None = None) -> str:
    url = make_url(POSTGRES_URL).set(drivername="postgresql", database=database, password=PASSWORD)
    if port is not None:
        url = url.set(port=port)
    return url.render_as_string(hide_password=False)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    output = (result.stdout + result.stderr).strip()
    assert "Traceback" not in output, output
    assert len(output.splitlines()) == 1, output
    return output


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unknown_setting_is_one_line_naming_it_and_exit_status_2(command: str) -> None:
    result = run(COMMANDS[command], SLOTPOOL_HOLD_TTL_SECS="60")

    assert result.returncode == 2
    assert "SLOTPOOL_HOLD_TTL_SECS: unknown setting" in one_line(result)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_malformed_setting_is_one_line_naming_it_and_what_it_expects(command: str) -> None:
    result = run(COMMANDS[command], SLOTPOOL_DB_POOL_SIZE="four")

    assert result.returncode == 2
    assert "SLOTPOOL_DB_POOL_SIZE: expected a whole number, got 'four'" in one_line(result)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://db/slotpool", "SLOTPOOL_DATABASE_URL: expected a PostgreSQL or SQLite URL"),
        ("not a url", "SLOTPOOL_DATABASE_URL: expected a database URL"),
        ("postgresql://db:5432", "SLOTPOOL_DATABASE_URL: expected a database name"),
    ],
)
def test_a_database_url_of_another_kind_is_refused_by_name(url: str, expected: str) -> None:
    result = run(COMMANDS["check-invariants"], SLOTPOOL_DATABASE_URL=url)

    assert result.returncode == 2
    assert expected in one_line(result)


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
async def test_plain_postgres_urls_are_accepted(scheme: str, postgres_unavailable: str | None) -> None:
    require_postgres(postgres_unavailable)
    name = f"slotpool_t_{uuid.uuid4().hex[:16]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        url = postgres_at(name).replace("postgresql://", f"{scheme}://", 1)
        migrated = await asyncio.to_thread(run, COMMANDS["alembic"], SLOTPOOL_DATABASE_URL=url)
        assert migrated.returncode == 0, migrated.stderr
        checked = await asyncio.to_thread(run, COMMANDS["check-invariants"], SLOTPOOL_DATABASE_URL=url)
        assert checked.returncode == 0, checked.stderr
        assert checked.stdout.strip() == "All invariants hold."
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("command", ["check-invariants", "alembic"])
async def test_a_missing_database_is_named_with_the_command_that_creates_it(
    command: str, postgres_unavailable: str | None
) -> None:
    require_postgres(postgres_unavailable)
    name = f"slotpool_missing_{uuid.uuid4().hex[:8]}"
    url = make_url(POSTGRES_URL)
    result = await asyncio.to_thread(run, COMMANDS[command], SLOTPOOL_DATABASE_URL=postgres_at(name))

    assert result.returncode == 1
    line = one_line(result)
    assert f'database "{name}" does not exist on PostgreSQL at {url.host}:{url.port or 5432}' in line
    assert f"createdb -h {url.host} -p {url.port or 5432} -U {url.username} {name}" in line
    assert PASSWORD not in line


@pytest.mark.parametrize("command", ["check-invariants", "alembic"])
def test_an_unreachable_server_is_named_without_its_password(command: str) -> None:
    port = free_port()  # nothing listens there
    result = run(COMMANDS[command], SLOTPOOL_DATABASE_URL=postgres_at("slotpool", port=port))

    assert result.returncode == 1
    line = one_line(result)
    assert f'cannot reach PostgreSQL at 127.0.0.1:{port} (database "slotpool")' in line
    assert "ConnectionRefusedError" in line
    assert PASSWORD not in line


def events(path: Path, name: str) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == name]


async def test_ready_answers_503_while_the_database_is_missing_and_the_log_says_so_once_per_change(
    postgres_unavailable: str | None, tmp_path: Path
) -> None:
    require_postgres(postgres_unavailable)
    name = f"slotpool_later_{uuid.uuid4().hex[:8]}"
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    async with (
        live_server(
            url,
            workers=1,
            log_dir=tmp_path,
            wait_for="/health",
            log_level="INFO",
            secret_keys=TEST_SECRET_KEY,
        ) as base,
        httpx.AsyncClient(base_url=base, timeout=10) as client,
    ):
        log = next(tmp_path.glob("slotpool-server-*.log"))
        try:
            for _ in range(20):
                answer = await client.get("/ready")
                assert answer.status_code == 503
                assert answer.json() == {"status": "unavailable", "reason": "InvalidCatalogNameError"}
            await _admin(f'CREATE DATABASE "{name}"')
            for _ in range(5):
                assert (await client.get("/ready")).status_code == 200
            await _admin(f'DROP DATABASE "{name}" WITH (FORCE)')
            for _ in range(5):
                assert (await client.get("/ready")).status_code == 503
        finally:
            await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        down = events(log, "database.unavailable")
        # Once at start (the lifespan's probe), once after the drop; once back in between.
        assert len(down) == 2, down
        assert f'database "{name}" does not exist' in str(down[0]["reason"])
        assert len(events(log, "database.available")) == 1


async def test_a_worker_whose_database_is_unreachable_says_so_once_per_job_not_per_tick(
    tmp_path: Path,
) -> None:
    log_path = tmp_path / "worker.log"
    env = {name: value for name, value in os.environ.items() if not name.startswith("SLOTPOOL_")}
    env.update(
        SLOTPOOL_DATABASE_URL=postgres_at("slotpool", port=free_port()),
        SLOTPOOL_EXPIRE_INTERVAL_SECONDS="0.1",
        SLOTPOOL_WEBHOOK_INTERVAL_SECONDS="0.1",
        SLOTPOOL_SECRET_KEYS=TEST_SECRET_KEY,
    )
    with log_path.open("wb") as log:
        worker = await asyncio.create_subprocess_exec(
            *COMMANDS["worker"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    try:

        async def waiting_jobs() -> int:
            return len(events(log_path, "job.waiting_for_database"))

        await poll(waiting_jobs, until=len(JOBS), timeout=30)
        # Twenty more ticks of the two fastest jobs: none of them may add a line.
        await asyncio.sleep(2)
        worker.terminate()
        assert await asyncio.wait_for(worker.wait(), timeout=15) == 0
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()

    text = log_path.read_text()
    assert "Traceback" not in text
    assert len(events(log_path, "job.waiting_for_database")) == len(JOBS)  # one line per job
    assert len(events(log_path, "database.unavailable")) == 1
    assert PASSWORD not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line for line in lines if line["level"] in ("error", "critical")] == []


def test_a_database_never_migrated_is_named_with_the_command_that_migrates_it(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    result = run(COMMANDS["check-invariants"], SLOTPOOL_DATABASE_URL=f"sqlite+aiosqlite:///{empty}")

    assert result.returncode == 1
    line = one_line(result)
    assert f'database "{empty}" has no tables yet' in line
    assert "alembic upgrade head" in line
