"""The database as carrier adapters' `CarrierStore` (carriers/store.py): what they must remember
is kept where every replica sees it and a restart keeps it.

Each call is one short transaction of its own: adapters call the store between carrier calls,
never inside one of the app's transactions.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.carrier_adapters import repository
from app.carrier_adapters.repository import AnyRow
from app.db import transaction
from carriers.base import SailingKey
from carriers.store import ReleaseRecord


class UnknownCarrier(ValueError):
    """An adapter asked for a carrier that has no row (removed, or never registered)."""


class DatabaseCarrierStore:
    """A `CarrierStore` over the app's database, keyed by the carrier rows' SCACs."""

    def __init__(self, engine: AsyncEngine, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._clock = clock
        self._ids: dict[str, uuid.UUID] = {}

    async def _carrier(self, conn: AsyncConnection, scac: str) -> uuid.UUID:
        carrier_id = self._ids.get(scac)
        if carrier_id is None:
            carrier_id = await repository.carrier_id_of(conn, scac)
            if carrier_id is None:
                raise UnknownCarrier(scac)
            self._ids[scac] = carrier_id
        return carrier_id

    async def record_release(self, scac: str, record: ReleaseRecord) -> ReleaseRecord:
        async with transaction(self._engine) as conn:
            row = await repository.keep_carrier_release(
                conn,
                {
                    "carrier_id": await self._carrier(conn, scac),
                    "release_id": record.release_id,
                    "voyage_number": record.sailing.voyage_number,
                    "port_of_loading": record.sailing.port_of_loading,
                    "port_of_discharge": record.sailing.port_of_discharge,
                    "size_type": record.size_type,
                    "units_released": record.units_released,
                    "released_at": record.released_at,
                },
            )
        return _record(scac, row)

    async def releases(self, scac: str, sailing: SailingKey | None = None) -> list[ReleaseRecord]:
        key = (
            None
            if sailing is None
            else (sailing.voyage_number, sailing.port_of_loading, sailing.port_of_discharge)
        )
        async with transaction(self._engine, read_only=True) as conn:
            rows = await repository.carrier_releases_of(conn, await self._carrier(conn, scac), key)
        return [_record(scac, row) for row in rows]

    async def next_number(self, scac: str, counter: str) -> int:
        async with transaction(self._engine) as conn:
            return await repository.next_counter(conn, await self._carrier(conn, scac), counter)

    async def last_number(self, scac: str, counter: str) -> int:
        async with transaction(self._engine, read_only=True) as conn:
            return await repository.counter_value(conn, await self._carrier(conn, scac), counter)

    async def load(self, scac: str, key: str) -> bytes | None:
        async with transaction(self._engine, read_only=True) as conn:
            return await repository.load_document(conn, await self._carrier(conn, scac), key)

    async def save(self, scac: str, key: str, value: bytes) -> None:
        async with transaction(self._engine) as conn:
            await repository.save_document(conn, await self._carrier(conn, scac), key, value, self._clock())


def _record(scac: str, row: AnyRow) -> ReleaseRecord:
    return ReleaseRecord(
        release_id=row.release_id,
        sailing=SailingKey(
            carrier_scac=scac,
            voyage_number=row.voyage_number,
            port_of_loading=row.port_of_loading,
            port_of_discharge=row.port_of_discharge,
        ),
        size_type=row.size_type,
        units_released=row.units_released,
        released_at=row.released_at,
    )
