"""``slotpool worker``: the scheduled jobs alone, no HTTP, until SIGTERM or SIGINT.

Run workers next to API replicas started with ``SLOTPOOL_SCHEDULER_ENABLED=false``. A worker
runs its jobs whatever that setting says: running them is all it is for.
"""

from __future__ import annotations

import asyncio
import os
import signal

import structlog

from app.clock import Clock
from app.config import Settings
from app.database_status import probe
from app.db import create_engine
from app.jobs.scheduler import running_scheduler
from app.logging import configure_logging
from app.runtime import Runtime

log = structlog.get_logger("slotpool.jobs")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def run_worker(settings: Settings) -> None:
    """Run the scheduler until a stop signal; then cancel runs in flight and close the engine."""
    configure_logging(settings.log_level, settings.log_json)
    rt = Runtime(settings=settings, engine=create_engine(settings), clock=Clock())
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    try:
        # A database that is down is said once now (which, and how to create it); the jobs
        # wait for it, each saying so once.
        await probe(rt.engine, rt.database)
        async with running_scheduler(rt):
            log.info("worker.started", pid=os.getpid(), database=rt.dialect)
            await stop.wait()
            log.info("worker.stopping", pid=os.getpid())
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
        await rt.carriers.aclose()
        await rt.engine.dispose()
