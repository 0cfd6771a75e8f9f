"""Hold throughput on one hot sailing: the full stack against a bare baseline.

``python bench/holds.py [--backends baseline postgresql postgresql-metrics-off sqlite]
[--seconds 10] [--rounds 2] [--warmup 2] [--clients 64] [--sellout-units 500] [--sellout-requests 2000]
[--baseline-pool-size N]``

Every target is a real server process on 127.0.0.1 started by this script with uvicorn (one
worker, no access log):

- ``postgresql`` and ``sqlite``: the app (``app.main:create_app``) with
  ``SLOTPOOL_LOG_LEVEL=WARNING`` and ``SLOTPOOL_SCHEDULER_ENABLED=false``, each on a fresh database
  migrated with ``alembic upgrade head``; Prometheus metrics on (the default).
- ``postgresql-metrics-off``: the same PostgreSQL app with ``SLOTPOOL_METRICS_ENABLED=false``, so
  the metrics' cost is read from the same run: its ratio to the baseline beside the one with
  metrics on (the ratio with metrics on must stay within 5% of it).
- ``baseline``: ``bench/baseline_app.py``, one Litestar endpoint running the same conditional
  ``UPDATE`` and ``INSERT`` through an asyncpg pool (``--baseline-pool-size``; by default as
  many connections as the app's pool) on its own fresh PostgreSQL database of the same schema.
  It receives the same requests and headers, and ignores the headers.

Every request is authenticated (a shipper key issued through the admin API with an operator key
made by the app's services) and carries a unique Idempotency-Key.

This process is the load generator: ``--clients`` coroutines, each with its own keep-alive
HTTP/1.1 connection of one ``httpx.AsyncClient``, post 1-unit FCL holds on the hot sailing (an
allotment of 1,000,000 units, so it never runs out). Each round warms every target up, then
measures it for ``--seconds / --rounds``; targets take turns so that a burst of load from
elsewhere on the machine falls on all of them. Then a sell-out run per target: a sailing of
``--sellout-units`` units, ``--sellout-requests`` requests. After every run the 201s are compared
with the units that were free, the counter with the 201s, and the invariants are checked
(``app.reservations.invariants.check_invariants``; on the baseline only invariants 1-2, as it
writes no events). PostgreSQL is ``SLOTPOOL_BENCH_POSTGRES_URL`` (default: local).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import holds_setup as setup  # noqa: E402
from bench.holds_load import Run, drive  # noqa: E402

BACKENDS = ("baseline", "postgresql", "postgresql-metrics-off", "sqlite")
METRICS_OFF = "postgresql-metrics-off"
# The most the metrics may cost, as a share of the full stack's ratio to the baseline.
METRICS_OVERHEAD_LIMIT = 0.05
HOT_UNITS = 1_000_000


@dataclass
class Target:
    """One server under test and what the script knows about it."""

    backend: str
    database_url: str
    server: setup.Server
    headers: dict[str, str]
    hot: setup.Sailing
    sellout: setup.Sailing
    hot_runs: list[Run] = field(default_factory=list)
    sellout_runs: list[Run] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)

    @property
    def is_baseline(self) -> bool:
        return self.backend == "baseline"


async def prepare(backend: str, url: str, workdir: Path, args: argparse.Namespace) -> Target:
    """A fresh migrated database with the hot and sell-out sailings, its server, a shipper key."""
    seeded = await setup.seed(url, HOT_UNITS, args.sellout_units)
    if backend == "baseline":
        server = await setup.start_baseline(url, seeded.shipper_id, workdir, args.baseline_pool_size)
        headers = {"Authorization": "Bearer not-checked-by-the-baseline"}
    else:
        server = await setup.start_app(
            url, workdir, backend, profile=args.profile, metrics=backend != METRICS_OFF
        )
        try:
            key = await setup.issue_shipper_key(server.base_url, seeded.operator_key)
        except BaseException:
            server.stop()
            raise
        headers = {"Authorization": f"Bearer {key}"}
    return Target(backend, url, server, headers, seeded.hot, seeded.sellout)


async def check_after(target: Target, sailing: setup.Sailing, free_before: int, run: Run, label: str) -> None:
    """Oversold units, counter against 201s, and invariants, after one run."""
    created = run.statuses.get(201, 0)
    free_after, held_delta = await setup.counter_change(target.database_url, sailing, free_before)
    oversold = max(0, created - free_before)
    if oversold:
        target.findings.append(f"{label}: OVERSOLD {oversold} units ({created} holds for {free_before} free)")
    if held_delta != created:
        target.findings.append(f"{label}: counter moved {held_delta} units for {created} 201s")
    violations = await setup.invariant_violations(target.database_url, baseline=target.is_baseline)
    for violation in violations[:5]:
        target.findings.append(f"{label}: invariant {violation}")
    run.checked = {"oversold": oversold, "violations": len(violations), "free_after": free_after}


async def hot_round(target: Target, client_count: int, warmup: float, seconds: float) -> None:
    free_before = await setup.free_units(target.database_url, target.hot)
    run = await drive(
        target.server.base_url,
        target.headers,
        target.hot.body(),
        clients=client_count,
        warmup=warmup,
        seconds=seconds,
        server_pid=target.server.pid,
        database_pids=lambda: setup.backend_pids(target.database_url),
    )
    target.hot_runs.append(run)
    await check_after(target, target.hot, free_before, run, "hot")


async def sellout_run(target: Target, client_count: int, requests: int) -> Run:
    free_before = await setup.free_units(target.database_url, target.sellout)
    run = await drive(
        target.server.base_url,
        target.headers,
        target.sellout.body(),
        clients=client_count,
        requests=requests,
        server_pid=target.server.pid,
    )
    target.sellout_runs.append(run)
    await check_after(target, target.sellout, free_before, run, "sell-out")
    if run.statuses.get(201, 0) != free_before:
        target.findings.append(f"sell-out: {run.statuses.get(201, 0)} holds sold of {free_before} units")
    return run


async def bench(args: argparse.Namespace, workdir: Path) -> None:
    targets: list[Target] = []
    urls: list[str] = []
    try:
        for backend in args.backends:
            urls.append(setup.database_url(backend, workdir))
            targets.append(await prepare(backend, urls[-1], workdir, args))
        print(f"machine: {await setup.machine()}; load average before: {setup.load_average()}", flush=True)
        for round_index in range(args.rounds):
            for target in targets:
                await hot_round(target, args.clients, args.warmup, args.seconds / args.rounds)
                print(
                    f"  round {round_index + 1} {target.backend:<13} {target.hot_runs[-1].summary()}",
                    flush=True,
                )
        sellouts = {t.backend: await sellout_run(t, args.clients, args.sellout_requests) for t in targets}
        print(f"load average after: {setup.load_average()}", flush=True)
        report(targets, sellouts, args)
    finally:
        for target in targets:
            target.server.stop()
        if args.profile:
            print_profiles(targets, workdir)
        for url in urls:
            await setup.drop_database(url)


def report(targets: list[Target], sellouts: dict[str, Run], args: argparse.Namespace) -> None:
    """One line per backend, then the sell-out and whatever went wrong."""
    hot = {t.backend: Run.merge(t.hot_runs) for t in targets}
    baseline = hot.get("baseline")
    print(
        f"\nhot sailing: {args.clients} clients, 1-unit FCL holds, {args.seconds:g} s measured per backend"
        f" ({args.rounds} rounds), warm-up {args.warmup:g} s per round; database connections: app"
        f" {setup.app_pool_size()}, baseline {args.baseline_pool_size}"
        + (" [PROFILED: the app servers run ~3x slower; compare shares, not rates]" if args.profile else "")
    )
    print(
        f"{'backend':<14}{'holds/s':>9}{'p50 ms':>9}{'p99 ms':>9}  {'full stack / PG baseline':<30}"
        f"{'server CPU/hold':>16}{'database':>10}{'machine':>10}{'client CPU':>11}{'oversold':>10}"
        "  other answers"
    )
    for target in targets:
        run = hot[target.backend]
        ratio = "-"
        if baseline is not None and not target.is_baseline:
            ratio = f"{run.rate / baseline.rate:.2f}"
            ratio += " (SQLite / PG baseline)" if target.backend == "sqlite" else ""
        oversold = sum(r.checked.get("oversold", 0) for r in target.hot_runs)
        cpu = f"{run.server_cpu_per_hold * 1000:.2f} ms"
        database = f"{run.database_cpu_per_hold * 1000:.2f} ms" if run.database_cpu else "-"
        machine = f"{run.machine_cpu_per_hold * 1000:.2f} ms"
        print(
            f"{target.backend:<14}{run.rate:>9.0f}{run.p50 * 1000:>9.1f}{run.p99 * 1000:>9.1f}  {ratio:<30}"
            f"{cpu:>16}{database:>10}{machine:>10}{run.client_cpu_share:>11.0%}{oversold:>10}  {run.others()}"
        )
    print(f"\nsell-out: {args.sellout_units} units, {args.sellout_requests} requests, {args.clients} clients")
    for target in targets:
        run = sellouts[target.backend]
        print(
            f"{target.backend:<14} 201: {run.statuses.get(201, 0):>5}  oversold: {run.checked['oversold']}"
            f"  free after: {run.checked['free_after']}  invariant violations: {run.checked['violations']}"
            f"  answers: {dict(sorted(run.statuses.items()))}  {run.seconds:.2f} s"
        )
    findings = [f"{t.backend}: {finding}" for t in targets for finding in t.findings]
    metrics_on, metrics_off = hot.get("postgresql"), hot.get(METRICS_OFF)
    if baseline is not None and metrics_on is not None and metrics_off is not None:
        on, off = metrics_on.rate / baseline.rate, metrics_off.rate / baseline.rate
        change = on / off - 1
        print(
            f"\nmetrics: ratio to the PG baseline {on:.3f} with metrics on, {off:.3f} off:"
            f" {change:+.1%} (limit -{METRICS_OVERHEAD_LIMIT:.0%})"
        )
        if change < -METRICS_OVERHEAD_LIMIT:
            findings.append(
                f"metrics cost {-change:.1%} of the hold rate, above {METRICS_OVERHEAD_LIMIT:.0%}"
            )
    print(
        "\n" + ("\n".join(findings) if findings else "no oversell, counters match the 201s, invariants hold")
    )


def print_profiles(targets: list[Target], workdir: Path) -> None:
    """Each app server's phase timings (wall ms per call, all runs), then its CPU per hold by
    package and its top functions."""
    for target in targets:
        report = workdir / f"{target.backend}.json"
        if target.is_baseline or not report.exists():
            continue
        print(f"\nprofile: {target.backend}, wall time per call (all runs, warm-up included)")
        print(f"{'phase':<66}{'calls':>8}{'mean ms':>9}{'p50 ms':>9}")
        for phase, figures in json.loads(report.read_text()).items():
            print(f"{phase:<66}{figures['count']:>8.0f}{figures['mean_ms']:>9.2f}{figures['p50_ms']:>9.2f}")
        stats = pstats.Stats(str(workdir / f"{target.backend}.pstats"), stream=sys.stdout)
        holds = sum(run.statuses.get(201, 0) for run in target.hot_runs) + sum(
            r.statuses.get(201, 0) for r in target.sellout_runs
        )
        print(f"\nprofile: {target.backend}, server CPU per 201 by where it is spent ({holds} holds)")
        for where, seconds in cpu_by_package(stats):
            print(f"  {where:<48}{seconds / max(holds, 1) * 1000:>8.3f} ms")
        print(f"\nprofile: {target.backend}, top functions by own CPU time")
        stats.sort_stats("tottime").print_stats(25)


def cpu_by_package(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Own CPU time summed per library (site-packages), app/, stdlib and builtin calls."""
    totals: dict[str, float] = {}
    for (filename, _, function), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        if filename == "~":
            where = "builtin " + ("socket send/recv" if "socket" in function else function.split(" of ")[0])
        elif "site-packages/" in filename:
            where = filename.split("site-packages/")[1].split("/")[0]
        elif "/app/" in filename:
            where = "app/"
        elif "/bench/" in filename:
            where = "bench/ (the profiler's timers)"
        else:
            where = "stdlib " + Path(filename).parent.name + "/" + Path(filename).stem
        totals[where] = totals.get(where, 0.0) + own
    ranked = sorted(totals.items(), key=lambda item: -item[1])
    return [*ranked[:18], ("(everything else)", sum(seconds for _, seconds in ranked[18:]))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per backend")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each measured window")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--sellout-units", type=int, default=500)
    parser.add_argument(
        "--baseline-pool-size",
        type=int,
        default=setup.app_pool_size(),
        help="the baseline's asyncpg pool (default: as many connections as the app has)",
    )
    parser.add_argument("--sellout-requests", type=int, default=2000)
    parser.add_argument(
        "--profile", action="store_true", help="time the hold path's phases and cProfile the app servers"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="slotpool-holds-"))
    try:
        asyncio.run(bench(args, workdir))
    except (subprocess.CalledProcessError, httpx.HTTPError, setup.ServerFailed) as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        for log in sorted(workdir.glob("*.log")):
            print(f"--- {log.name} (tail)\n{log.read_text()[-2000:]}", file=sys.stderr)
        sys.exit(1)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"\n(total {time.monotonic() - started:.0f} s)")
