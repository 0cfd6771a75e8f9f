"""Every error is RFC 9457 problem+json with a stable type; nothing malformed ever becomes a 500,
and a failed commit is never answered 2xx."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from app.db import table_of, transaction
from app.events.models import IdempotencyRecord, OutboxEvent
from app.inventory import service as inventory
from app.reservations import holds as hold_service
from app.reservations.invariants import check_invariants
from app.reservations.repository import holds
from app.runtime import Runtime
from tests.factories import World, fcl_hold

Client = httpx.AsyncClient
PROBLEM = "application/problem+json"
records = table_of(IdempotencyRecord)
events = table_of(OutboxEvent)


def problem_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem document of ``response``, checked for status, media type and RFC 9457 members."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail", "instance"} <= problem.keys()
    assert problem["status"] == status
    assert problem["type"].startswith("/problems/")
    return problem


def fields_named(problem: dict[str, Any]) -> set[str]:
    return {str(error["field"]) for error in problem.get("errors", [])}


async def count(runtime: Runtime, table: Any) -> int:
    async with transaction(runtime.engine, read_only=True) as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def free_units(client: Client, world: World) -> int:
    response = await client.get(f"/v1/sailings/{world.sailing.id}", headers=world.shipper.headers)
    return int(response.json()["fcl"][0]["units_free"])


def sailing_body(**changes: Any) -> dict[str, Any]:
    etd = datetime.now(UTC) + timedelta(days=10)
    body: dict[str, Any] = {
        "carrier_scac": "TEST",
        "service_code": "AE1",
        "vessel_name": "EVER TEST",
        "voyage_number": "E001",
        "port_of_loading": "NLRTM",
        "port_of_discharge": "SGSIN",
        "etd": etd.isoformat(),
        "eta": (etd + timedelta(days=20)).isoformat(),
    }
    body.update(changes)
    return body


# --- routing --------------------------------------------------------------------------------


async def test_an_unknown_route_is_a_404_problem(client: Client, world: World) -> None:
    for headers in ({}, world.shipper.headers):
        problem = problem_of(await client.get("/v1/voyages", headers=headers), 404)
        assert problem["type"] == "/problems/not-found"
        assert problem["instance"] == "/v1/voyages"


async def test_a_wrong_method_is_a_405_problem(client: Client, world: World) -> None:
    response = await client.put("/v1/holds", json={}, headers=world.shipper.posting())

    problem = problem_of(response, 405)
    assert problem["type"] == "/problems/method-not-allowed"


async def test_routing_errors_carry_the_request_id_too(client: Client, world: World) -> None:
    headers = {**world.shipper.headers, "X-Request-ID": "trace-route-1"}

    unknown = await client.get("/v1/voyages", headers=headers)
    wrong_method = await client.put("/v1/holds", json={}, headers=headers)

    for response in (unknown, wrong_method):
        assert response.json().get("request_id") == "trace-route-1"
        assert response.headers.get("x-request-id") == "trace-route-1"


async def test_an_unauthorised_answer_echoes_the_request_id(client: Client) -> None:
    response = await client.get("/v1/sailings", headers={"X-Request-ID": "trace-401"})

    assert problem_of(response, 401)["request_id"] == "trace-401"
    assert response.headers.get("x-request-id") == "trace-401"


# --- bodies that cannot be read --------------------------------------------------------------


async def test_a_malformed_json_body_is_a_4xx_problem(client: Client, world: World) -> None:
    headers = {**world.shipper.posting(), "Content-Type": "application/json"}

    response = await client.post("/v1/holds", content=b'{"sailing_id": ', headers=headers)

    problem = problem_of(response, 400)
    assert problem["type"] in {"/problems/bad-request", "/problems/malformed-request"}
    assert await free_units(client, world) == 10


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"units": "three"}, "units"),
        ({"units": -1}, "units"),
        ({"sailing_id": "not-a-uuid"}, "sailing_id"),
        ({"load": "BREAKBULK"}, "load"),
        ({"cbm": "-2", "load": "LCL", "units": None, "kg": "10"}, "cbm"),
    ],
)
async def test_a_field_of_the_wrong_type_is_a_problem_naming_it(
    client: Client, world: World, change: dict[str, Any], field: str
) -> None:
    body = {k: v for k, v in {**fcl_hold(world.sailing.id, 2), **change}.items() if v is not None}

    response = await client.post("/v1/holds", json=body, headers=world.shipper.posting())

    assert 400 <= response.status_code < 500, response.text
    problem = problem_of(response, response.status_code)
    assert field in problem["detail"] or any(field in name for name in fields_named(problem))
    assert await free_units(client, world) == 10


async def test_an_unknown_field_is_refused_and_named(client: Client, world: World) -> None:
    body = {**fcl_hold(world.sailing.id, 2), "discount": "50%"}

    response = await client.post("/v1/holds", json=body, headers=world.shipper.posting())

    problem = problem_of(response, 422)
    assert "discount" in problem["detail"]
    assert await free_units(client, world) == 10


async def test_an_unknown_field_deep_in_the_cargo_is_refused(client: Client, world: World) -> None:
    hold = await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.posting())
    body = {
        "cargo": {
            "description": "Toys",
            "hs_code": "950300",
            "packages": 1,
            "gross_kg": "10",
            "cbm": "1",
            "colour": "red",
        },
        "parties": {"shipper": {"name": "A"}, "consignee": {"name": "B"}},
    }

    response = await client.post(
        f"/v1/holds/{hold.json()['id']}/confirm", json=body, headers=world.shipper.posting()
    )

    problem = problem_of(response, 422)
    assert "colour" in problem["detail"]


async def test_a_bad_un_locode_is_refused_and_named(client: Client, world: World) -> None:
    created = await client.post(
        "/v1/admin/sailings", json=sailing_body(port_of_loading="rotterdam"), headers=world.operator.posting()
    )
    searched = await client.get("/v1/sailings", params={"origin": "cn-sha"}, headers=world.shipper.headers)

    assert "port_of_loading" in problem_of(created, 422)["detail"]
    assert fields_named(problem_of(searched, 422)) == {"origin"}


async def test_a_bad_size_type_on_an_allotment_is_refused_and_named(client: Client, world: World) -> None:
    for size_type in ("99X9", "42G"):
        response = await client.post(
            f"/v1/admin/sailings/{world.sailing.id}/allotments",
            json={"size_type": size_type, "units": 5, "rate": "900", "currency": "USD"},
            headers=world.operator.posting(),
        )

        problem = problem_of(response, 422)
        assert "size_type" in fields_named(problem) or "size_type" in problem["detail"]


# --- catalogue, schema, probes, request ids --------------------------------------------------


async def test_the_problem_catalogue_lists_every_type(client: Client) -> None:
    response = await client.get("/problems")

    assert response.status_code == 200
    catalogue = response.json()
    for slug, status in [
        ("insufficient-capacity", 409),
        ("hold-expired", 409),
        ("sailing-closed", 409),
        ("invalid-state", 409),
        ("not-found", 404),
        ("validation-error", 422),
        ("precondition-failed", 412),
        ("precondition-required", 428),
        ("idempotency-key-missing", 400),
        ("idempotency-key-reused", 422),
        ("idempotency-key-in-flight", 409),
        ("unauthorized", 401),
        ("forbidden", 403),
        ("internal-error", 500),
    ]:
        assert catalogue[f"/problems/{slug}"]["status"] == status, slug
        assert catalogue[f"/problems/{slug}"]["title"]


async def test_the_openapi_document_is_served_and_documents_holds(client: Client) -> None:
    response = await client.get("/schema/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    holds_path = next(p for p in paths if p.rstrip("/") == "/v1/holds")
    assert "post" in paths[holds_path]
    parameters = {p["name"] for p in paths[holds_path]["post"].get("parameters", [])}
    assert "Idempotency-Key" in parameters


async def test_health_and_ready_answer_without_a_key(client: Client) -> None:
    health = await client.get("/health")
    ready = await client.get("/ready")

    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


async def test_the_request_id_is_echoed_and_quoted_in_problems(client: Client, world: World) -> None:
    missing_hold = "/v1/holds/00000000-0000-0000-0000-000000000000"

    sent = await client.get(missing_hold, headers={**world.shipper.headers, "X-Request-ID": "trace-abc-123"})
    made = await client.get(missing_hold, headers=world.shipper.headers)
    fine = await client.get("/health", headers={"X-Request-ID": "trace-ok"})

    assert sent.headers["x-request-id"] == "trace-abc-123"
    assert problem_of(sent, 404)["request_id"] == "trace-abc-123"
    assert made.headers["x-request-id"]
    assert problem_of(made, 404)["request_id"] == made.headers["x-request-id"]
    assert fine.headers["x-request-id"] == "trace-ok"


async def test_every_problem_from_a_route_quotes_its_request_id(client: Client, world: World) -> None:
    answers = [
        (await client.post("/v1/admin/carriers", json={}, headers=world.shipper.posting()), 403),
        (await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.headers), 400),
        (await client.post("/v1/holds", json={"units": 1}, headers=world.shipper.posting()), 422),
    ]

    for response, status in answers:
        problem = problem_of(response, status)
        assert problem["request_id"] == response.headers["x-request-id"]


# --- failures inside the service ---------------------------------------------------------------


async def test_an_unexpected_exception_is_a_500_problem_and_frees_the_key(
    client: Client, world: World, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("secret internals: password=hunter2")

    headers = world.shipper.posting()
    body = fcl_hold(world.sailing.id, 2)
    with monkeypatch.context() as patched:
        patched.setattr(hold_service, "place_hold", broken)
        patched.setattr(inventory, "get_sailing", broken)
        failed_post = await client.post("/v1/holds", json=body, headers=headers)
        failed_get = await client.get(f"/v1/sailings/{world.sailing.id}", headers=world.shipper.headers)

    for response in (failed_post, failed_get):
        problem = problem_of(response, 500)
        assert problem["type"] == "/problems/internal-error"
        assert "hunter2" not in response.text
    retry = await client.post("/v1/holds", json=body, headers=headers)
    assert retry.status_code == 201, retry.text
    assert "idempotent-replayed" not in retry.headers


@contextmanager
def failing_hold_commit(runtime: Runtime, failure: str) -> Iterator[list[int]]:
    """Make the COMMIT of the next transaction that inserts a hold fail, once (on PostgreSQL
    the hold's statement, which commits by itself).

    ``driver``: the database aborts the transaction at COMMIT (as on a serialization failure or
    a lost connection) and the driver raises. ``unexpected``: something else raises at COMMIT.
    Yields a list that counts the commits that were made to fail.
    """
    engine = runtime.engine.sync_engine
    failed: list[int] = []

    def mark_hold_insert(conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        if "INSERT INTO HOLDS" in statement.upper():
            conn.info["inserts_hold"] = True

    # PostgreSQL's usual hold is one statement that commits by itself (autocommit): its commit
    # failing is that statement failing, nothing applied.
    def fail_statement(conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        autocommits = conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
        if not autocommits or "INSERT INTO HOLDS" not in statement.upper() or failed:
            return
        failed.append(1)
        if failure == "driver":
            raise OperationalError(
                statement, None, Exception("connection was closed in the middle of operation")
            )
        raise RuntimeError("commit failed")

    def fail_commit(conn: Connection) -> None:
        if not conn.info.pop("inserts_hold", False) or failed:
            return
        failed.append(1)
        if failure == "driver":
            # The server threw the transaction away: roll back for real, then report the error.
            conn.connection.dbapi_connection.rollback()  # type: ignore[union-attr]
            raise OperationalError("COMMIT", None, Exception("could not commit: connection lost"))
        raise RuntimeError("commit failed")

    def forget(conn: Connection) -> None:
        conn.info.pop("inserts_hold", None)

    listeners: list[tuple[str, Callable[..., Any]]] = [
        ("before_cursor_execute", fail_statement),
        ("after_cursor_execute", mark_hold_insert),
        ("commit", fail_commit),
        ("rollback", forget),
    ]
    for name, listener in listeners:
        event.listen(engine, name, listener)
    try:
        yield failed
    finally:
        for name, listener in listeners:
            event.remove(engine, name, listener)


@pytest.mark.parametrize(("failure", "status"), [("driver", 503), ("unexpected", 500)])
async def test_a_failed_commit_is_never_answered_2xx_and_leaves_nothing_behind(
    client: Client, world: World, runtime: Runtime, failure: str, status: int
) -> None:
    headers = world.shipper.posting()
    body = fcl_hold(world.sailing.id, 4)
    events_before = await count(runtime, events)

    with failing_hold_commit(runtime, failure) as failed:
        response = await client.post("/v1/holds", json=body, headers=headers)

    assert failed == [1]
    problem_of(response, status)
    assert await count(runtime, holds) == 0
    assert await count(runtime, records) == 0
    assert await count(runtime, events) == events_before
    assert await free_units(client, world) == 10
    assert await check_invariants(runtime) == []
    retry = await client.post("/v1/holds", json=body, headers=headers)
    assert retry.status_code == 201, retry.text
    assert "idempotent-replayed" not in retry.headers
    assert await free_units(client, world) == 6
