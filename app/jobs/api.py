"""Watching the jobs and the service: ``GET /v1/admin/jobs`` (operator), ``GET /health/jobs``
and ``GET /metrics`` (public, like ``/health``: they say how the service runs, nothing of its
customers)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, MediaType, Request, Response, get
from litestar.openapi import ResponseSpec

from app import metrics
from app.accounts.actor import OrgKind, Scope
from app.accounts.auth import requires
from app.api.contract import API_KEY, answers
from app.db import transaction
from app.jobs.runs import JobStatus, statuses
from app.jobs.scheduler import scheduled_jobs
from app.runtime import Runtime
from app.webhooks.repository import outbox_backlog


class JobList(msgspec.Struct, kw_only=True):
    jobs: list[JobStatus]


class JobsHealth(msgspec.Struct, kw_only=True):
    """``ok``, or ``overdue`` with the jobs that have not succeeded in time."""

    status: str
    overdue: list[str]


class JobAdminController(Controller):
    path = "/v1/admin/jobs"
    tags = ["admin"]
    guards = [requires(Scope.ADMIN, OrgKind.OPERATOR)]
    security = API_KEY

    @get(
        summary="Every scheduled job: last runs, errors, counts, overdue",
        operation_id="listJobs",
        responses=answers(),
    )
    async def list_jobs(self, rt: Runtime) -> JobList:
        """Per job, across all replicas: last start, finish, success and error (message and
        time), last duration, runs and failures counted, the interval, and whether it is
        overdue (no success for ``SLOTPOOL_JOB_OVERDUE_INTERVALS`` intervals, at least a
        minute), by database time."""
        return JobList(jobs=await statuses(rt, scheduled_jobs(rt.settings)))


@get(
    "/health/jobs",
    tags=["operations"],
    summary="Every job succeeded recently",
    operation_id="jobsHealth",
    responses={503: ResponseSpec(data_container=JobsHealth, description="A job is overdue")},
)
async def jobs_health(rt: Runtime) -> Response[JobsHealth]:
    """200 when every job has succeeded within its overdue limit (``GET /v1/admin/jobs``
    says more), 503 naming the jobs that have not. Separate from ``/ready``: a failing job is
    no reason to take a replica out of a load balancer."""
    overdue = [status.job for status in await statuses(rt, scheduled_jobs(rt.settings)) if status.overdue]
    if overdue:
        return Response(JobsHealth(status="overdue", overdue=overdue), status_code=503)
    return Response(JobsHealth(status="ok", overdue=[]))


@get(
    "/metrics",
    tags=["operations"],
    summary="Prometheus metrics",
    operation_id="metrics",
    media_type=MediaType.TEXT,
    include_in_schema=True,
)
async def metrics_exposition(request: Request[Any, Any, Any], rt: Runtime) -> Response[bytes]:
    """Prometheus text format: the service's families (holds, bookings, expiry, jobs,
    carriers, outbox, webhooks, database pool) and HTTP requests by route template."""
    state = request.app.state
    if state.get("database_figures") is None:
        state.database_figures = metrics.DatabaseFigures(lambda: _read_database_figures(rt))
    await state.database_figures.refresh()
    for scac, breaker in rt.carriers.breakers.states().items():
        metrics.set_breaker_state(scac, breaker)
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)


async def _read_database_figures(rt: Runtime) -> None:
    async with transaction(rt.engine, read_only=True) as conn:
        backlog = await outbox_backlog(conn, rt.clock.now_sql(rt.dialect))
    metrics.OUTBOX_BACKLOG.labels("unsequenced").set(backlog.unsequenced)
    metrics.OUTBOX_BACKLOG.labels("webhook_pending").set(backlog.pending_deliveries)
    metrics.OUTBOX_OLDEST_AGE.set(backlog.oldest_age_seconds)
