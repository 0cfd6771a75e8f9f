"""Demo inventory for the embedded default: simulated carriers on real lanes, synced once.

The seed registers the carriers only; their sailings, allotments and LCL pools come from the
carrier sync, exactly as a real carrier's would, so the demo exercises the sync path too. One
more sailing is the platform's own (voyage DEMO1E of SIMA, not in the carrier's schedules): its
LCL pools close at an LCL cut-off a few minutes after the seed, so ``make run`` shows a close,
its containers and house bills, and the carrier key printed at start reads the manifest.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import msgspec
from sqlalchemy import func, select

from app.accounts import service as accounts
from app.accounts.actor import OrgKind
from app.accounts.models import Organisation
from app.accounts.schemas import ApiKeyCreate, OrganisationCreate
from app.accounts.service import KeyCache
from app.carrier_adapters.cache import CarrierAdapters
from app.db import table_of, transaction
from app.domain.states import Load
from app.inventory import service as inventory
from app.inventory.models import Carrier, Sailing
from app.inventory.schemas import CarrierCreate, PoolCreate
from app.reservations import bookings, holds
from app.reservations.schemas import HoldConfirm, HoldCreate
from app.runtime import Runtime
from app.schemas import SizeType
from app.sync.notifications import link_carrier_account
from app.sync.schemas import CarrierAccountLink
from app.sync.service import sync_all
from carriers.base import OfferedAllocation, SailingOffer

# SCAC, name, simulated settings (carriers/README.md, "simulated").
DEMO_CARRIERS: list[tuple[str, str, dict[str, Any]]] = [
    ("SIMA", "Simulated Pacific Line", {"seed": 1, "lanes": ["CNSHA-USLAX"], "weekly_sailings": 2}),
    ("SIMB", "Simulated Europe Express", {"seed": 2, "lanes": ["CNNGB-NLRTM"]}),
    ("SIMC", "Simulated Adriatic Feeder", {"seed": 3, "lanes": ["TRIST-DEHAM"]}),
]


# The demo pool closes this long after the seed (its LCL cut-off).
DEMO_CLOSE_AFTER = timedelta(minutes=3)
DEMO_VOYAGE = "DEMO1E"
# (CBM, kg, cargo) of the LCL bookings on the demo sailing's dry pool: one of dangerous goods.
DEMO_DRY_CARGO: list[tuple[str, str, dict[str, Any]]] = [
    ("6", "1800", {"description": "Cotton garments", "hs_code": "620342"}),
    ("4.5", "2600", {"description": "Ceramic tiles", "hs_code": "690721"}),
    (
        "2",
        "900",
        {
            "description": "Water-based paint",
            "hs_code": "320910",
            "dangerous_goods": [
                {"un_number": "1263", "imo_class": "3", "proper_shipping_name": "PAINT", "packing_group": 3}
            ],
        },
    ),
]
# And one frozen shipment in the reefer pool.
DEMO_REEFER_CARGO = (
    "3",
    "1500",
    {"description": "Frozen shrimp", "hs_code": "030617", "reefer": {"set_point": "-18"}},
)


class DemoKeys(dict[str, str]):
    """Clear keys created by the seed, printed once, and lines that say what else it made."""

    notes: list[str]

    def __init__(self) -> None:
        super().__init__()
        self.notes = []


async def seed_demo(rt: Runtime, weeks: int = 6) -> DemoKeys | None:
    """Register the demo carriers, load their sailings with one sync and create demo keys,
    if the database has no carriers and no organisations yet."""
    async with transaction(rt.engine, read_only=True) as conn:
        count = (await conn.execute(select(func.count()).select_from(table_of(Carrier)))).scalar_one()
        orgs = (await conn.execute(select(func.count()).select_from(table_of(Organisation)))).scalar_one()
    if count or orgs:
        return None
    now = rt.clock.app_now()
    for scac, name, settings in DEMO_CARRIERS:
        if scac == DEMO_CARRIERS[0][0]:
            settings = {**settings, "extra_sailings": [demo_sailing(now)]}
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
    organisations = (
        ("Demo Operations", OrgKind.OPERATOR),
        ("Demo Exporter", OrgKind.SHIPPER),
        ("Simulated Pacific Line (carrier)", OrgKind.CARRIER),
    )
    for org_name, kind in organisations:
        org = await accounts.create_organisation(rt, OrganisationCreate(name=org_name, kind=kind))
        created = await accounts.create_api_key(rt, org.id, ApiKeyCreate(name="demo"))
        assert created.key is not None
        keys[kind.value] = created.key
        if kind is OrgKind.CARRIER:
            # Its key speaks for SIMA: the manifests of SIMA's sailings are its to read.
            await link_carrier_account(rt, DEMO_CARRIERS[0][0], CarrierAccountLink(organisation_id=org.id))
    keys.notes.append(await seed_demo_pool(rt, keys[OrgKind.SHIPPER.value]))
    return keys


def demo_sailing(now: datetime) -> dict[str, Any]:
    """SIMA's demo sailing, offered by the carrier beside its schedule (so the sync loads it, and
    bookings, releases and the manifest reach the carrier like any other): its LCL cut-off is
    ``DEMO_CLOSE_AFTER`` from now."""
    etd = now + timedelta(days=2)
    offer = SailingOffer(
        carrier_scac=DEMO_CARRIERS[0][0],
        service_code="DEMO",
        vessel_name="SLOTPOOL DEMO",
        voyage_number=DEMO_VOYAGE,
        port_of_loading="CNSHA",
        port_of_discharge="USLAX",
        etd=etd,
        eta=etd + timedelta(days=14),
        cut_offs={"LCO": now + DEMO_CLOSE_AFTER, "FCO": now + timedelta(days=1)},
        allocations=[
            OfferedAllocation(size_type="45G1", units=4, rate=Decimal("2100.00"), currency="USD"),
            OfferedAllocation(size_type="45R1", units=2, rate=Decimal("3900.00"), currency="USD"),
        ],
    )
    return cast(dict[str, Any], msgspec.to_builtins(offer))


async def seed_demo_pool(rt: Runtime, shipper_key: str) -> str:
    """Dry and reefer LCL pools on SIMA's demo sailing (loaded by the sync), closing at its LCL
    cut-off, with a few LCL bookings of the demo exporter; a line saying so."""
    async with transaction(rt.engine, read_only=True) as conn:
        query = select(table_of(Sailing)).where(table_of(Sailing).c.voyage_number == DEMO_VOYAGE)
        sailing = (await conn.execute(query)).one()
    lco = datetime.fromisoformat(sailing.cut_offs["LCO"])
    for size_type in (SizeType("45G1"), SizeType("45R1")):
        await inventory.add_pool(
            rt,
            sailing.id,
            PoolCreate(
                size_type=size_type,
                rate_per_revenue_tonne=Decimal("85.00"),
                minimum=Decimal("120.00"),
                currency="USD",
            ),
        )
    actor = await accounts.authenticate(rt, shipper_key, KeyCache())
    assert actor is not None
    shipments = [(SizeType("45G1"), *cargo) for cargo in DEMO_DRY_CARGO]
    shipments.append((SizeType("45R1"), *DEMO_REEFER_CARGO))
    for size_type, cbm, kg, cargo in shipments:
        request = HoldCreate(
            sailing_id=sailing.id, load=Load.LCL, size_type=size_type, cbm=Decimal(cbm), kg=Decimal(kg)
        )
        hold = await holds.place_hold(rt, actor, request)
        body = {
            "cargo": {"packages": 10, "gross_kg": kg, "cbm": cbm, **cargo},
            "parties": {"shipper": {"name": "Demo Exporter"}, "consignee": {"name": "Demo Importer Inc"}},
        }
        await bookings.confirm_hold(rt, actor, hold.id, msgspec.convert(body, HoldConfirm))
    return (
        f"Demo pool: sailing {sailing.id} (SIMA {DEMO_VOYAGE}) closes at {lco.isoformat(timespec='seconds')};"
        f" then GET /v1/admin/sailings/{sailing.id}/consolidation shows its containers."
    )
