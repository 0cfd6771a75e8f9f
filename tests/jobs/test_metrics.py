"""``GET /metrics`` after a short flow: every family of the service, in the Prometheus text
format (read back with prometheus_client's own parser)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.jobs.job import ScheduledJob
from app.jobs.scheduler import JobScheduler, scheduled_jobs
from app.runtime import Runtime
from tests.conftest import test_runtime as runtime_on
from tests.factories import World, confirmation, fcl_hold
from tests.live_server import live_server
from tests.webhooks.flows import deliver_until, register
from tests.webhooks.receiver import Receiver, receiving


@pytest.fixture
async def runtime(database_url: str) -> AsyncIterator[Runtime]:
    async with runtime_on(database_url, webhook_allow_loopback=True, webhook_timeout_seconds=5.0) as rt:
        yield rt


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving() as server:
        yield server


FAMILIES = {
    "slotpool_holds_placed": "counter",
    "slotpool_holds_refused": "counter",
    "slotpool_booking_transitions": "counter",
    "slotpool_hold_expiry_lag_seconds": "histogram",
    "slotpool_sweep_batch_holds": "histogram",
    "slotpool_sweep_batch_duration_seconds": "histogram",
    "slotpool_job_runs": "counter",
    "slotpool_job_failures": "counter",
    "slotpool_job_duration_seconds": "histogram",
    "slotpool_job_last_success_timestamp_seconds": "gauge",
    "slotpool_carrier_calls": "counter",
    "slotpool_carrier_call_duration_seconds": "histogram",
    "slotpool_carrier_breaker_state": "gauge",
    "slotpool_outbox_backlog": "gauge",
    "slotpool_outbox_oldest_undelivered_age_seconds": "gauge",
    "slotpool_webhook_delivery_lag_seconds": "histogram",
    "slotpool_db_pool_connections_in_use": "gauge",
    "slotpool_http_requests": "counter",
    "slotpool_http_request_duration_seconds": "histogram",
}


async def failing(_: Runtime) -> None:
    raise RuntimeError("broken on purpose")


async def test_metrics_expose_every_family_after_a_short_flow(
    runtime: Runtime, client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    shipper = world.shipper
    await register(client, shipper, receiver.url("/hooks"))
    placed = await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=shipper.posting())
    assert placed.status_code == 201, placed.text
    refused = await client.post("/v1/holds", json=fcl_hold(world.sailing.id, 500), headers=shipper.posting())
    assert refused.status_code == 409
    confirmed = await client.post(
        f"/v1/holds/{placed.json()['id']}/confirm", json=confirmation(), headers=shipper.posting()
    )
    assert confirmed.status_code == 201, confirmed.text
    short = await client.post(
        "/v1/holds", json=fcl_hold(world.sailing.id, ttl_seconds=60), headers=shipper.posting()
    )
    assert short.status_code == 201
    runtime.clock.advance(90)

    jobs = {job.id: job for job in scheduled_jobs(runtime.settings)}
    broken = ScheduledJob(id="test-broken-metrics", every_seconds=1.0, run=failing)
    scheduler = JobScheduler(runtime, [*jobs.values(), broken])
    await scheduler._run_once(jobs["expire-holds"])  # the overdue hold: lag, batch
    await scheduler._run_once(jobs["sync-carriers"])  # the simulated carrier is called
    await scheduler._run_once(broken)
    await deliver_until(runtime, lambda: len(receiver.answered("/hooks")) >= 1)

    answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    families = {family.name: family for family in text_string_to_metric_families(answer.text)}
    missing = {name for name in FAMILIES if name not in families}
    assert not missing
    for name, kind in FAMILIES.items():
        assert families[name].type == kind, name

    def value(name: str, suffix: str = "", **labels: str) -> float:
        found = [
            sample.value
            for sample in families[name].samples
            if sample.name == name + suffix and labels.items() <= sample.labels.items()
        ]
        return sum(found)

    assert value("slotpool_holds_placed", "_total", load="FCL") >= 2
    assert value("slotpool_holds_refused", "_total", reason="insufficient-capacity") >= 1
    assert value("slotpool_booking_transitions", "_total", transition="confirmed") >= 1
    assert value("slotpool_hold_expiry_lag_seconds", "_count") >= 1
    assert value("slotpool_hold_expiry_lag_seconds", "_sum") >= 25  # 30 s overdue when swept
    assert value("slotpool_sweep_batch_holds", "_count") >= 1
    assert value("slotpool_job_runs", "_total", job="expire-holds") >= 1
    # One registry per test process: the counters add up over the database parameters.
    assert value("slotpool_job_failures", "_total", job="test-broken-metrics") >= 1
    assert value("slotpool_job_last_success_timestamp_seconds", job="sync-carriers") > 0
    assert value("slotpool_carrier_calls", "_total", carrier="TEST", operation="schedules", outcome="ok") >= 1
    assert value("slotpool_carrier_breaker_state", carrier="TEST") == 0  # closed
    backlog = {sample.labels["stage"] for sample in families["slotpool_outbox_backlog"].samples}
    assert backlog == {"unsequenced", "webhook_pending"}
    assert value("slotpool_webhook_delivery_lag_seconds", "_count") >= 1
    assert value("slotpool_http_requests", "_total", path="/v1/holds", method="POST") >= 3
    holds_paths = {sample.labels["path"] for sample in families["slotpool_http_requests"].samples}
    assert any(path.startswith("/v1/holds/{") for path in holds_paths), holds_paths  # by template


async def test_metrics_can_be_switched_off(database_url: str) -> None:
    from app.main import create_app

    async with runtime_on(database_url, metrics_enabled=False) as rt:
        transport = httpx.ASGITransport(app=create_app(runtime=rt))
        async with httpx.AsyncClient(transport=transport, base_url="http://slotpool.test") as off:
            assert (await off.get("/metrics")).status_code == 404


async def test_with_a_multiprocess_directory_any_worker_answers_for_all_of_them(
    runtime: Runtime, world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    directory = tmp_path / "prometheus"
    directory.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    async with live_server(runtime.settings.database_url, workers=2, log_dir=tmp_path) as url:
        limits = httpx.Limits(max_connections=20, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:
            placed = await asyncio.gather(
                *(
                    http.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.posting())
                    for _ in range(8)
                )
            )
            assert [answer.status_code for answer in placed] == [201] * 8
            # Each scrape is served by either worker; either answers for both.
            for _ in range(4):
                exposition = (await http.get("/metrics")).text
                placed_total = sum(
                    sample.value
                    for family in text_string_to_metric_families(exposition)
                    for sample in family.samples
                    if sample.name == "slotpool_holds_placed_total"
                )
                assert placed_total == 8
    # The values went to the directory's files (one per process that counted), not to memory;
    # which worker took which connection is the kernel's choice.
    assert list(directory.glob("counter_*.db"))
