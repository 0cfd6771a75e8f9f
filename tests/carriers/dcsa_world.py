"""The DCSA side of the test world: settings and an adapter wired to the fake carrier."""

from __future__ import annotations

import httpx
from carrier_world import NOW, frozen_now
from fake_dcsa import FakeDcsaState, create_fake_dcsa

from carriers.base import CarrierAdapter, SailingOffer, ScheduleQuery
from carriers.dcsa import build_dcsa
from carriers.simulated import SimulatedSettings, generate_sailings
from carriers.store import CarrierStore

LANE = ScheduleQuery(origin="CNSHA", destination="USLAX")

DCSA_SETTINGS = {
    "base_url": "http://fake-dcsa.test",
    "timeout": 2,
    "lanes": ["CNSHA-USLAX", "CNNGB-NLRTM"],
    "booking_agent": {
        "name": "Slotpool NVOCC Ltd",
        "address": "1 Quay Street",
        "city": "Rotterdam",
        "country_code": "NL",
        "email": "ops@slotpool.example",
    },
    "contact": {"name": "Slotpool Ops", "email": "ops@slotpool.example"},
    "service_contract_reference": "SC-SLOTPOOL-2025",
    "dg_emergency_contact": {"contact": "CHEMTREC", "phone": "+1 703 527 3887"},
    "allocation": {
        "22G1": {"units": 6, "rate": "1150", "currency": "USD"},
        "42G1": {"units": 10, "rate": "1900", "currency": "USD"},
    },
}


def fake_sailings(scac: str) -> list[SailingOffer]:
    settings = SimulatedSettings(seed=3, lanes=["CNSHA-USLAX", "CNNGB-NLRTM"], weeks=4)
    return list(generate_sailings(scac, settings, NOW).values())


def dcsa_adapter(
    state: FakeDcsaState, *, store: CarrierStore | None = None, **overrides: object
) -> CarrierAdapter:
    transport = httpx.ASGITransport(app=create_fake_dcsa(state))
    return build_dcsa(
        "DCSA", {**DCSA_SETTINGS, **overrides}, clock=frozen_now, transport=transport, store=store
    )
