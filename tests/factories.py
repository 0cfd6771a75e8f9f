"""Small factories that build the world a test needs: organisations with keys, sailings."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from app.accounts import service as accounts
from app.accounts.actor import Actor, OrgKind, Scope
from app.accounts.schemas import ApiKeyCreate, OrganisationCreate
from app.accounts.service import KeyCache
from app.inventory import service as inventory
from app.inventory.schemas import AllotmentCreate, CarrierCreate, PoolCreate, SailingCreate, SailingView
from app.runtime import Runtime

_voyages = itertools.count(1)


@dataclass(frozen=True)
class Account:
    organisation_id: uuid.UUID
    key: str
    actor: Actor

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def posting(self, idempotency_key: str | None = None) -> dict[str, str]:
        """Headers for a POST, with a fresh Idempotency-Key unless one is given."""
        return {**self.headers, "Idempotency-Key": idempotency_key or uuid.uuid4().hex}


async def make_account(
    rt: Runtime,
    kind: OrgKind,
    *,
    name: str | None = None,
    marketplace_id: uuid.UUID | None = None,
    scopes: list[Scope] | None = None,
) -> Account:
    org = await accounts.create_organisation(
        rt,
        OrganisationCreate(
            name=name or f"{kind} {uuid.uuid4().hex[:6]}", kind=kind, marketplace_id=marketplace_id
        ),
    )
    created = await accounts.create_api_key(rt, org.id, ApiKeyCreate(name="test", scopes=scopes))
    assert created.key is not None
    actor = await accounts.authenticate(rt, created.key, KeyCache())
    assert actor is not None
    return Account(organisation_id=org.id, key=created.key, actor=actor)


async def make_sailing(
    rt: Runtime,
    *,
    scac: str = "TEST",
    units: int = 10,
    size_type: str = "42G1",
    rate: Decimal = Decimal("1500.00"),
    pool: bool = True,
    pool_usable_cbm: Decimal | None = None,
    pool_payload_kg: Decimal | None = None,
    cut_off_in: timedelta = timedelta(days=3),
    origin: str = "CNSHA",
    destination: str = "USLAX",
) -> SailingView:
    """A sailing with an allotment of ``units`` (and an LCL pool of the same size-type)."""
    carriers = {c.scac for c in await inventory.list_carriers(rt)}
    if scac not in carriers:
        await inventory.create_carrier(rt, CarrierCreate(scac=scac, name=f"Carrier {scac}"))
    now = datetime.now(UTC)
    etd = now + cut_off_in + timedelta(days=1)
    sailing = await inventory.create_sailing(
        rt,
        SailingCreate(
            carrier_scac=scac,
            service_code="TP1",
            vessel_name="TEST VESSEL",
            voyage_number=f"V{next(_voyages):05d}",
            port_of_loading=origin,
            port_of_discharge=destination,
            etd=etd,
            eta=etd + timedelta(days=14),
            cut_off=now + cut_off_in,
        ),
    )
    await inventory.add_allotment(
        rt, sailing.id, AllotmentCreate(size_type=size_type, units=units, rate=rate, currency="USD")
    )
    if pool:
        await inventory.add_pool(
            rt,
            sailing.id,
            PoolCreate(
                size_type=size_type,
                rate_per_revenue_tonne=Decimal("80.00"),
                minimum=Decimal("120.00"),
                currency="USD",
                usable_cbm=pool_usable_cbm,
                payload_kg=pool_payload_kg,
            ),
        )
    return await inventory.get_sailing(rt, sailing.id)


@dataclass(frozen=True)
class World:
    operator: Account
    shipper: Account
    other_shipper: Account
    marketplace: Account
    market_shipper: Account
    sailing: SailingView


async def build_world(rt: Runtime, **sailing: Any) -> World:
    marketplace = await make_account(rt, OrgKind.MARKETPLACE)
    return World(
        operator=await make_account(rt, OrgKind.OPERATOR),
        shipper=await make_account(rt, OrgKind.SHIPPER),
        other_shipper=await make_account(rt, OrgKind.SHIPPER),
        marketplace=marketplace,
        market_shipper=await make_account(rt, OrgKind.SHIPPER, marketplace_id=marketplace.organisation_id),
        sailing=await make_sailing(rt, **sailing),
    )


def fcl_hold(sailing_id: uuid.UUID, units: int = 1, size_type: str = "42G1", **extra: Any) -> dict[str, Any]:
    return {"sailing_id": str(sailing_id), "load": "FCL", "size_type": size_type, "units": units, **extra}


def lcl_hold(sailing_id: uuid.UUID, cbm: str, kg: str, **extra: Any) -> dict[str, Any]:
    return {"sailing_id": str(sailing_id), "load": "LCL", "cbm": cbm, "kg": kg, **extra}


def confirmation(cbm: str = "1", kg: str = "500", **cargo: Any) -> dict[str, Any]:
    return {
        "cargo": {
            "description": "Wooden furniture",
            "hs_code": "940360",
            "packages": 10,
            "gross_kg": kg,
            "cbm": cbm,
            **cargo,
        },
        "parties": {"shipper": {"name": "Exporter Ltd"}, "consignee": {"name": "Importer Inc"}},
    }
