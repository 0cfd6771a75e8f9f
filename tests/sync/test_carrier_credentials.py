"""Carrier credentials in a carrier's settings are stored sealed, never shown back, and opened
only to build the adapter that calls the carrier with them."""

from __future__ import annotations

from typing import Any

import httpx
from dcsa_world import DCSA_SETTINGS, LANE, dcsa_adapter
from fake_dcsa import FakeDcsaState
from sqlalchemy import select

from app.carrier_adapters.cache import CarrierAdapters
from app.carrier_adapters.credentials import open_settings, seal_settings
from app.db import transaction
from app.inventory.repository import carriers
from app.runtime import Runtime
from app.secrets import SecretBox, new_key
from carriers.dcsa import DcsaCarrier
from tests.factories import World

Client = httpx.AsyncClient
TOKEN = "carrier-bearer-token-0042"
CLIENT_SECRET = "oauth-client-secret-0042"


def carrier_body(scac: str, **auth: Any) -> dict[str, Any]:
    settings = {**DCSA_SETTINGS, **auth}
    return {"scac": scac, "name": f"{scac} Line", "adapter_kind": "dcsa", "adapter_settings": settings}


async def stored_settings(runtime: Runtime, scac: str) -> dict[str, Any]:
    async with transaction(runtime.engine, read_only=True) as conn:
        row = (await conn.execute(select(carriers.c.adapter_settings).where(carriers.c.scac == scac))).one()
    settings: dict[str, Any] = row.adapter_settings
    return settings


async def test_credentials_posted_by_an_operator_are_stored_sealed_and_never_shown(
    client: Client, world: World, runtime: Runtime
) -> None:
    oauth2 = {
        "token_url": "https://carrier.example/token",
        "client_id": "slotpool",
        "client_secret": CLIENT_SECRET,
    }
    for scac, auth in (("DCSB", {"token": TOKEN}), ("DCSO", {"oauth2": oauth2})):
        body = carrier_body(scac, **auth)
        created = await client.post("/v1/admin/carriers", json=body, headers=world.operator.posting())
        assert created.status_code == 201, created.text
        assert TOKEN not in created.text
        assert CLIENT_SECRET not in created.text

    listed = await client.get("/v1/admin/carriers", headers=world.operator.headers)
    bearer, client_credentials = (
        await stored_settings(runtime, "DCSB"),
        await stored_settings(runtime, "DCSO"),
    )

    assert TOKEN not in listed.text
    assert CLIENT_SECRET not in listed.text
    assert TOKEN not in str(bearer)
    assert CLIENT_SECRET not in str(client_credentials)
    assert runtime.secrets.open(bearer["token"]["sealed"]) == TOKEN
    assert runtime.secrets.open(client_credentials["oauth2"]["client_secret"]["sealed"]) == CLIENT_SECRET
    assert client_credentials["oauth2"]["client_id"] == "slotpool"  # not a secret: kept readable


async def test_the_adapter_is_built_with_the_opened_credential(
    client: Client, world: World, runtime: Runtime
) -> None:
    body = carrier_body("DCSB", token=TOKEN)
    assert (
        await client.post("/v1/admin/carriers", json=body, headers=world.operator.posting())
    ).status_code == 201
    registry = CarrierAdapters()

    handed_out = await registry.adapter_for(runtime, "DCSB", "dcsa", await stored_settings(runtime, "DCSB"))
    adapter = handed_out.wrapped  # type: ignore[attr-defined]  # the calls are measured around it

    assert isinstance(adapter, DcsaCarrier)
    assert adapter.settings.token == TOKEN
    await registry.aclose()


async def test_a_credential_the_keys_cannot_open_is_reported_as_bad_settings(runtime: Runtime) -> None:
    sealed = seal_settings(SecretBox([new_key()]), "dcsa", {**DCSA_SETTINGS, "token": TOKEN})
    registry = CarrierAdapters()

    rows = [type("Row", (), {"scac": "DCSB", "adapter_kind": "dcsa", "adapter_settings": sealed})()]
    adapters, refused = await registry.adapters_for_rows(runtime, rows)

    assert adapters == {}
    assert "token" in refused["DCSB"]


def test_sealing_twice_seals_once_and_other_kinds_are_left_alone() -> None:
    box = SecretBox([new_key()])
    once = seal_settings(box, "dcsa", {**DCSA_SETTINGS, "token": TOKEN})

    assert seal_settings(box, "dcsa", once) == once
    assert open_settings(box, "dcsa", once)["token"] == TOKEN
    assert seal_settings(box, "simulated", {"seed": 1, "token": "x"}) == {"seed": 1, "token": "x"}


async def test_a_sealed_token_reaches_the_carrier(runtime: Runtime) -> None:
    state = FakeDcsaState([])
    state.token = TOKEN
    settings = seal_settings(runtime.secrets, "dcsa", {**DCSA_SETTINGS, "token": TOKEN})
    opened = open_settings(runtime.secrets, "dcsa", settings)
    adapter = dcsa_adapter(state, token=opened["token"])
    assert (await adapter.schedules(LANE)).complete
    await adapter.aclose()
