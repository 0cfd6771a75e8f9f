"""No 500 on bad input: every kind of bad input, sent to every route the OpenAPI document lists,
is a 4xx problem naming what is wrong, and nothing is written."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.accounts.actor import OrgKind
from app.db import transaction
from app.models import metadata
from app.runtime import Runtime
from app.sync.notifications import link_carrier_account
from app.sync.schemas import CarrierAccountLink
from tests.factories import Account, World, fcl_hold, make_account

Client = httpx.AsyncClient
PROBLEM = "application/problem+json"

# The kinds of bad body, each as (raw bytes, content type).
BAD_BODIES: dict[str, tuple[bytes, str]] = {
    "invalid UTF-8": (b'{"name": "\xff\xfe caf\xe9"}', "application/json"),
    "nested thousands deep": (b'{"name": ' + b"[" * 5000 + b"]" * 5000 + b"}", "application/json"),
    "NaN literal": (b'{"units": NaN}', "application/json"),
    "infinity literal": (b'{"units": Infinity}', "application/json"),
    "number out of range": (b'{"units": 1e400}', "application/json"),
    "NUL in a string": (b'{"name": "Cart\\u0000Co"}', "application/json"),
    "not JSON at all": (b"name=Cart+Co", "application/x-www-form-urlencoded"),
    "JSON sent as text": (b'{"name": "Cart Co"}', "text/plain"),
    "truncated JSON": (b'{"name": ', "application/json"),
}
# Query values no numeric, date, enum or cursor parameter takes.
BAD_QUERY_VALUES = [
    "NaN",
    "-Infinity",
    "1e400",
    "9" * 40,
    "bogus",
    "2026-01-01T00:00:00",
    "0001-01-01T00:00:00+14:00",
]


async def openapi(client: Client) -> dict[str, Any]:
    return dict((await client.get("/schema/openapi.json")).json())


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "patch", "delete", "put"}
    ]


def concrete(path: str) -> str:
    """A path with its parameters filled (ids that exist nowhere)."""
    for name, value in {
        "{hold_id}": str(uuid.uuid4()),
        "{sailing_id}": str(uuid.uuid4()),
        "{endpoint_id}": str(uuid.uuid4()),
        "{org_id}": str(uuid.uuid4()),
        "{key_id}": str(uuid.uuid4()),
        "{reference}": "SP-0000000000",
        "{scac}": "TEST",
        "{slug}": "not-found",
        "{manifest_id}": str(uuid.uuid4()),
        "{container_id}": str(uuid.uuid4()),
        "{number}": "1",
    }.items():
        path = path.replace(name, value)
    return path


def caller(world: World, path: str, carrier: Account) -> Account:
    """A key allowed to call ``path``, so that the answer is about the input, not the caller."""
    if path.startswith("/v1/admin"):
        return world.operator
    if path.startswith("/v1/shippers"):
        return world.marketplace
    if path.startswith(("/v1/carriers", "/v1/carrier/")):
        return carrier
    return world.shipper


async def row_counts(runtime: Runtime) -> dict[str, int]:
    async with transaction(runtime.engine, read_only=True) as conn:
        return {
            name: int((await conn.execute(select(func.count()).select_from(table))).scalar_one())
            for name, table in metadata.tables.items()
        }


@pytest.fixture
async def carrier(runtime: Runtime, world: World) -> Account:
    """A key of the carrier of the world's sailing, linked to it."""
    account = await make_account(runtime, OrgKind.CARRIER)
    await link_carrier_account(runtime, "TEST", CarrierAccountLink(organisation_id=account.organisation_id))
    return account


async def test_every_kind_of_bad_body_is_a_4xx_problem_on_every_route_and_writes_nothing(
    client: Client, world: World, runtime: Runtime, carrier: Account
) -> None:
    document = await openapi(client)
    before = await row_counts(runtime)
    answered: dict[str, int] = {}

    for method, path, operation in operations(document):
        # Bodies the API reads: its JSON bodies, and the carriers' notifications read raw.
        if "requestBody" not in operation and not path.endswith("/notifications"):
            continue
        account = caller(world, path, carrier)
        for kind, (body, content_type) in BAD_BODIES.items():
            headers = {**account.posting(), "Content-Type": content_type, "If-Match": '"v1"'}
            response = await client.request(method, concrete(path), content=body, headers=headers)

            where = f"{method.upper()} {path} with {kind}"
            assert response.status_code in {400, 404, 415, 422}, (
                f"{where}: {response.status_code} {response.text}"
            )
            assert response.headers["content-type"].startswith(PROBLEM), where
            assert response.json()["detail"], where
            answered[f"{method} {path}"] = response.status_code

    assert len(answered) >= 18  # every route that reads a body was tried
    assert await row_counts(runtime) == before


async def test_bad_query_values_are_refused_on_every_route_never_a_500(
    client: Client, world: World, runtime: Runtime, carrier: Account
) -> None:
    document = await openapi(client)
    tried = 0

    for method, path, operation in operations(document):
        if method != "get":
            continue
        account = caller(world, path, carrier)
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query":
                continue
            schema = parameter["schema"]
            typed = _typed(schema)
            for value in [*BAD_QUERY_VALUES, "a\x00b"]:
                response = await client.get(
                    concrete(path), params={parameter["name"]: value}, headers=account.headers
                )
                where = f"GET {path}?{parameter['name']}={value[:20]!r}"
                assert response.status_code < 500, f"{where}: {response.text}"
                if value == "a\x00b" or (typed and not _fits(schema, value)):
                    assert response.status_code == 422, f"{where}: {response.text}"
                    assert response.headers["content-type"].startswith(PROBLEM)
                tried += 1

    assert tried > 50


def _typed(schema: dict[str, Any]) -> bool:
    """A parameter that takes numbers, dates, enums or cursors, not any text."""
    options = schema.get("oneOf", [schema])
    return any(
        option.get("type") in {"integer", "number"}
        or option.get("format") in {"date-time", "uuid", "decimal"}
        or "$ref" in option
        or "enum" in option
        or "pattern" in option
        for option in options
    )


def _fits(schema: dict[str, Any], value: str) -> bool:
    """Whether a typed parameter takes ``value`` after all (a date far in the past is a date)."""
    for option in schema.get("oneOf", [schema]):
        if option.get("format") == "date-time":
            try:
                return datetime.fromisoformat(value).tzinfo is not None
            except ValueError:
                return False
        if "pattern" in option and option.get("format") != "decimal":
            return re.search(option["pattern"], value) is not None
    return False


async def test_unknown_filter_values_are_refused_rather_than_answered_with_an_empty_list(
    client: Client, world: World
) -> None:
    for path, params in [
        ("/v1/sailings", {"size_type": "40HC"}),
        ("/v1/bookings", {"state": "bogus"}),
        ("/v1/holds", {"state": "bogus"}),
        ("/v1/events", {"types": "hold.bogus"}),
    ]:
        response = await client.get(path, params=params, headers=world.shipper.headers)

        assert response.status_code == 422, (path, response.text)
        assert response.json()["type"] == "/problems/validation-error"


async def test_a_bad_query_value_is_named_as_the_client_sent_it(client: Client, world: World) -> None:
    """The state filters are handler arguments named otherwise (``hold_state``...): the problem
    names the query parameter the client wrote."""
    for path, account in [
        ("/v1/holds", world.shipper),
        ("/v1/bookings", world.shipper),
        ("/v1/admin/carrier-requests", world.operator),
    ]:
        response = await client.get(path, params={"state": "bogus"}, headers=account.headers)

        problem = response.json()
        assert response.status_code == 422, (path, response.text)
        assert [(e["field"], e["source"]) for e in problem["errors"]] == [("state", "query")], path
        assert problem["detail"].startswith("state: "), path


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"units": "2"}, "units"),
        ({"ttl_seconds": "600"}, "ttl_seconds"),
        ({"units": 2.0}, "units"),
        ({"units": True}, "units"),
    ],
)
async def test_a_string_or_float_where_an_integer_belongs_is_refused(
    client: Client, world: World, change: dict[str, Any], field: str
) -> None:
    response = await client.post(
        "/v1/holds", json={**fcl_hold(world.sailing.id), **change}, headers=world.shipper.posting()
    )

    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]


@pytest.mark.parametrize(
    ("rate", "why"),
    [
        ("1000000000000", "digits before the decimal point"),  # Numeric(14, 2) holds 12
        ("12.345", "decimal places"),
        ("1." + "0" * 60 + "1", "decimal places"),  # however many digits
        ("NaN", "finite"),
        ("-Infinity", "finite"),
        ("0", "> 0"),
    ],
)
async def test_prices_beyond_the_columns_range_or_places_are_refused(
    client: Client, world: World, runtime: Runtime, rate: str, why: str
) -> None:
    before = await row_counts(runtime)

    response = await client.post(
        f"/v1/admin/sailings/{world.sailing.id}/allotments",
        json={"size_type": "22G1", "units": 5, "rate": rate, "currency": "USD"},
        headers=world.operator.posting(),
    )

    assert response.status_code == 422, response.text
    assert why in response.json()["detail"]
    assert await row_counts(runtime) == before


async def test_the_schema_declares_the_decimal_limits_it_enforces(client: Client) -> None:
    schemas = (await openapi(client))["components"]["schemas"]

    rate = schemas["AllotmentCreate"]["properties"]["rate"]
    cbm = next(s for s in schemas["HoldCreate"]["properties"]["cbm"]["oneOf"] if s.get("type") == "string")

    assert (rate["format"], rate["pattern"]) == ("decimal", r"^[0-9]{1,12}(\.[0-9]{1,2})?$")
    assert (cbm["format"], cbm["pattern"]) == ("decimal", r"^[0-9]{1,6}(\.[0-9]{1,3})?$")


async def test_the_same_json_with_keys_in_another_order_is_the_same_request(
    client: Client, world: World
) -> None:
    ordered = (
        b'{"sailing_id": "%s", "load": "FCL", "size_type": "42G1", "units": 1}'
        % str(world.sailing.id).encode()
    )
    shuffled = (
        b'{ "units":1,"size_type":"42G1",\n "load":"FCL", "sailing_id":"%s"}' % str(world.sailing.id).encode()
    )
    headers = {**world.shipper.posting("same-hold"), "Content-Type": "application/json"}

    first = await client.post("/v1/holds", content=ordered, headers=headers)
    again = await client.post("/v1/holds", content=shuffled, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["id"] == first.json()["id"]


async def test_a_nul_in_a_path_is_refused_before_the_database_sees_it(client: Client, world: World) -> None:
    response = await client.get("/v1/bookings/SP-%00", headers=world.shipper.headers)

    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM)
