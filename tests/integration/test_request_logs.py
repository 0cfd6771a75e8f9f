"""The log of a live server, read as an operator's log pipeline reads it: every line JSON
(uvicorn's included), one line per request with the request id, the caller's organisation and
API key ids (never the key), the route template, status and duration, and an ``audit`` line for
each change made through the API (who, what, which id)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx

from app.runtime import Runtime
from tests.conftest import TEST_SECRET_KEY
from tests.factories import World, confirmation, fcl_hold
from tests.live_server import live_server


def json_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of the log; one that is not JSON fails the test."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def one(lines: list[dict[str, Any]], **fields: object) -> dict[str, Any]:
    found = [line for line in lines if all(line.get(name) == value for name, value in fields.items())]
    assert len(found) == 1, (fields, found)
    return found[0]


async def test_request_and_audit_lines_name_the_caller_route_status_and_ids(
    runtime: Runtime, world: World, database_url: str, tmp_path: Path
) -> None:
    shipper, operator = world.shipper, world.operator
    async with (
        live_server(
            database_url, workers=1, log_dir=tmp_path, log_level="INFO", secret_keys=TEST_SECRET_KEY
        ) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as client,
    ):
        posting = {**shipper.posting(), "X-Request-ID": "checkout-42"}
        placed = await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=posting)
        assert placed.status_code == 201, placed.text
        hold_id = placed.json()["id"]
        replayed = await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=posting)
        assert replayed.headers["Idempotent-Replayed"] == "true"
        assert (await client.get(f"/v1/holds/{hold_id}", headers=shipper.headers)).status_code == 200
        confirmed = await client.post(
            f"/v1/holds/{hold_id}/confirm", json=confirmation(), headers=shipper.posting()
        )
        assert confirmed.status_code == 201, confirmed.text
        organisation = await client.post(
            "/v1/admin/organisations",
            json={"name": "Audited Forwarding", "kind": "shipper"},
            headers=operator.posting(),
        )
        assert organisation.status_code == 201, organisation.text
        assert (await client.get(f"/v1/holds/{hold_id}")).status_code == 401

    log = next(tmp_path.glob("slotpool-server-*.log"))
    text = log.read_text()
    lines = json_lines(log)
    for key in (shipper.key, operator.key):
        assert key not in text
    # uvicorn's own lines come through the same JSON renderer.
    assert any(line.get("logger") == "uvicorn.error" for line in lines)

    shipper_ids = {
        "organisation_id": str(shipper.organisation_id),
        "api_key_id": str(shipper.actor.api_key_id),
    }
    requests = [line for line in lines if line["event"] == "request"]
    read = one(requests, method="GET", route="/v1/holds/{hold_id}", status=200)
    assert {name: read[name] for name in shipper_ids} == shipper_ids
    assert read["path"] == f"/v1/holds/{hold_id}"
    assert isinstance(read["duration_ms"], float)
    assert len(read["request_id"]) == 32
    refused = one(requests, method="GET", route="/v1/holds/{hold_id}", status=401)
    assert refused["organisation_id"] is None
    assert refused["api_key_id"] is None
    created = [line for line in requests if line["request_id"] == "checkout-42"]
    assert [line["status"] for line in created] == [201, 201]

    audits = [line for line in lines if line["event"] == "audit"]
    assert [line["action"] for line in audits] == [
        "placeHold",
        "placeHold",
        "confirmHold",
        "createOrganisation",
    ], audits
    first, replay, confirm, admin = audits
    assert first == {
        **first,
        **shipper_ids,
        "request_id": "checkout-42",
        "route": "/v1/holds",
        "created_id": hold_id,
        "replayed": False,
        "logger": "slotpool.audit",
    }
    assert replay["replayed"] is True
    assert replay["created_id"] == hold_id
    assert confirm["hold_id"] == hold_id
    assert confirm["created_id"] == confirmed.json()["reference"]
    assert admin["organisation_id"] == str(operator.organisation_id)
    assert admin["created_id"] == organisation.json()["id"]
    uuid.UUID(admin["created_id"])
