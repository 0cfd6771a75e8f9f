"""The production image's pieces without Docker: the entrypoint's ``migrate`` and ``serve`` on the
SQLite default (JSON logs from the first line, proxy headers from a trusted address only, a
quiet SIGTERM), the Dockerfile's layer order, and lock files that cover pyproject.toml."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.live_server import ROOT, free_port

ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"


def image_env(var: Path, **variables: str) -> dict[str, str]:
    """The image's environment, with this venv's Python first on PATH and var/ in ``var``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("SLOTPOOL_")}
    env.update(
        PATH=f"{Path(sys.executable).parent}:{env['PATH']}",
        SLOTPOOL_DATABASE_URL=f"sqlite+aiosqlite:///{var}/slotpool.db",
        SLOTPOOL_SECRET_KEY_FILE=str(var / "secret.key"),
        **variables,
    )
    return env


async def test_the_entrypoint_migrates_then_serves_health_and_stops_quietly(tmp_path: Path) -> None:
    migrated = subprocess.run(
        [str(ENTRYPOINT), "migrate"], cwd=ROOT, env=image_env(tmp_path), capture_output=True, text=True
    )
    assert migrated.returncode == 0, migrated.stderr
    assert (tmp_path / "slotpool.db").exists()

    port = free_port()
    env = image_env(tmp_path, HOST="127.0.0.1", PORT=str(port), SLOTPOOL_FORWARDED_ALLOW_IPS="127.0.0.1")
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        server = await asyncio.create_subprocess_exec(
            str(ENTRYPOINT), cwd=ROOT, env=env, stdout=log, stderr=log
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=2) as client:
            health = await _first_answer(client, "/health", server)
            assert health.json() == {"status": "ok"}
            forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
            assert (await client.get("/ready", headers=forwarded)).status_code == 200
        server.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal once it has shut down: killed by SIGTERM, after a clean stop.
        assert await asyncio.wait_for(server.wait(), timeout=20) in (0, -signal.SIGTERM)
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()

    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    assert lines[0]["logger"].startswith("uvicorn")  # the supervisor's lines are JSON too
    assert not [line for line in lines if line["level"] in ("error", "critical")]
    assert "Application shutdown complete." in [line["event"] for line in lines]
    ready = [line for line in lines if line.get("event") == "request" and line["path"] == "/ready"]
    assert [line["client"] for line in ready] == ["203.0.113.9"]


async def _first_answer(
    client: httpx.AsyncClient, path: str, server: asyncio.subprocess.Process
) -> httpx.Response:
    for _ in range(300):
        assert server.returncode is None, "the server exited"
        try:
            return await client.get(path)
        except httpx.TransportError:
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{path} did not answer")


def test_the_entrypoint_runs_any_other_command_as_given(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(ENTRYPOINT), "python", "-c", "print('as given')"],
        cwd=ROOT,
        env=image_env(tmp_path),
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip() == "as given"


def test_the_dockerfile_installs_the_lock_before_copying_the_code() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    instructions = [line.strip() for line in dockerfile.splitlines() if line and not line.startswith("#")]
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", dockerfile, re.MULTILINE)
    assert base is not None
    # An exact release (3.11.N) of the slim Debian image, never a moving tag such as 3.11-slim.
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", base.group(1))

    def first(prefix: str) -> int:
        return next(index for index, line in enumerate(instructions) if line.startswith(prefix))

    assert first("RUN /opt/slotpool/bin/pip install --require-hashes") < first("COPY app ")
    assert first("COPY requirements.lock") < first("RUN /opt/slotpool/bin/pip install")
    assert any(line.startswith("HEALTHCHECK") and "/health" in line for line in instructions)
    assert 'VOLUME ["/app/var"]' in instructions
    assert 'ENTRYPOINT ["slotpool-entrypoint"]' in instructions
    # Migrations are a command of their own, not run by every replica at start.
    assert "alembic" not in dockerfile.split("ENTRYPOINT")[1]
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[1] == "*"  # everything, then the few things the image copies


def locked(path: Path) -> dict[str, str]:
    """Package name -> version pinned in a lock file."""
    pins = re.findall(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;\\]+)", path.read_text(), re.MULTILINE)
    return {canonicalize_name(name.split("[")[0]): version for name, version in pins}


def test_the_lock_files_pin_every_dependency_of_pyproject_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime, dev = locked(ROOT / "requirements.lock"), locked(ROOT / "requirements-dev.lock")
    dev_requirements = project["optional-dependencies"]["dev"]
    for requirements, lock in ((project["dependencies"], runtime), (dev_requirements, dev)):
        for line in requirements:
            requirement = Requirement(line)
            name = canonicalize_name(requirement.name)
            assert name in lock, f"{name} is not locked: run make lock"
            assert requirement.specifier.contains(lock[name], prereleases=True), (
                f"{name}=={lock[name]} does not meet {requirement.specifier}: run make lock"
            )
    assert runtime.items() <= dev.items(), "the dev lock pins the runtime packages as the runtime lock"
    for path in ("requirements.lock", "requirements-dev.lock"):
        text = (ROOT / path).read_text()
        hashed = re.findall(r"^\S+==\S+( ; [^\\]+)? \\\n    --hash=sha256:[0-9a-f]{64}", text, re.MULTILINE)
        assert len(hashed) == len(locked(ROOT / path)), f"{path}: a pin without a hash"
