"""A sailing whose LCL pool has closed: live bookings placed through the API, then packed into
a container the way closing a pool records it (rows inserted directly: the packing itself is
another feature's)."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select, update

from app.accounts.actor import OrgKind
from app.db import table_of, transaction
from app.domain.house_bills import house_bill_number
from app.events.models import OutboxEvent
from app.inventory.models import ConsolidationContainer
from app.inventory.repository import pools
from app.manifests import repository as manifest_repository
from app.manifests.repository import VersionRow
from app.reservations.repository import bookings
from app.runtime import Runtime
from tests.factories import Account, confirmation, lcl_hold, make_account, make_sailing
from tests.sync.sync_world import fast_registry

containers = table_of(ConsolidationContainer)
events = table_of(OutboxEvent)
_sequences = iter(range(1, 1_000_000))

NOTIFY = {"name": "Harbour Notify Co", "contact_name": "Ana Ruiz", "email": "ana@notify.example"}
PAINT = [{"un_number": "1263", "imo_class": "3", "proper_shipping_name": "PAINT", "packing_group": 3}]


@dataclass(frozen=True)
class ClosedSailing:
    sailing_id: uuid.UUID
    container_id: uuid.UUID
    references: list[str]
    shipper: Account


def fast(rt: Runtime) -> Runtime:
    """The runtime with a carrier registry that never retries inside a call: every retry the
    tests see is the job's own."""
    return dataclasses.replace(rt, carriers=fast_registry())


async def closed_sailing(
    rt: Runtime,
    client: httpx.AsyncClient,
    *,
    scac: str,
    bookings_aboard: int = 3,
    shipper: Account | None = None,
) -> ClosedSailing:
    """A sailing of carrier ``scac`` with ``bookings_aboard`` LCL bookings (the second with a
    notify party and dangerous goods) packed into one sealed container of a closed pool."""
    shipper = shipper or await make_account(rt, OrgKind.SHIPPER)
    sailing = await make_sailing(rt, scac=scac)
    references = []
    for n in range(bookings_aboard):
        held = await client.post(
            "/v1/holds", json=lcl_hold(sailing.id, "2.5", "900"), headers=shipper.posting()
        )
        assert held.status_code == 201, held.text
        body = confirmation(cbm="2.5", kg="900", description=f"Ceramic tiles lot {n}")
        if n == 1:
            body["cargo"]["dangerous_goods"] = PAINT
            body["parties"]["notify"] = NOTIFY
        confirmed = await client.post(
            f"/v1/holds/{held.json()['id']}/confirm", json=body, headers=shipper.posting()
        )
        assert confirmed.status_code == 201, confirmed.text
        references.append(confirmed.json()["reference"])
    container_id = uuid.uuid4()
    now = datetime.now(UTC)
    async with transaction(rt.engine) as conn:
        pool = (await conn.execute(select(pools).where(pools.c.sailing_id == sailing.id))).one()
        await conn.execute(
            containers.insert().values(
                id=container_id,
                pool_id=pool.id,
                sailing_id=sailing.id,
                number=1,
                size_type=pool.size_type,
                volume_dm3=2500 * bookings_aboard,
                weight_g=900_000 * bookings_aboard,
                dangerous_goods_classes=["3"],
                set_point_c=None,
                non_operating_reefer=False,
                master_reference=f"SPM-{uuid.uuid4().hex[:10].upper()}",
                master_status="confirmed",
                master_carrier_booking_number=f"BN{next(_sequences):07d}",
                equipment_reference="MSKU1234565",
                seal_number="SL884201",
                created_at=now,
                updated_at=now,
            )
        )
        for reference in references:
            await conn.execute(
                update(bookings)
                .where(bookings.c.reference == reference)
                .values(
                    container_id=container_id,
                    house_bill_number=house_bill_number(next(_sequences), sailing.etd),
                )
            )
        await conn.execute(update(pools).where(pools.c.id == pool.id).values(closed_at=now))
    return ClosedSailing(
        sailing_id=sailing.id, container_id=container_id, references=references, shipper=shipper
    )


async def cancel_directly(rt: Runtime, reference: str) -> None:
    """The booking leaves the sailing (cancelled); counters are not this feature's concern."""
    async with transaction(rt.engine) as conn:
        await conn.execute(
            update(bookings).where(bookings.c.reference == reference).values(state="cancelled")
        )


async def manifest_versions(rt: Runtime, sailing_id: uuid.UUID) -> list[VersionRow]:
    """Every version of the sailing's manifest, oldest first."""
    async with transaction(rt.engine, read_only=True) as conn:
        manifest_id = (
            await conn.execute(
                select(manifest_repository.manifests.c.id).where(
                    manifest_repository.manifests.c.sailing_id == sailing_id
                )
            )
        ).scalar_one_or_none()
        if manifest_id is None:
            return []
        return list(reversed(await manifest_repository.versions_of(conn, manifest_id)))


async def events_of(rt: Runtime, kind: str) -> list[dict[str, Any]]:
    async with transaction(rt.engine, read_only=True) as conn:
        query = select(events.c.payload).where(events.c.type == kind).order_by(events.c.id)
        return [row.payload for row in await conn.execute(query)]
