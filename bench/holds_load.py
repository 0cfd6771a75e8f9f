"""The load generator of ``bench/holds.py``: concurrent clients posting holds, and their figures."""

from __future__ import annotations

import asyncio
import os
import ssl
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

TRANSPORT_ERROR = 0  # the status recorded for a request that got no answer
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    """What one run measured. The window is the measured part (after warm-up); ``statuses``
    counts every answer of the run, warm-up and the requests in flight at the end included."""

    statuses: Counter[int]
    created: int  # 201s completed inside the window
    seconds: float  # length of the window
    latencies: list[float]  # seconds, of the 201s inside the window
    server_cpu: float  # CPU seconds the server process used inside the window
    client_cpu: float  # CPU seconds this process used inside the window
    # CPU seconds the PostgreSQL backends serving the server used inside the window (the
    # server's database; 0 for SQLite)
    database_cpu: float = 0.0
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.created / self.seconds

    @property
    def p50(self) -> float:
        return _quantile(self.latencies, 50)

    @property
    def p99(self) -> float:
        return _quantile(self.latencies, 99)

    @property
    def server_cpu_per_hold(self) -> float:
        return self.server_cpu / max(self.created, 1)

    @property
    def database_cpu_per_hold(self) -> float:
        return self.database_cpu / max(self.created, 1)

    @property
    def machine_cpu_per_hold(self) -> float:
        """What one hold cost the whole machine: generator, server and database."""
        return (self.client_cpu + self.server_cpu + self.database_cpu) / max(self.created, 1)

    @property
    def client_cpu_share(self) -> float:
        """Of one core, over the window."""
        return self.client_cpu / self.seconds

    def others(self) -> str:
        other = {status: count for status, count in sorted(self.statuses.items()) if status != 201}
        return ", ".join(f"{status or 'no answer'}: {count}" for status, count in other.items()) or "none"

    def summary(self) -> str:
        return (
            f"{self.rate:7.0f} holds/s  p50 {self.p50 * 1000:6.1f} ms  p99 {self.p99 * 1000:6.1f} ms"
            f"  server CPU {self.server_cpu / self.seconds:4.0%}  client CPU {self.client_cpu_share:4.0%}"
            f"  other answers: {self.others()}"
        )

    @classmethod
    def merge(cls, runs: list[Run]) -> Run:
        return cls(
            statuses=sum((r.statuses for r in runs), Counter[int]()),
            created=sum(r.created for r in runs),
            seconds=sum(r.seconds for r in runs),
            latencies=[latency for r in runs for latency in r.latencies],
            server_cpu=sum(r.server_cpu for r in runs),
            client_cpu=sum(r.client_cpu for r in runs),
            database_cpu=sum(r.database_cpu for r in runs),
        )


def _quantile(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux ``/proc``); 0 for one that ended."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


DatabasePids = Callable[[], Awaitable[list[int]]]


async def drive(
    base_url: str,
    headers: dict[str, str],
    body: bytes,
    *,
    clients: int,
    server_pid: int,
    database_pids: DatabasePids | None = None,
    warmup: float = 0.0,
    seconds: float | None = None,
    requests: int | None = None,
) -> Run:
    """Post ``body`` from ``clients`` concurrent clients, each request with a fresh
    Idempotency-Key: for ``warmup`` then ``seconds`` (measured), or ``requests`` in all (the whole
    run measured)."""
    assert (seconds is None) != (requests is None), "bound the run by time or by count"
    records: list[tuple[float, float, int]] = []  # (finished at, latency, status)
    tickets = Tickets(requests)
    # One client per connection: a shared pool of 64 makes httpcore re-check every pooled
    # connection (a poll() each) on every request, which costs the generator more CPU than the
    # server spends on the hold (encode/httpx#3215). Each client keeps its one connection alive.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    tls = ssl.create_default_context()  # unused over http://, but each client would load its own
    connections = [
        httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30.0, verify=tls) for _ in range(clients)
    ]
    started = time.perf_counter()
    window = Window(started + warmup, started + warmup + (seconds or 0.0), server_pid, database_pids)

    async def one_client(client: httpx.AsyncClient) -> None:
        async with client:
            while tickets.take() and (seconds is None or time.perf_counter() < window.end):
                records.append(await _post(client, headers, body))

    if seconds is None:
        await window.find_database()
        window.open()
        await asyncio.gather(*(one_client(client) for client in connections))
        window.end = time.perf_counter()
        window.close()
    else:
        await asyncio.gather(window.sample(), *(one_client(client) for client in connections))
    inside = [(latency, status) for done, latency, status in records if window.start <= done <= window.end]
    latencies = [latency for latency, status in inside if status == 201]
    return Run(
        statuses=Counter(status for _, _, status in records),
        created=len(latencies),
        seconds=window.end - window.start,
        latencies=latencies,
        server_cpu=window.server_cpu,
        client_cpu=window.client_cpu,
        database_cpu=window.database_cpu,
    )


async def _post(client: httpx.AsyncClient, headers: dict[str, str], body: bytes) -> tuple[float, float, int]:
    request_headers: dict[str, Any] = {
        **headers,
        "Idempotency-Key": uuid.uuid4().hex,
        "Content-Type": "application/json",
    }
    sent = time.perf_counter()
    try:
        response = await client.post("/v1/holds", content=body, headers=request_headers)
        status = response.status_code
    except httpx.HTTPError:
        status = TRANSPORT_ERROR
    done = time.perf_counter()
    return done, done - sent, status


class Tickets:
    """At most ``count`` requests in all (unbounded when None), shared by the clients."""

    def __init__(self, count: int | None) -> None:
        self.left = count

    def take(self) -> bool:
        if self.left is None:
            return True
        if self.left <= 0:
            return False
        self.left -= 1
        return True


class Window:
    """The measured interval, and the CPU the server, its database backends and this process
    spent in it."""

    def __init__(self, start: float, end: float, server_pid: int, database_pids: DatabasePids | None) -> None:
        self.start, self.end, self.server_pid = start, end, server_pid
        self.server_cpu = self.client_cpu = self.database_cpu = 0.0
        self._database_pids = database_pids
        self._backends: list[int] = []

    async def find_database(self) -> None:
        """The backends of the server's connections, read once they are open (after warm-up:
        the server's pool keeps them for the run)."""
        if self._database_pids is not None:
            self._backends = await self._database_pids()

    def open(self) -> None:
        self.start = time.perf_counter()
        self.server_cpu, self.client_cpu = -process_cpu(self.server_pid), -time.process_time()
        self.database_cpu = -sum(process_cpu(pid) for pid in self._backends)

    def close(self) -> None:
        self.server_cpu += process_cpu(self.server_pid)
        self.client_cpu += time.process_time()
        self.database_cpu += sum(process_cpu(pid) for pid in self._backends)

    async def sample(self) -> None:
        # Pacing the samples to the window's edges; the clients run meanwhile.
        await asyncio.sleep(max(0.0, self.start - time.perf_counter()))
        await self.find_database()
        self.open()
        await asyncio.sleep(max(0.0, self.end - time.perf_counter()))
        self.close()
