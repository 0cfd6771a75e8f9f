"""CPU per hold of the app alone: its ASGI callable driven in this process, no HTTP server.

``python bench/hold_cpu.py [--holds 4000] [--callers 16] [--runs 5] [--part full]``. A fresh PostgreSQL
database migrated and seeded as ``bench/holds.py`` does (a hot sailing that never runs out), a
shipper's key made through the admin API, then ``--callers`` concurrent callers post 1-unit FCL
holds with fresh Idempotency-Keys straight into the app's ASGI callable (lifespan run, as a
server would). Each run warms up with 800 holds, then measures CPU seconds of this process per
201: the app's own cost, without uvicorn, HTTP parsing or a load generator sharing the process.
For comparing two versions of the code, run it on each in turns.

``--part`` measures a part of the hold instead: ``framework`` is the whole request with the
service (``app.reservations.holds.place_hold``) replaced by one that answers a view made by the
first hold (Litestar, the middleware, authentication and the Idempotency-Key wrapper);
``service`` calls the service directly with the shipper's actor (no HTTP, no framework).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.accounts.service import authenticate  # noqa: E402
from app.config import Settings  # noqa: E402
from app.events import idempotency  # noqa: E402
from app.main import create_app  # noqa: E402
from app.reservations import holds  # noqa: E402
from app.reservations.schemas import HoldCreate, HoldView  # noqa: E402
from bench import holds_setup as setup  # noqa: E402

WARM_UP = 800


class Asgi:
    """Calls the app as a server would: one ASGI call a request, the body in one message."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.statuses: Counter[int] = Counter()

    async def call(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
            "root_path": "", "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 50000), "state": {},
            "headers": [
                (b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *((name.lower().encode(), value.encode()) for name, value in headers.items()),
            ],
        }  # fmt: skip
        chunks: list[bytes] = []
        received = False

        async def receive() -> dict[str, Any]:
            nonlocal received
            if received:
                await asyncio.Event().wait()  # no disconnect: the answer is awaited
            received = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.statuses[message["status"]] += 1
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return b"".join(chunks)


async def measure(args: argparse.Namespace) -> list[float]:
    url = setup.database_url("postgresql", ROOT)
    seeded = await setup.seed(url, hot_units=10_000_000, sellout_units=1)
    app = create_app(Settings(database_url=url, scheduler_enabled=False, log_level="WARNING"))
    lifespan_in: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    lifespan_out: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await lifespan_in.put({"type": "lifespan.startup"})
    lifespan = asyncio.create_task(app({"type": "lifespan", "state": {}}, lifespan_in.get, lifespan_out.put))
    assert (await lifespan_out.get())["type"] == "lifespan.startup.complete"
    try:
        asgi = Asgi(app)
        key = await _shipper_key(asgi, seeded.operator_key)
        body = seeded.hot.body()

        place = await _placing(args.part, asgi, app, key, body)

        async def caller(count: int) -> None:
            for _ in range(count):
                await place()

        figures = []
        for _ in range(args.runs):
            await asyncio.gather(*(caller(WARM_UP // args.callers) for _ in range(args.callers)))
            asgi.statuses.clear()
            started, wall = time.process_time(), time.perf_counter()
            await asyncio.gather(*(caller(args.holds // args.callers) for _ in range(args.callers)))
            cpu, wall = time.process_time() - started, time.perf_counter() - wall
            if args.part == "service":  # no answers to count: a call that failed would have raised
                created = args.holds // args.callers * args.callers
            else:
                created = asgi.statuses[201]
                assert created == sum(asgi.statuses.values()), dict(asgi.statuses)
            figures.append(cpu / created)
            print(
                f"  {created} holds: {cpu / created * 1000:.3f} ms CPU per hold, {created / wall:.0f} holds/s"
            )
        return figures
    finally:
        await lifespan_in.put({"type": "lifespan.shutdown"})
        await lifespan
        await setup.drop_database(url)


async def _placing(part: str, asgi: Asgi, app: Any, key: str, body: bytes) -> Any:
    """What one hold is for ``part``: a coroutine function placing (or pretending to place) one."""

    async def request() -> None:
        headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": uuid.uuid4().hex}
        await asgi.call("POST", "/v1/holds", body, headers)

    if part == "full":
        return request
    if part == "framework":
        headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": uuid.uuid4().hex}
        ready = msgspec.json.decode(await asgi.call("POST", "/v1/holds", body, headers), type=HoldView)

        async def answer(_rt: Any, _actor: Any, _data: Any, finish: Any = None) -> HoldView:
            if finish is not None:
                finish.answer(ready)
            return ready

        holds.place_hold = answer  # type: ignore[assignment]
        return request
    rt = app.state.runtime
    actor = await authenticate(rt, key, app.state.key_cache)
    assert actor is not None, "the shipper's key was just issued"
    data = msgspec.json.decode(body, type=HoldCreate)

    async def service() -> None:
        key_id, shift = actor.api_key_id, rt.clock.shift()
        fresh = uuid.uuid4().hex
        keyed = idempotency.Unleased(api_key_id=key_id, key=fresh, fingerprint="0" * 64, clock_shift=shift)
        await holds.place_hold(rt, actor, data, idempotency.Finish(keyed, 201, lambda _: {}))

    return service


async def _shipper_key(asgi: Asgi, operator_key: str) -> str:
    def admin() -> dict[str, str]:
        return {"Authorization": f"Bearer {operator_key}", "Idempotency-Key": uuid.uuid4().hex}

    org = msgspec.json.decode(
        await asgi.call(
            "POST", "/v1/admin/organisations/", b'{"name":"Bench Shipper","kind":"shipper"}', admin()
        )
    )
    issued = msgspec.json.decode(
        await asgi.call("POST", f"/v1/admin/organisations/{org['id']}/api-keys", b'{"name":"bench"}', admin())
    )
    key: str = issued["key"]
    return key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--holds", type=int, default=4000)
    parser.add_argument("--callers", type=int, default=16)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--part", choices=("full", "framework", "service"), default="full")
    figures = asyncio.run(measure(parser.parse_args()))
    print(f"median {statistics.median(figures) * 1000:.3f} ms CPU per hold over {len(figures)} runs")


if __name__ == "__main__":
    main()
