"""Webhook benchmark: delivery lag to healthy endpoints while others are slow or failing.

``python bench/webhooks.py [--seconds 60] [--rate 500] [--endpoints 20] [--slow 2]
[--slow-seconds 2] [--failing 1] [--workers 1] [--per-transaction 1] [--interval SECONDS]
[--backend postgresql] [--no-compare]``

Twenty shipper organisations each register one endpoint on a receiver on loopback (its own
process); ``--slow`` of them answer after ``--slow-seconds`` and ``--failing`` answer 500. This
process writes ``--rate`` events a second for ``--seconds`` (``--per-transaction`` to a
transaction, spread over the organisations in turn; the payload carries the wall-clock time it
was written), while
``--workers`` ``slotpool worker`` processes run the scheduler as deployed. Lag = when the
receiver read the first request that it answered 2xx for an event, minus when the event was
written. Then the same run with every endpoint healthy, for comparison (``--no-compare`` skips
it). PostgreSQL is ``SLOTPOOL_BENCH_POSTGRES_URL`` (default: local).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.accounts import service as accounts  # noqa: E402
from app.accounts.actor import Actor, OrgKind, Scope  # noqa: E402
from app.accounts.schemas import OrganisationCreate  # noqa: E402
from app.clock import Clock  # noqa: E402
from app.config import Settings  # noqa: E402
from app.db import create_engine, transaction  # noqa: E402
from app.events import outbox  # noqa: E402
from app.feed import examples  # noqa: E402
from app.runtime import Runtime  # noqa: E402
from app.secrets import new_key  # noqa: E402
from app.webhooks import service as webhooks  # noqa: E402
from app.webhooks.repository import deliveries, endpoints  # noqa: E402
from app.webhooks.schemas import EndpointCreate  # noqa: E402
from bench.expiry import drop_database, fresh_database  # noqa: E402
from tests.webhooks.receiver import Behaviour, receiving  # noqa: E402

SECRET_KEY = new_key()


# --- the receiver, in a process of its own ------------------------------------------------------


async def serve_receiver(
    port_file: Path, out_file: Path, slow: list[str], slow_seconds: float, failing: list[str]
) -> None:
    """Receive until SIGTERM, then write one JSON line per request answered."""
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with receiving() as receiver:
        for path in slow:
            receiver.behaviours[path] = Behaviour(delay=slow_seconds)
        for path in failing:
            receiver.behaviours[path] = Behaviour(status=500)
        port_file.write_text(str(receiver.port))
        await stop.wait()
        with out_file.open("w") as out:
            for r in receiver.requests:
                produced = json.loads(r.body)["data"]["produced_at"]
                line = {"path": r.path, "id": r.headers["webhook-id"], "status": r.status, "at": r.at}
                out.write(json.dumps({**line, "produced": produced}) + "\n")


# --- one run ----------------------------------------------------------------------------------


async def run(url: str, args: argparse.Namespace, *, bad: bool, workdir: Path) -> dict[str, Any]:
    settings = Settings(
        database_url=url,
        scheduler_enabled=False,
        log_level="WARNING",
        secret_keys=SECRET_KEY,
        webhook_allow_loopback=True,
    )
    rt = Runtime(settings=settings, engine=create_engine(settings), clock=Clock())
    paths = [f"/ep/{i}" for i in range(args.endpoints)]
    slow = paths[-(args.slow + args.failing) : len(paths) - args.failing] if bad and args.slow else []
    failing = paths[len(paths) - args.failing :] if bad and args.failing else []
    healthy = [p for p in paths if p not in slow and p not in failing]

    port_file, out_file = (
        workdir / f"port-{uuid.uuid4().hex[:6]}",
        workdir / f"received-{uuid.uuid4().hex[:6]}",
    )
    receiver = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve-receiver",
        str(port_file),
        str(out_file),
        "--slow-paths",
        ",".join(slow),
        "--failing-paths",
        ",".join(failing),
        "--slow-seconds",
        str(args.slow_seconds),
        cwd=ROOT,
    )
    await _until(port_file.exists, 10)
    await asyncio.sleep(0.1)  # the port is written once listening; let the write finish
    port = int(port_file.read_text())
    organisations = []
    for path in paths:
        org = await accounts.create_organisation(
            rt, OrganisationCreate(name=f"Bench {path}", kind=OrgKind.SHIPPER)
        )
        actor = Actor(
            organisation_id=org.id,
            kind=OrgKind.SHIPPER,
            api_key_id=uuid.uuid4(),
            scopes=frozenset({Scope.READ, Scope.WRITE}),
        )
        await webhooks.create_endpoint(rt, actor, EndpointCreate(url=f"http://127.0.0.1:{port}{path}"))
        organisations.append((path, org.id))

    env = {
        **os.environ,
        "SLOTPOOL_DATABASE_URL": url,
        "SLOTPOOL_LOG_LEVEL": "WARNING",
        "SLOTPOOL_SECRET_KEYS": SECRET_KEY,
        "SLOTPOOL_WEBHOOK_ALLOW_LOOPBACK": "true",
    }
    if args.interval is not None:
        env["SLOTPOOL_WEBHOOK_INTERVAL_SECONDS"] = str(args.interval)
    logs = [(workdir / f"worker-{uuid.uuid4().hex[:6]}.log").open("wb") for _ in range(args.workers)]
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "app", "worker", cwd=ROOT, env=env, stdout=log, stderr=log
        )
        for log in logs
    ]
    load_before = os.getloadavg()
    producer_cpu = time.process_time()
    try:
        produced, rate = await produce(rt, organisations, args.seconds, args.rate, args.per_transaction)
        expected = {path: n for path, n in produced.items() if path in healthy}
        # Wait for the healthy endpoints to have everything (or 30 s).
        await _wait_for_healthy(rt, expected, deadline=time.monotonic() + 30)
    finally:
        load_after = os.getloadavg()
        cpu = {
            "workers": sum(_cpu_seconds(w.pid) for w in workers),
            "receiver": _cpu_seconds(receiver.pid),
            "producer": time.process_time() - producer_cpu,
        }
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            await worker.wait()
        for log in logs:
            log.close()
        receiver.send_signal(signal.SIGTERM)
        await receiver.wait()
        await rt.engine.dispose()
    received = [json.loads(line) for line in out_file.read_text().splitlines()]
    figures = summarise(received, produced, healthy, slow, failing, rate, load_before, load_after)
    attempts = len(received)
    figures["cpu"] = (
        f"workers {cpu['workers']:.1f} s ({cpu['workers'] / max(attempts, 1) * 1000:.2f} ms per request),"
        f" receiver {cpu['receiver']:.1f} s, producer {cpu['producer']:.1f} s"
    )
    return figures


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def produce(
    rt: Runtime, organisations: list[tuple[str, uuid.UUID]], seconds: float, rate: int, per_transaction: int
) -> tuple[dict[str, int], float]:
    """``rate`` events a second for ``seconds``, ``per_transaction`` to a transaction, round-robin
    over the organisations; how many each got, and the rate achieved."""
    template = examples.example("hold.created")
    produced: dict[str, int] = defaultdict(int)
    tick = 0.01
    per_tick = max(1, round(rate * tick))
    started = time.monotonic()
    count = 0

    async def write(paths: list[str], events: list[outbox.PendingEvent]) -> None:
        async with transaction(rt.engine) as conn:
            await outbox.record(conn, events, datetime.now(UTC))
        for path in paths:
            produced[path] += 1

    for step in range(int(seconds / tick)):
        writes = []
        for start in range(0, per_tick, per_transaction):
            paths, events = [], []
            for _ in range(min(per_transaction, per_tick - start)):
                path, org = organisations[count % len(organisations)]
                payload = {
                    **template,
                    "organisation_id": str(org),
                    "placed_by": None,
                    "produced_at": time.time(),
                }
                events.append(outbox.PendingEvent("hold.created", uuid.uuid4(), org, payload))
                paths.append(path)
                count += 1
            writes.append(write(paths, events))
        await asyncio.gather(*writes)
        pause = started + (step + 1) * tick - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)  # pacing the load generator, not waiting for a result
    return dict(produced), count / (time.monotonic() - started)


async def _wait_for_healthy(rt: Runtime, expected: dict[str, int], deadline: float) -> None:
    """Until the healthy endpoints have had every event written for them, or the deadline."""
    delivered = (
        select(endpoints.c.url, func.count())
        .select_from(deliveries.join(endpoints, endpoints.c.id == deliveries.c.endpoint_id))
        .where(deliveries.c.state == "delivered")
        .group_by(endpoints.c.url)
    )
    healthy = tuple(expected)
    while time.monotonic() < deadline:
        async with transaction(rt.engine, read_only=True) as conn:
            done = sum(n for url, n in await conn.execute(delivered) if url.endswith(healthy))
        if done >= sum(expected.values()):
            return
        await asyncio.sleep(0.2)


def summarise(
    received: list[dict[str, Any]],
    produced: dict[str, int],
    healthy: list[str],
    slow: list[str],
    failing: list[str],
    rate: float,
    load_before: tuple[float, ...],
    load_after: tuple[float, ...],
) -> dict[str, Any]:
    first_ok: dict[tuple[str, str], float] = {}
    for r in received:
        key = (r["path"], r["id"])
        if 200 <= r["status"] < 300 and key not in first_ok:
            first_ok[key] = r["at"] - r["produced"]
    lags = sorted(lag for (path, _), lag in first_ok.items() if path in healthy)
    quantiles = statistics.quantiles(lags, n=100) if len(lags) > 1 else [0.0] * 99
    duplicates = sum(1 for r in received if 200 <= r["status"] < 300) - len(first_ok)
    return {
        "rate": rate,
        "events": sum(produced.values()),
        "healthy_expected": sum(n for p, n in produced.items() if p in healthy),
        "healthy_delivered": len(lags),
        "p50": quantiles[49],
        "p99": quantiles[98],
        "max": lags[-1] if lags else 0.0,
        "slow_delivered": sum(1 for (path, _) in first_ok if path in slow),
        "slow_expected": sum(n for p, n in produced.items() if p in slow),
        "failing_attempts": sum(1 for r in received if r["path"] in failing),
        "duplicates": duplicates,
        "load": f"{load_before[0]:.2f} -> {load_after[0]:.2f}",
    }


async def _until(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("receiver did not start")
        await asyncio.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--endpoints", type=int, default=20)
    parser.add_argument("--slow", type=int, default=2)
    parser.add_argument("--slow-seconds", type=float, default=2.0)
    parser.add_argument("--failing", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--per-transaction", type=int, default=1)
    parser.add_argument("--interval", type=float, default=None, help="default: the service's")
    parser.add_argument("--backend", default="postgresql", choices=["postgresql", "sqlite"])
    parser.add_argument("--no-compare", action="store_true")
    parser.add_argument("--serve-receiver", nargs=2, metavar=("PORT_FILE", "OUT_FILE"))
    parser.add_argument("--slow-paths", default="")
    parser.add_argument("--failing-paths", default="")
    args = parser.parse_args()
    if args.serve_receiver:
        split = [p for p in args.slow_paths.split(",") if p], [p for p in args.failing_paths.split(",") if p]
        asyncio.run(
            serve_receiver(
                Path(args.serve_receiver[0]),
                Path(args.serve_receiver[1]),
                split[0],
                args.slow_seconds,
                split[1],
            )
        )
        return
    workdir = Path(tempfile.mkdtemp(prefix="slotpool-webhooks-"))
    cases = [("slow+failing", True)] + ([] if args.no_compare else [("all healthy", False)])
    print(
        f"{args.rate} events/s for {args.seconds:g} s to {args.endpoints} endpoints ({args.backend}, "
        f"{args.workers} worker(s), interval {args.interval or Settings().webhook_interval_seconds:g} s,"
        f" {args.per_transaction} event(s) a"
        f" transaction); load avg {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    for name, bad in cases:
        url = fresh_database(args.backend, workdir)
        try:
            f = asyncio.run(run(url, args, bad=bad, workdir=workdir))
        finally:
            drop_database(url)
        lag = f"lag p50 {f['p50']:.3f} s  p99 {f['p99']:.3f} s  max {f['max']:.3f} s (target p99 <= 2 s)"
        print(
            f"{name:<13} produced {f['events']} at {f['rate']:.0f}/s; healthy endpoints got"
            f" {f['healthy_delivered']}/{f['healthy_expected']}: {lag}; slow got"
            f" {f['slow_delivered']}/{f['slow_expected']}; failing tried {f['failing_attempts']} times;"
            f" duplicates {f['duplicates']}; load {f['load']}; CPU: {f['cpu']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
