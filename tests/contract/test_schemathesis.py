"""Schemathesis against a live server, with an operator's key and with a shipper's: a bounded,
seeded run (a fixed number of examples per operation) with the response-conformance checks on.
It must find no 5xx and no status, content type, header or body the OpenAPI document does not
declare."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.accounts.actor import OrgKind
from tests.conftest import test_runtime as runtime_on
from tests.factories import build_world, make_account
from tests.live_server import live_server

pytestmark = pytest.mark.slow
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)
EXAMPLES_PER_OPERATION = 12
SEED = 20261124


def schemathesis(url: str, key: str, report: Path) -> subprocess.CompletedProcess[str]:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{url}/schema/openapi.json",
        "--checks", CHECKS,
        "--max-examples", str(EXAMPLES_PER_OPERATION),
        "--seed", str(SEED),
        "--generation-deterministic",
        "--phases", "examples,coverage,fuzzing",
        "--workers", "1",
        "--no-shrink",
        "--suppress-health-check", "all",
        "--request-timeout", "30",
        "--header", f"Authorization: Bearer {key}",
        "--no-color",
        "--report", "junit",
        "--report-junit-path", str(report),
        # Its documented 503 is its purpose: here no scheduler runs the jobs, so every one is
        # overdue (tests/jobs/test_leases.py checks both of its answers).
        "--exclude-path", "/health/jobs",
    ]  # fmt: skip
    environment = {**os.environ, "SCHEMATHESIS_HOOKS": ""}
    # Run in the test's folder: schemathesis keeps a cache where it runs.
    return subprocess.run(
        command, capture_output=True, text=True, timeout=600, cwd=report.parent, env=environment
    )


async def test_schemathesis_finds_no_server_error_and_nothing_undocumented(
    database_url: str, tmp_path: Path
) -> None:
    async with runtime_on(database_url) as rt:
        world = await build_world(rt)
        carrier = await make_account(rt, OrgKind.CARRIER)
    del carrier
    async with live_server(database_url, workers=2, log_dir=tmp_path) as url:
        for name, key in (("operator", world.operator.key), ("shipper", world.shipper.key)):
            run = await asyncio.to_thread(schemathesis, url, key, tmp_path / f"{name}.xml")

            assert run.returncode == 0, f"{name}:\n{run.stdout[-12000:]}\n{run.stderr[-3000:]}"
