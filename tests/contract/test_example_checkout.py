"""examples/checkout.py runs as documented against a live server: it registers its receiver,
holds, confirms and verifies every signed event."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import test_runtime as runtime_on
from tests.factories import build_world
from tests.live_server import live_server

pytestmark = pytest.mark.slow
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "checkout.py"


async def test_the_example_checkout_holds_confirms_and_verifies_the_signed_events(
    database_url: str, tmp_path: Path
) -> None:
    async with runtime_on(database_url) as rt:
        world = await build_world(rt)
    async with live_server(
        database_url, workers=1, log_dir=tmp_path, scheduler_enabled="true", webhook_allow_loopback="true"
    ) as url:
        run = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, str(EXAMPLE), "--api", url, "--key", world.marketplace.key, "--timeout", "60"],
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert run.returncode == 0, run.stdout + run.stderr
    for event_type in ("hold.created", "hold.confirmed", "booking.confirmed"):
        assert f"verified {event_type}" in run.stdout
    assert "checkout complete" in run.stdout
