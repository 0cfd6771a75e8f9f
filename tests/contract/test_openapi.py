"""The OpenAPI document describes the API as it answers: it validates, every operation has an id,
its problem types and its security; public endpoints need no key; a client generated from it
(openapi-python-client) places and confirms a hold against a live server."""

from __future__ import annotations

import asyncio
import importlib
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from app.api.contract import declared_types
from app.api.problems import catalogue
from app.config import Settings
from app.main import create_app
from tests.conftest import test_runtime as runtime_on
from tests.factories import build_world
from tests.live_server import live_server

Client = httpx.AsyncClient
PROBLEM = "application/problem+json"
PUBLIC = {"/health", "/ready", "/health/jobs", "/metrics", "/problems", "/problems/{slug}"}


def document() -> dict[str, Any]:
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:", log_level="WARNING"))
    return dict(app.openapi_schema.to_schema())


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "responses" in operation
    ]


def test_the_document_validates() -> None:
    validate(document())


def test_every_operation_has_a_readable_unique_id() -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document())]

    assert len(ids) == len(set(ids))
    assert all(op_id[0].islower() and op_id.isalnum() for op_id in ids), ids
    assert {"placeHold", "confirmHold", "extendHold", "listHolds", "listBookings", "amendBooking"} <= set(ids)


def test_public_endpoints_need_no_key_and_every_other_one_does() -> None:
    doc = document()

    assert "security" not in doc  # nothing global: each operation says
    for _, path, operation in operations(doc):
        if path in PUBLIC:
            assert "security" not in operation, path
        else:
            assert operation["security"] == [{"apiKey": []}], path


def test_every_error_status_is_a_problem_document_listing_its_types() -> None:
    known = set(catalogue())
    for method, path, operation in operations(document()):
        statuses = {int(status) for status in operation["responses"]}
        if path not in PUBLIC:
            assert {401, 403, 422} <= statuses, (method, path)
        for status, response in operation["responses"].items():
            if int(status) < 400 or path in ("/ready", "/health/jobs"):
                continue
            schema = response["content"][PROBLEM]["schema"]
            types = schema["properties"]["type"]["enum"]
            assert types, (method, path, status)
            assert set(types) <= known, (method, path, set(types) - known)
            assert schema["properties"]["status"]["enum"] == [int(status)]


def test_idempotency_key_and_if_match_are_required_and_etag_documented() -> None:
    doc = document()
    for method, path, operation in operations(doc):
        headers = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}
        if method == "post" and not path.endswith("/notifications"):
            assert headers["Idempotency-Key"]["required"] is True, path
            assert headers["Idempotency-Key"]["schema"]["type"] == "string", path

    amend = doc["paths"]["/v1/bookings/{reference}"]["patch"]
    assert next(p for p in amend["parameters"] if p["name"] == "If-Match")["required"] is True
    for path, method in [("/v1/bookings/{reference}", "get"), ("/v1/holds/{hold_id}/confirm", "post")]:
        assert (
            "ETag" in doc["paths"][path][method]["responses"]["200" if method == "get" else "201"]["headers"]
        )


def test_states_loads_and_size_types_are_enums_and_dates_and_decimals_have_formats() -> None:
    schemas = document()["components"]["schemas"]

    assert set(schemas["HoldState"]["enum"]) == {"active", "confirmed", "released", "expired"}
    assert "rolled" in schemas["BookingState"]["enum"]
    assert set(schemas["Load"]["enum"]) == {"FCL", "LCL"}
    assert {"22G1", "42G1", "45R1", "L5G1"} <= set(schemas["SizeType"]["enum"])
    assert schemas["HoldView"]["properties"]["expires_at"]["format"] == "date-time"
    assert schemas["AllotmentCreate"]["properties"]["rate"]["format"] == "decimal"


def test_every_request_body_has_an_example_that_its_schema_accepts() -> None:
    import jsonschema

    doc = document()
    resolver_root = {"components": doc["components"]}
    for method, path, operation in operations(doc):
        if "requestBody" not in operation:
            continue
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        [example] = schema["examples"]
        checked = {**{k: v for k, v in schema.items() if k != "examples"}, **resolver_root}
        jsonschema.validate(example, checked, cls=jsonschema.Draft202012Validator)
        assert example, (method, path)


def test_every_route_declares_its_answers() -> None:
    """A route added without ``responses=answers(...)`` fails here (and in schemathesis)."""
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:", log_level="WARNING"))
    for route in app.routes:
        if route.path_format in PUBLIC or route.path_format.startswith("/schema"):
            continue
        for handler in getattr(route, "route_handlers", []):
            if not handler.include_in_schema:  # Litestar's own OPTIONS answers
                continue
            assert "/problems/unauthorized" in declared_types(handler.responses), route.path


async def test_each_problem_type_is_described_for_humans(client: Client) -> None:
    listed = (await client.get("/problems")).json()
    for uri, entry in listed.items():
        response = await client.get(uri)

        assert response.status_code == 200, uri
        assert response.json()["description"] == entry["description"]
        assert len(entry["description"]) > len(entry["title"]), uri
    unknown = await client.get("/problems/no-such-type")
    assert (unknown.status_code, unknown.headers["content-type"]) == (404, PROBLEM)


CLIENT_CONFIG = (
    "post_hooks: []\nproject_name_override: slotpool-client\npackage_name_override: slotpool_client\n"
)


def generate_client(openapi: dict[str, Any], into: Path) -> None:
    """openapi-python-client writes a package ``slotpool_client`` into ``into``."""
    (into / "openapi.json").write_text(json.dumps(openapi))
    (into / "config.yaml").write_text(CLIENT_CONFIG)
    generator = Path(sys.executable).with_name("openapi-python-client")
    subprocess.run(
        [str(generator), "generate", "--path", "openapi.json", "--config", "config.yaml",
         "--output-path", str(into / "slotpool_client"), "--meta", "none"],
        cwd=into, check=True, capture_output=True, timeout=120,
    )  # fmt: skip


@pytest.mark.slow
async def test_a_generated_client_places_and_confirms_a_hold_against_a_live_server(
    database_url: str, tmp_path: Path
) -> None:
    async with runtime_on(database_url) as rt:
        world = await build_world(rt)
    await asyncio.to_thread(generate_client, document(), tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        generated = importlib.import_module("slotpool_client")
        place = importlib.import_module("slotpool_client.api.holds.place_hold")
        confirm = importlib.import_module("slotpool_client.api.holds.confirm_hold")
        models = importlib.import_module("slotpool_client.models")
        async with live_server(database_url, workers=1, log_dir=tmp_path) as url:
            api = generated.AuthenticatedClient(base_url=url, token=world.shipper.key)
            hold = await place.asyncio_detailed(
                client=api,
                body=models.HoldCreate(
                    sailing_id=world.sailing.id,
                    load=models.Load.FCL,
                    size_type=models.SizeType("42G1"),
                    units=2,
                ),
                idempotency_key=str(uuid.uuid4()),
            )
            too_many = await place.asyncio_detailed(
                client=api,
                body=models.HoldCreate(
                    sailing_id=world.sailing.id,
                    load=models.Load.FCL,
                    size_type=models.SizeType("42G1"),
                    units=99,
                ),
                idempotency_key=str(uuid.uuid4()),
            )
            booked = await confirm.asyncio_detailed(
                hold_id=hold.parsed.id,
                client=api,
                body=models.HoldConfirm.from_dict(
                    {
                        "cargo": {
                            "description": "Toys",
                            "hs_code": "950300",
                            "packages": 5,
                            "gross_kg": "900",
                            "cbm": "4",
                        },
                        "parties": {
                            "shipper": {"name": "Exporter Ltd"},
                            "consignee": {"name": "Importer Inc"},
                        },
                    }
                ),
                idempotency_key=str(uuid.uuid4()),
            )
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("slotpool_client")]:
            del sys.modules[name]

    assert hold.status_code == 201
    assert isinstance(hold.parsed, models.HoldView)
    assert (hold.parsed.units, hold.parsed.state) == (2, models.HoldState.ACTIVE)
    assert too_many.status_code == 409
    assert too_many.parsed.type_ == "/problems/insufficient-capacity"
    assert booked.status_code == 201
    assert booked.parsed.reference.startswith("SP-")
    assert booked.headers["etag"] == '"v1"'
