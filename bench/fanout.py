"""Fan-out latency: does the answer arrive when the slowest healthy carrier does, and never
later than the timeout when one carrier hangs?

Run: python bench/fanout.py [runs]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Sequence

from carriers.base import CarrierAdapter, ScheduleAnswer, ScheduleQuery
from carriers.fanout import BreakerBoard, fan_out
from carriers.simulated import build_simulated

LANES = ["CNSHA-USLAX", "CNNGB-NLRTM", "TRIST-DEHAM"]
QUERY = ScheduleQuery()


def carrier(scac: str, latency: float) -> CarrierAdapter:
    return build_simulated(scac, {"seed": 1, "lanes": LANES, "latency": latency})


def percentile(samples: Sequence[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def schedules(adapter: CarrierAdapter) -> ScheduleAnswer:
    return await adapter.schedules(QUERY)


async def measure(adapters: list[CarrierAdapter], runs: int, timeout: float) -> list[float]:
    elapsed: list[float] = []
    for _ in range(runs):
        # A fresh board per run: we measure the timeout path, not the breaker's short cut.
        board = BreakerBoard()
        started = time.perf_counter()
        await fan_out(adapters, schedules, timeout=timeout, breakers=board)
        elapsed.append(time.perf_counter() - started)
    return elapsed


async def main(runs: int) -> None:
    healthy = [carrier("SIMA", 0.1), carrier("SIMB", 0.2), carrier("SIMC", 0.3)]
    live = await measure(healthy, runs, timeout=2.0)
    p50, p95 = percentile(live, 50), percentile(live, 95)
    print(f"live fan-out, 3 carriers at 100/200/300 ms, {runs} runs")
    print(f"  p50 {p50 * 1000:.1f} ms  p95 {p95 * 1000:.1f} ms  p95/slowest {p95 / 0.3:.3f}")

    timeout = 0.5
    hung = [*healthy, carrier("HANG", 3600.0)]
    cut = await measure(hung, runs, timeout=timeout)
    p95 = percentile(cut, 95)
    print(f"one carrier hangs, timeout {timeout * 1000:.0f} ms, {runs} runs")
    print(
        f"  p50 {statistics.median(cut) * 1000:.1f} ms  p95 {p95 * 1000:.1f} ms"
        f"  max {max(cut) * 1000:.1f} ms  within timeout+50 ms: {max(cut) <= timeout + 0.05}"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 50))
