"""Demo inventory for the embedded default: a few carriers on real lanes, weekly sailings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app.accounts import service as accounts
from app.accounts.actor import OrgKind
from app.accounts.models import Organisation
from app.accounts.schemas import ApiKeyCreate, OrganisationCreate
from app.db import table_of, transaction
from app.inventory import service as inventory
from app.inventory.models import Sailing
from app.inventory.schemas import AllotmentCreate, CarrierCreate, PoolCreate, SailingCreate
from app.runtime import Runtime

DEMO_CARRIERS = [
    ("SIMA", "Simulated Pacific Line", "TPX", "CNSHA", "USLAX", 14, Decimal(2150)),
    ("SIMB", "Simulated Europe Express", "AEX", "CNNGB", "NLRTM", 30, Decimal(1850)),
    ("SIMC", "Simulated Adriatic Feeder", "ADF", "TRIST", "DEHAM", 9, Decimal(950)),
]
VESSELS = ["EVER DEMO", "MSC SAMPLE", "CMA PREVIEW", "ONE EXAMPLE", "HMM TRIAL", "YM PROTOTYPE"]


class DemoKeys(dict[str, str]):
    """Clear keys created by the seed, printed once."""


async def seed_demo(rt: Runtime, weeks: int = 6) -> DemoKeys | None:
    """Load demo carriers, sailings and organisations if the database has no sailings yet."""
    async with transaction(rt.engine, read_only=True) as conn:
        count = (await conn.execute(select(func.count()).select_from(table_of(Sailing)))).scalar_one()
        orgs = (await conn.execute(select(func.count()).select_from(table_of(Organisation)))).scalar_one()
    if count or orgs:
        return None
    start = datetime.now(UTC).replace(hour=18, minute=0, second=0, microsecond=0) + timedelta(days=4)
    for scac, name, service, origin, destination, days, rate in DEMO_CARRIERS:
        await inventory.create_carrier(rt, CarrierCreate(scac=scac, name=name, adapter_kind="simulated"))
        for week in range(weeks):
            etd = start + timedelta(days=7 * week + len(scac) % 3)
            sailing = await inventory.create_sailing(
                rt,
                SailingCreate(
                    carrier_scac=scac,
                    service_code=service,
                    vessel_name=VESSELS[(week + len(name)) % len(VESSELS)],
                    voyage_number=f"{week + 47:03d}{scac[-1]}",
                    port_of_loading=origin,
                    port_of_discharge=destination,
                    etd=etd,
                    eta=etd + timedelta(days=days),
                    cut_offs={
                        "DCO": etd - timedelta(days=3),
                        "LCO": etd - timedelta(days=4),
                        "FCO": etd - timedelta(days=2),
                        "VCO": etd - timedelta(days=2),
                    },
                    cut_off=etd - timedelta(days=3),
                ),
            )
            for size_type, units, factor in (
                ("22G1", 20, 1),
                ("42G1", 30, Decimal("1.6")),
                ("45G1", 10, Decimal("1.7")),
            ):
                await inventory.add_allotment(
                    rt,
                    sailing.id,
                    AllotmentCreate(size_type=size_type, units=units, rate=rate * factor, currency="USD"),
                )
            await inventory.add_pool(
                rt,
                sailing.id,
                PoolCreate(
                    size_type="22G1", rate_per_revenue_tonne=rate / 20, minimum=rate / 20, currency="USD"
                ),
            )
    keys = DemoKeys()
    for org_name, kind in (("Demo Operations", OrgKind.OPERATOR), ("Demo Exporter", OrgKind.SHIPPER)):
        org = await accounts.create_organisation(rt, OrganisationCreate(name=org_name, kind=kind))
        created = await accounts.create_api_key(rt, org.id, ApiKeyCreate(name="demo"))
        assert created.key is not None
        keys[kind.value] = created.key
    return keys
