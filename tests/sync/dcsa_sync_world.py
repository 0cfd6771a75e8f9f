"""A DCSA carrier (the fake one, checked against the specs) registered like an operator would,
with the adapter the sync builds wired to it in-process."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import dcsa_spec
import httpx
import msgspec
from dcsa_world import DCSA_SETTINGS
from fake_dcsa import FakeDcsaState, create_fake_dcsa

from app.carrier_adapters.cache import CarrierAdapters
from app.runtime import Runtime
from carriers.base import OfferedAllocation, SailingOffer
from carriers.dcsa import build_dcsa
from tests.sync.sync_world import add_carrier, fast_registry

SCAC = "DCSA"


def six_sailings(scac: str = SCAC, *, first_in_days: int = 10) -> list[SailingOffer]:
    """Six weekly sailings CNSHA -> USLAX, the first ``first_in_days`` from now."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=first_in_days)
    sailings = []
    for n in range(6):
        etd = start + timedelta(days=7 * n)
        sailings.append(
            SailingOffer(
                carrier_scac=scac,
                service_code="TP7",
                vessel_name="CAPE ORIENT",
                vessel_imo="9321483",
                voyage_number=f"{60 + n}E",
                port_of_loading="CNSHA",
                port_of_discharge="USLAX",
                etd=etd,
                eta=etd + timedelta(days=15),
                cut_offs={"DCO": etd - timedelta(days=4), "FCO": etd - timedelta(days=2)},
                allocations=[
                    OfferedAllocation(size_type="42G1", units=10, rate=Decimal("1900"), currency="USD")
                ],
            )
        )
    return sailings


def with_settings(runtime: Runtime, **settings: Any) -> Runtime:
    """The runtime with other settings and a registry of its own that gives up quickly."""
    return dataclasses.replace(
        runtime, settings=msgspec.structs.replace(runtime.settings, **settings), carriers=fast_registry()
    )


async def dcsa_carrier(
    rt: Runtime, state: FakeDcsaState, registry: CarrierAdapters | None = None, **overrides: Any
) -> dict[str, Any]:
    """Register carrier DCSA (CNSHA-USLAX only) and make ``registry`` (the runtime's by default)
    reach the fake carrier; the settings stored in the carrier row are returned."""
    dcsa_spec.require_specs()
    settings = {**DCSA_SETTINGS, "lanes": ["CNSHA-USLAX"], **overrides}
    await add_carrier(rt, SCAC, "dcsa", **settings)
    connect(rt, state, registry or rt.carriers, settings)
    return settings


def connect(rt: Runtime, state: FakeDcsaState, registry: CarrierAdapters, settings: dict[str, Any]) -> None:
    """An adapter built as the registry would (the runtime's clock and database store), whose
    HTTP goes to the fake carrier."""
    transport = httpx.ASGITransport(app=create_fake_dcsa(state))
    adapter = build_dcsa(
        SCAC, settings, clock=rt.clock.app_now, transport=transport, store=registry.store(rt)
    )
    registry.install(SCAC, "dcsa", settings, adapter)
