"""Replicas running the manifest job at once store one version and send it once: the version
is stored under the manifest's row lock, and the sending under a lease. The control test takes
the lease's condition away and the carrier receives the manifest twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import true

from app.manifests import repository
from app.manifests.schemas import ManifestRound
from app.manifests.service import run_manifests
from app.runtime import Runtime
from carriers.base import Manifest, ManifestReceipt
from carriers.simulated import SimulatedCarrier, SimulatedSettings
from tests.conftest import test_runtime as runtime_on
from tests.manifests.manifest_world import cancel_directly, closed_sailing, events_of, manifest_versions
from tests.sync.sync_world import fast_registry

SETTINGS = SimulatedSettings(seed=1, lanes=["CNSHA-USLAX"], weeks=1)


class HeldCarrier(SimulatedCarrier):
    """Holds its first answer until the test lets it go; answers later calls at once."""

    def __init__(self) -> None:
        super().__init__("SLOW", SETTINGS)
        self.calls = 0
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def submit_manifest(self, manifest: Manifest) -> ManifestReceipt:
        self.calls += 1
        if self.calls == 1:
            self.entered.set()
            await self.release.wait()
        return ManifestReceipt(carrier_reference=f"R{self.calls}", accepted=True)


@asynccontextmanager
async def first_inside_the_call(
    runtime: Runtime, database_url: str, carrier: HeldCarrier
) -> AsyncIterator[tuple[asyncio.Task[ManifestRound], Callable[[], Awaitable[ManifestRound]]]]:
    """A first replica's manifest run, held inside its carrier call, and a second replica
    (its own engine) to run meanwhile."""
    async with runtime_on(database_url) as other:
        first, second = fast_registry(), fast_registry()
        first.install("SLOW", "simulated", {}, carrier)
        second.install("SLOW", "simulated", {}, carrier)
        sending = asyncio.create_task(run_manifests(runtime, first))
        await asyncio.wait_for(carrier.entered.wait(), 10)
        yield sending, lambda: run_manifests(other, second)


async def test_two_replicas_at_once_store_one_version_and_send_it_once(
    runtime: Runtime, database_url: str, client: httpx.AsyncClient
) -> None:
    world = await closed_sailing(runtime, client, scac="SLOW")
    carrier = HeldCarrier()
    carrier.release.set()
    async with runtime_on(database_url) as other:
        registries = [fast_registry(), fast_registry()]
        for registry in registries:
            registry.install("SLOW", "simulated", {}, carrier)
        await asyncio.gather(run_manifests(runtime, registries[0]), run_manifests(other, registries[1]))

    assert len(await manifest_versions(runtime, world.sailing_id)) == 1
    assert carrier.calls == 1
    assert len(await events_of(runtime, "manifest.submitted")) == 1


async def second_replica_while_first_sends(
    runtime: Runtime, database_url: str, client: httpx.AsyncClient
) -> int:
    """Carrier calls when a second replica runs while the first is inside the carrier call."""
    world = await closed_sailing(runtime, client, scac="SLOW")
    carrier = HeldCarrier()
    async with first_inside_the_call(runtime, database_url, carrier) as (sending, second):
        await second()
        carrier.release.set()
        await sending
    (version,) = await manifest_versions(runtime, world.sailing_id)
    assert version.delivery_state == "submitted"
    return carrier.calls


async def test_a_manifest_being_sent_is_not_sent_by_another_replica(
    runtime: Runtime, database_url: str, client: httpx.AsyncClient
) -> None:
    assert await second_replica_while_first_sends(runtime, database_url, client) == 1


async def test_control_without_the_lease_another_replica_sends_it_again(
    runtime: Runtime, database_url: str, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repository, "_lease_free", lambda _now: true())

    assert await second_replica_while_first_sends(runtime, database_url, client) == 2


async def test_a_change_while_a_version_is_being_sent_is_sent_after_it(
    runtime: Runtime, database_url: str, client: httpx.AsyncClient
) -> None:
    world = await closed_sailing(runtime, client, scac="SLOW")
    carrier = HeldCarrier()
    async with first_inside_the_call(runtime, database_url, carrier) as (sending, second):
        await cancel_directly(runtime, world.references[0])
        meanwhile = await second()
        carrier.release.set()
        sent_first = await sending
        after = await second()

    assert (meanwhile.versions_stored, meanwhile.submitted) == (1, 0)  # stored, not sent past v1
    assert sent_first.submitted + after.submitted == 2
    assert carrier.calls == 2
    first_version, second_version = await manifest_versions(runtime, world.sailing_id)
    assert (first_version.delivery_state, first_version.receipt_reference) == ("submitted", "R1")
    assert (second_version.delivery_state, second_version.receipt_reference) == ("submitted", "R2")
