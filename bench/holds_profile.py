"""Where a hold's time goes: the app under uvicorn with timers around the hold path's phases.

``python bench/holds_profile.py <report.json> [--cprofile <stats file>]`` serves
``app.main:create_app`` like ``uvicorn --factory`` (host and port from ``BENCH_HOST`` and
``BENCH_PORT``), after wrapping, without changing ``app/``:

- the whole request (the ASGI call), and the POST /v1/holds requests among them;
- ``authenticate`` (the bearer key lookup, cached for a few seconds);
- ``idempotency.begin`` (the key's lease, for POSTs other than holds);
- ``holds.place_hold`` (the hold, from the read of its sailing to its commit), and on every
  connection: the wait for a pooled one, each statement by kind (its round trip, and any wait
  on a row lock), and the commit.

On shutdown (SIGTERM) it writes count, mean and p50 of each phase in milliseconds to the report,
and with ``--cprofile`` the CPU profile of the whole server (``python -m pstats`` reads it).
``bench/holds.py --profile`` runs the app servers this way and prints the report.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import signal
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import uvicorn
from sqlalchemy import event

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import app.accounts.auth  # noqa: E402
import app.db  # noqa: E402
import app.events.idempotency  # noqa: E402
import app.main  # noqa: E402
import app.reservations.holds  # noqa: E402

PHASES: dict[str, list[float]] = defaultdict(list)


def record(phase: str, started: float) -> None:
    PHASES[phase].append(time.perf_counter() - started)


def timed(phase: str, function: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await function(*args, **kwargs)
        finally:
            record(phase, started)

    return wrapper


def statement_kind(statement: str) -> str:
    """``INSERT holds``, ``UPDATE idempotency_records``, ``WITH ... INSERT holds``, ``SELECT``."""
    words = statement.split()
    verb = words[0].upper()
    if verb == "WITH":
        return "WITH claimed UPDATE ... INSERT holds (the hold's one statement)"
    if verb in ("INSERT", "UPDATE", "DELETE"):
        table = words[2] if verb in ("INSERT", "DELETE") else words[1]
        return f"{verb} {table}"
    return f"{verb} ... FROM {words[words.index('FROM') + 1]}" if "FROM" in words else verb


def instrument_engine(engine: Any) -> Any:
    sync = engine.sync_engine

    @event.listens_for(sync, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    @event.listens_for(sync, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        record(f"  sql {statement_kind(statement)}", conn.info.pop("bench_started"))

    return engine


def instrument_transactions() -> None:
    """Wrap ``app.db.transaction`` and ``autocommit`` where the hold path imported them: pool
    wait, and the commit of a transaction."""

    @asynccontextmanager
    async def transaction(engine: Any, *, read_only: bool = False) -> AsyncIterator[Any]:
        started = time.perf_counter()
        async with engine.connect() as connection:
            record("  pool checkout (wait for a connection)", started)
            if read_only:
                await connection.execution_options(**{app.db.READ_ONLY: True})
            async with connection.begin():
                yield connection
                ending = time.perf_counter()
            record("  COMMIT (incl. WAL flush)", ending)

    def autocommit(original: Any) -> Any:
        @asynccontextmanager
        async def wrapped(engine: Any, *, read_only: bool = False) -> AsyncIterator[Any]:
            started = time.perf_counter()
            async with original(engine, read_only=read_only) as connection:
                record("  pool checkout, autocommit (wait for a connection)", started)
                yield connection

        return wrapped

    for module in (app.events.idempotency, app.reservations.holds):
        # Each module imported the names; patch what it looks up at call time.
        if getattr(module, "transaction", None) is app.db.transaction:
            replace(module, "transaction", lambda _: transaction)
        if getattr(module, "autocommit", None) is app.db.autocommit:
            replace(module, "autocommit", autocommit)


def replace(module: ModuleType, name: str, wrap: Callable[[Any], Any]) -> None:
    """Rebind ``module.name`` to ``wrap(current value)``: the call sites look it up at call time."""
    setattr(module, name, wrap(getattr(module, name)))


def instrument() -> None:
    replace(app.accounts.auth, "authenticate", lambda f: timed("auth: authenticate (key cache / lookup)", f))
    replace(
        app.events.idempotency,
        "begin",
        lambda f: timed("idempotency lease: idempotency.begin (leased requests only)", f),
    )
    replace(app.reservations.holds, "place_hold", lambda f: timed("hold: holds.place_hold", f))
    replace(app.main, "create_engine", lambda f: lambda *a, **k: instrument_engine(f(*a, **k)))
    instrument_transactions()


def timed_app(asgi: Any) -> Any:
    async def wrapper(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await asgi(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await asgi(scope, receive, send)
        finally:
            hold = scope["method"] == "POST" and scope["path"].rstrip("/") == "/v1/holds"
            record("request: POST /v1/holds, whole ASGI call" if hold else "request: other", started)

    return wrapper


def summary() -> dict[str, dict[str, float]]:
    return {
        phase: {
            "count": len(values),
            "mean_ms": statistics.fmean(values) * 1000,
            "p50_ms": statistics.median(values) * 1000,
        }
        for phase, values in sorted(PHASES.items())
        if values
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--cprofile", type=Path)
    args = parser.parse_args()
    instrument()
    application = timed_app(app.main.create_app())
    # uvicorn re-raises the SIGTERM it caught once it has shut down; exit through ``finally``.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # CPU time, not wall time: on a busy machine a wall-clock profile charges the time a
    # process waits for a core to whatever call it was preempted in.
    profiler = cProfile.Profile(time.process_time) if args.cprofile else None
    if profiler is not None:
        profiler.enable()
    try:
        uvicorn.run(
            application,
            host=os.environ.get("BENCH_HOST", "127.0.0.1"),
            port=int(os.environ.get("BENCH_PORT", "8000")),
            access_log=False,
            log_level="warning",
            lifespan="on",
        )
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.cprofile)
        args.report.write_text(json.dumps(summary(), indent=1))


if __name__ == "__main__":
    main()
