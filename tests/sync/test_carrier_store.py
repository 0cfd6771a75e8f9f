"""What adapters must remember is kept in the database: every replica sees it, a restart keeps
it, and numbers handed out (EDIFACT control references) are never handed out twice."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from pathlib import Path

from carrier_world import manifest
from msgspec.structs import replace

from app.carrier_adapters.store import DatabaseCarrierStore
from app.runtime import Runtime
from carriers.base import SailingKey
from carriers.feed import build_feed
from carriers.store import ReleaseRecord
from tests.sync.sync_world import add_carrier

SAMPLES = Path(__file__).resolve().parents[2] / "carriers" / "samples"
KEY = SailingKey(
    carrier_scac="FEED", voyage_number="512E", port_of_loading="CNSHA", port_of_discharge="USLAX"
)
SAME_SECOND = datetime(2025, 3, 5, 8, 0, tzinfo=UTC)


def store(rt: Runtime) -> DatabaseCarrierStore:
    return DatabaseCarrierStore(rt.engine, rt.clock.app_now)


async def test_concurrent_numbers_are_all_different_and_without_gaps(runtime: Runtime) -> None:
    await add_carrier(runtime, "FEED")
    replicas = [store(runtime) for _ in range(4)]

    numbers = await asyncio.gather(*(replicas[n % 4].next_number("FEED", "interchange") for n in range(40)))

    assert sorted(numbers) == list(range(1, 41))
    assert await replicas[0].last_number("FEED", "interchange") == 40
    assert await replicas[0].last_number("FEED", "other") == 0


async def test_two_replicas_writing_manifests_in_the_same_second_use_different_control_references(
    runtime: Runtime, tmp_path: Path
) -> None:
    await add_carrier(runtime, "FEED")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(SAMPLES / "2025-03-04T0800-allocation.json", inbox)
    replicas = [
        build_feed(
            "FEED",
            {"inbox": str(inbox), "outbox": str(tmp_path / f"out{n}")},
            clock=lambda: SAME_SECOND,
            store=store(runtime),
        )
        for n in range(2)
    ]

    receipts = await asyncio.gather(*(carrier.submit_manifest(manifest(KEY)) for carrier in replicas))

    references = set()
    for carrier, receipt in zip(replicas, receipts, strict=True):
        text = (
            (carrier.outbox / "manifests" / f"{receipt.carrier_reference}.edi").read_bytes().decode("latin-1")
        )
        unb = next(line for line in text.splitlines() if line.startswith("UNB"))
        references.add(unb.rstrip("'").split("+")[5])
    assert references == {"000000001", "000000002"}


async def test_a_release_is_kept_once_and_seen_by_every_replica(runtime: Runtime) -> None:
    await add_carrier(runtime, "DCSA")
    first, second = store(runtime), store(runtime)
    record = ReleaseRecord(
        release_id="rel-1",
        sailing=replace(KEY, carrier_scac="DCSA"),
        size_type="42G1",
        units_released=4,
        released_at=SAME_SECOND,
    )

    kept = await asyncio.gather(first.record_release("DCSA", record), second.record_release("DCSA", record))
    retried = await second.record_release("DCSA", replace(record, units_released=9))

    assert kept == [record, record]
    assert retried == record  # the first one stands
    assert await second.releases("DCSA") == [record]
    assert await first.releases("DCSA", replace(KEY, carrier_scac="DCSA", voyage_number="X")) == []


async def test_documents_are_replaced_and_read_back(runtime: Runtime) -> None:
    await add_carrier(runtime, "SIMA")
    kept = store(runtime)

    assert await kept.load("SIMA", "booking:1") is None
    await kept.save("SIMA", "booking:1", b"requested")
    await kept.save("SIMA", "booking:1", b"accepted")

    assert await store(runtime).load("SIMA", "booking:1") == b"accepted"
