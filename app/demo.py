"""Demo inventory for the embedded default: simulated carriers on real lanes, synced once.

The seed registers the carriers only; their sailings, allotments and LCL pools come from the
carrier sync, exactly as a real carrier's would, so the demo exercises the sync path too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.accounts import service as accounts
from app.accounts.actor import OrgKind
from app.accounts.models import Organisation
from app.accounts.schemas import ApiKeyCreate, OrganisationCreate
from app.carrier_adapters.cache import CarrierAdapters
from app.db import table_of, transaction
from app.inventory import service as inventory
from app.inventory.models import Carrier
from app.inventory.schemas import CarrierCreate
from app.runtime import Runtime
from app.sync.service import sync_all

# SCAC, name, simulated settings (carriers/README.md, "simulated").
DEMO_CARRIERS: list[tuple[str, str, dict[str, Any]]] = [
    ("SIMA", "Simulated Pacific Line", {"seed": 1, "lanes": ["CNSHA-USLAX"], "weekly_sailings": 2}),
    ("SIMB", "Simulated Europe Express", {"seed": 2, "lanes": ["CNNGB-NLRTM"]}),
    ("SIMC", "Simulated Adriatic Feeder", {"seed": 3, "lanes": ["TRIST-DEHAM"]}),
]


class DemoKeys(dict[str, str]):
    """Clear keys created by the seed, printed once."""


async def seed_demo(rt: Runtime, weeks: int = 6) -> DemoKeys | None:
    """Register the demo carriers, load their sailings with one sync and create demo keys,
    if the database has no carriers and no organisations yet."""
    async with transaction(rt.engine, read_only=True) as conn:
        count = (await conn.execute(select(func.count()).select_from(table_of(Carrier)))).scalar_one()
        orgs = (await conn.execute(select(func.count()).select_from(table_of(Organisation)))).scalar_one()
    if count or orgs:
        return None
    for scac, name, settings in DEMO_CARRIERS:
        await inventory.create_carrier(
            rt,
            CarrierCreate(
                scac=scac, name=name, adapter_kind="simulated", adapter_settings={**settings, "weeks": weeks}
            ),
        )
    adapters = CarrierAdapters()
    try:
        await sync_all(rt, adapters)
    finally:
        await adapters.aclose()
    keys = DemoKeys()
    for org_name, kind in (("Demo Operations", OrgKind.OPERATOR), ("Demo Exporter", OrgKind.SHIPPER)):
        org = await accounts.create_organisation(rt, OrganisationCreate(name=org_name, kind=kind))
        created = await accounts.create_api_key(rt, org.id, ApiKeyCreate(name="demo"))
        assert created.key is not None
        keys[kind.value] = created.key
    return keys
