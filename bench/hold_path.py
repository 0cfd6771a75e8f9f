"""Which modules of ``app/`` a hold request runs through, from the HTTP request to the commit.

``python bench/hold_path.py [--backends sqlite postgresql]``

The app runs in this process (over ASGI, no server) on a fresh migrated database per backend.
Each case is one ``POST /v1/holds`` traced with ``sys.setprofile``: every function of ``app/``
called while the request runs is recorded. The report lists, per module, its lines, the
functions the cases called and the lines of those functions, then the totals: the code a
developer reads to change how a hold is placed. Modules every authenticated request passes
through are counted apart.

Cases: the first FCL and LCL holds (they build the cached statements); an FCL hold placed;
refused (sold out, nothing overdue); placed after reclaiming an overdue hold; an LCL hold
placed; one that draws a container into its pool; a replay of a key.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Awaitable
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.accounts.actor import OrgKind  # noqa: E402
from app.db import create_engine  # noqa: E402
from app.main import create_app  # noqa: E402
from app.runtime import Runtime  # noqa: E402
from tests.conftest import test_settings  # noqa: E402
from tests.databases import TemplateDatabases  # noqa: E402
from tests.factories import fcl_hold, lcl_hold, make_account, make_sailing  # noqa: E402

APP = str(ROOT / "app")
# Per module path: each function called (qualified name and first line) and its length in lines.
Calls = dict[str, dict[str, int]]


class Tracer:
    """Functions of app/ called while active, by module path."""

    def __init__(self) -> None:
        self.calls: Calls = defaultdict(dict)

    def _profile(self, frame: FrameType, event: str, _arg: Any) -> None:
        if event == "call" and frame.f_code.co_filename.startswith(APP):
            code = frame.f_code
            last = max(
                (line for _, _, line in code.co_lines() if line is not None), default=code.co_firstlineno
            )
            self.calls[code.co_filename][f"{code.co_qualname}:{code.co_firstlineno}"] = (
                last - code.co_firstlineno + 1
            )

    async def trace(self, request: Awaitable[httpx.Response]) -> httpx.Response:
        sys.setprofile(self._profile)
        try:
            return await request
        finally:
            sys.setprofile(None)


async def run_cases(rt: Runtime, tracer: Tracer) -> dict[str, int]:
    shipper = await make_account(rt, OrgKind.SHIPPER)
    transport = httpx.ASGITransport(app=create_app(runtime=rt))
    statuses: dict[str, int] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://slotpool.bench") as client:

        def post(body: dict[str, Any], key: str | None = None) -> Awaitable[httpx.Response]:
            return client.post("/v1/holds", json=body, headers=shipper.posting(key))

        async def case(name: str, body: dict[str, Any], key: str | None = None) -> None:
            statuses[name] = (await tracer.trace(post(body, key))).status_code

        # The first requests build the cached statements and fill the key cache: traced too.
        warm = await make_sailing(rt, units=10)
        await case("first fcl", fcl_hold(warm.id))
        await case("first lcl", lcl_hold(warm.id, "1", "100"))

        fcl = await make_sailing(rt, units=2, pool=False)
        await case("fcl placed", fcl_hold(fcl.id, 2))
        await case("fcl refused", fcl_hold(fcl.id, 1))
        overdue = await make_sailing(rt, units=1, pool=False)
        await post(fcl_hold(overdue.id, 1, ttl_seconds=5))
        rt.clock.advance(6)
        await case("fcl after reclaim", fcl_hold(overdue.id, 1))
        lcl = await make_sailing(rt, units=3)
        await case("lcl placed", lcl_hold(lcl.id, "2", "500"))
        await case("lcl draws a container", lcl_hold(lcl.id, "27", "500"))
        key = uuid.uuid4().hex
        await post(fcl_hold(warm.id), key)
        await case("replay", fcl_hold(warm.id), key)
    return statuses


async def measure(backend: str, databases: TemplateDatabases) -> tuple[Calls, dict[str, int]]:
    url = await (databases.sqlite() if backend == "sqlite" else databases.postgres())
    settings = test_settings(url)
    rt = Runtime(settings=settings, engine=create_engine(settings))
    tracer = Tracer()
    try:
        statuses = await run_cases(rt, tracer)
    finally:
        await rt.engine.dispose()
        if backend != "sqlite":
            await databases.drop_postgres(url)
    return tracer.calls, statuses


# What every authenticated request runs through, whatever its endpoint: reported apart.
PLUMBING = frozenset(
    {
        "app/main.py",
        "app/logging.py",
        "app/runtime.py",
        "app/accounts/auth.py",
        "app/accounts/keys.py",
        "app/accounts/service.py",
    }
)


def report(calls: Calls) -> None:
    """Per module: its lines, the functions the cases called and the lines of those functions."""
    totals = {True: [0, 0, 0, 0], False: [0, 0, 0, 0]}
    for path in sorted(calls):
        name = str(Path(path).relative_to(ROOT))
        lines = len(Path(path).read_text().splitlines())
        functions, run = len(calls[path]), sum(calls[path].values())
        shared = name in PLUMBING
        totals[shared] = [a + b for a, b in zip(totals[shared], (1, lines, functions, run), strict=True)]
        mark = " (every request)" if shared else ""
        print(f"  {name:42} {lines:5} lines  {functions:3} functions called, {run:4} lines of them{mark}")
    for shared, label in ((False, "hold path"), (True, "plumbing of every request")):
        modules, lines, functions, run = totals[shared]
        print(
            f"  {label}: {modules} modules, {lines} lines; {functions} functions called, {run} lines of them"
        )


async def main(backends: list[str]) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        databases = TemplateDatabases(Path(workdir))
        union: Calls = defaultdict(dict)
        try:
            for backend in backends:
                calls, statuses = await measure(backend, databases)
                print(f"{backend}: {statuses}")
                report(calls)
                for path, functions in calls.items():
                    union[path].update(functions)
        finally:
            await databases.close()
    if len(backends) > 1:
        print("both databases:")
        report(union)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--backends", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    asyncio.run(main(parser.parse_args().backends))
