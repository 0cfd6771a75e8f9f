"""``slotpool worker``: the scheduled jobs, until SIGTERM or SIGINT, and beside them a small HTTP
server of its own (``SLOTPOOL_WORKER_HOST``:``SLOTPOOL_WORKER_PORT``) answering ``/health``,
``/ready``, ``/health/jobs`` and ``/metrics``.

Run workers next to API replicas started with ``SLOTPOOL_SCHEDULER_ENABLED=false``. A worker
runs its jobs whatever that setting says: running them is all it is for.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Iterator

import structlog
import uvicorn
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide

from app import metrics
from app.accounts.auth import provide_runtime
from app.api.health import health, ready
from app.clock import Clock
from app.config import Settings
from app.database_status import probe
from app.db import create_engine
from app.jobs.api import jobs_health, metrics_exposition
from app.jobs.scheduler import running_scheduler
from app.logging import configure_logging
from app.runtime import Runtime

log = structlog.get_logger("slotpool.jobs")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def run_worker(settings: Settings) -> None:
    """Run the scheduler and the worker's HTTP server until a stop signal; then stop serving,
    cancel runs in flight and close the engine."""
    configure_logging(settings.log_level, settings.log_json)
    rt = Runtime(settings=settings, engine=create_engine(settings), clock=Clock())
    if settings.metrics_enabled:
        metrics.instrument_pool(rt.engine)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    server = _QuietServer(
        uvicorn.Config(
            worker_app(rt),
            host=settings.worker_host,
            port=settings.worker_port,
            lifespan="off",
            access_log=False,
            log_config=None,
        )
    )
    serving = asyncio.create_task(server.serve())
    try:
        # A database that is down is said once now (which, and how to create it); the jobs
        # wait for it, each saying so once.
        await probe(rt.engine, rt.database)
        async with running_scheduler(rt):
            log.info(
                "worker.started",
                pid=os.getpid(),
                database=rt.dialect,
                http=f"{settings.worker_host}:{settings.worker_port}",
            )
            await stop.wait()
            log.info("worker.stopping", pid=os.getpid())
    finally:
        server.should_exit = True
        await asyncio.gather(serving, return_exceptions=True)
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
        await rt.carriers.aclose()
        await rt.engine.dispose()
        metrics.mark_dead_process(os.getpid())


def worker_app(rt: Runtime) -> Litestar:
    """Health, readiness, the jobs' health and the metrics of this worker, no API key (bind
    the port to a private address: the default is loopback)."""
    routes = [health, ready, jobs_health]
    if rt.settings.metrics_enabled:
        routes.append(metrics_exposition)
    return Litestar(
        route_handlers=routes,
        dependencies={"rt": Provide(provide_runtime)},
        state=State({"runtime": rt}),
        openapi_config=None,
        logging_config=None,
        debug=False,
    )


class _QuietServer(uvicorn.Server):
    """Uvicorn without its own signal handlers: the worker's decide when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
