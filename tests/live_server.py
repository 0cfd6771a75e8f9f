"""A real Slotpool server process on a loopback port, for tests that need true concurrency."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def live_server(
    database_url: str,
    *,
    workers: int = 2,
    log_dir: Path | None = None,
    app_factory: str = "app.main:create_app",
    wait_for: str = "/ready",
    **settings: str,
) -> AsyncIterator[str]:
    """Serve the app (``app_factory``, module:function) with uvicorn in ``workers`` processes
    until the block ends; yields its URL once ``wait_for`` answers 200 (``/health`` for a server
    whose database is down)."""
    port = free_port()
    env = {
        **os.environ,
        "SLOTPOOL_DATABASE_URL": database_url,
        "SLOTPOOL_SCHEDULER_ENABLED": "false",
        "SLOTPOOL_LOG_LEVEL": "WARNING",
        **{f"SLOTPOOL_{name.upper()}": value for name, value in settings.items()},
    }
    log_path = (log_dir or Path(os.environ.get("TMPDIR", "/tmp"))) / f"slotpool-server-{port}.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "uvicorn", app_factory, "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--no-access-log",
            cwd=ROOT, env=env, stdout=log, stderr=log,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            await _wait_until_ready(url, process, log_path, wait_for)
            yield url
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), timeout=15)
                except TimeoutError:
                    process.kill()
                    await process.wait()


async def _wait_until_ready(
    url: str, process: asyncio.subprocess.Process, log_path: Path, path: str = "/ready"
) -> None:
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(base_url=url, timeout=2) as client:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"server exited: {log_path.read_text()[-2000:]}")
            try:
                if (await client.get(path)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"server not ready in 30 s: {log_path.read_text()[-2000:]}")
