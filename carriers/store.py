"""What an adapter must remember beyond one process: kept across restarts, shared by replicas.

A carrier adapter lives in every replica of the service and is rebuilt at each restart, yet
some of what it does must be remembered once for all of them: units given back to a carrier
(DCSA has no API for it, a simulated carrier only pretends), a simulated carrier's own state,
the numbers of the EDIFACT interchanges a file carrier was sent. The app hands every adapter a
`CarrierStore` over its database; `MemoryCarrierStore` serves tests, benchmarks and a carrier
built on its own. `carriers/` defines the Protocol, so it never imports the app.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Protocol

import msgspec

from carriers.base import OfferedAllocation, SailingKey, UnitRelease


class ReleaseRecord(msgspec.Struct, kw_only=True, frozen=True):
    """Units of one sailing and size-type a carrier took back, once per ``release_id``."""

    release_id: str
    sailing: SailingKey
    size_type: str
    units_released: int
    released_at: datetime


class CarrierStore(Protocol):
    """Durable state of carrier adapters, keyed by SCAC. Every call is atomic on its own."""

    async def record_release(self, scac: str, record: ReleaseRecord) -> ReleaseRecord:
        """Keep ``record`` unless a release with its ``release_id`` is kept already; the kept
        one either way, so that a retried release answers what the first one did."""
        ...

    async def releases(self, scac: str, sailing: SailingKey | None = None) -> list[ReleaseRecord]:
        """Releases kept for carrier ``scac`` (of one sailing, if given), oldest first."""
        ...

    async def next_number(self, scac: str, counter: str) -> int:
        """1, 2, 3... for each (``scac``, ``counter``): never the same number twice, whichever
        replica asks."""
        ...

    async def last_number(self, scac: str, counter: str) -> int:
        """The last number ``next_number`` gave for (``scac``, ``counter``); 0 before any."""
        ...

    async def load(self, scac: str, key: str) -> bytes | None:
        """The document kept under ``key``, or None."""
        ...

    async def save(self, scac: str, key: str, value: bytes) -> None:
        """Keep ``value`` under ``key``, replacing what was there."""
        ...


class MemoryCarrierStore:
    """A `CarrierStore` in this process's memory: for tests, benchmarks and adapters built on
    their own. Forgotten at exit, unseen by other processes."""

    def __init__(self) -> None:
        self._releases: dict[tuple[str, str], ReleaseRecord] = {}
        self._counters: dict[tuple[str, str], int] = {}
        self._documents: dict[tuple[str, str], bytes] = {}
        self._lock = asyncio.Lock()

    async def record_release(self, scac: str, record: ReleaseRecord) -> ReleaseRecord:
        return self._releases.setdefault((scac, record.release_id), record)

    async def releases(self, scac: str, sailing: SailingKey | None = None) -> list[ReleaseRecord]:
        kept = [r for (owner, _), r in self._releases.items() if owner == scac]
        return [r for r in kept if sailing is None or r.sailing == sailing]

    async def next_number(self, scac: str, counter: str) -> int:
        async with self._lock:
            number = self._counters.get((scac, counter), 0) + 1
            self._counters[(scac, counter)] = number
            return number

    async def last_number(self, scac: str, counter: str) -> int:
        return self._counters.get((scac, counter), 0)

    async def load(self, scac: str, key: str) -> bytes | None:
        return self._documents.get((scac, key))

    async def save(self, scac: str, key: str, value: bytes) -> None:
        self._documents[(scac, key)] = value


def net_of_releases(
    allocations: Iterable[OfferedAllocation], releases: Iterable[ReleaseRecord]
) -> list[OfferedAllocation]:
    """Each allocation less the units released on its size-type after it was made (a release
    before an allocation's date is already counted in it); never below zero."""
    kept = list(releases)
    netted = []
    for allocation in allocations:
        released = sum(
            r.units_released
            for r in kept
            if r.size_type == allocation.size_type
            and (allocation.allocated_at is None or r.released_at > allocation.allocated_at)
        )
        netted.append(msgspec.structs.replace(allocation, units=max(0, allocation.units - released)))
    return netted


async def releases_by_sailing(store: CarrierStore, scac: str) -> dict[SailingKey, list[ReleaseRecord]]:
    """Every release kept for carrier ``scac``, by sailing (an empty list for any other)."""
    found: dict[SailingKey, list[ReleaseRecord]] = defaultdict(list)
    for record in await store.releases(scac):
        found[record.sailing].append(record)
    return found


async def release_once(
    store: CarrierStore,
    scac: str,
    release: UnitRelease,
    released_at: datetime,
    units_left: Callable[[list[ReleaseRecord]], Awaitable[int]],
) -> tuple[ReleaseRecord, bool]:
    """The release kept under ``release.release_id``, or one kept now of at most what the
    carrier still has (``units_left``, given the sailing's earlier releases); and whether it
    was kept now (the caller tells the carrier only then)."""
    kept = await store.releases(scac, release.sailing)
    done = next((r for r in kept if r.release_id == release.release_id), None)
    if done is not None:
        return done, False
    record = ReleaseRecord(
        release_id=release.release_id,
        sailing=release.sailing,
        size_type=release.size_type,
        units_released=max(0, min(await units_left(kept), release.units)),
        released_at=released_at,
    )
    stored = await store.record_release(scac, record)
    return stored, stored == record
