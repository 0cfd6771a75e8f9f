"""CORS for browser checkouts: the origins of ``SLOTPOOL_CORS_ALLOW_ORIGINS`` are answered, a
preflight needs no API key, and the headers a checkout sends and reads are allowed and exposed;
with the setting empty no CORS header is sent at all."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from app.main import create_app
from tests.conftest import test_runtime as runtime_on
from tests.factories import build_world, fcl_hold

SHOP = "https://shop.example"


@asynccontextmanager
async def browser(database_url: str, origins: str) -> AsyncIterator[httpx.AsyncClient]:
    async with runtime_on(database_url, cors_allow_origins=origins) as rt:
        transport = httpx.ASGITransport(app=create_app(runtime=rt))
        async with httpx.AsyncClient(transport=transport, base_url="http://slotpool.test") as client:
            client.headers["Origin"] = SHOP
            yield client


def preflight(method: str, *headers: str) -> dict[str, str]:
    return {"Access-Control-Request-Method": method, "Access-Control-Request-Headers": ", ".join(headers)}


def listed(value: str) -> set[str]:
    return {item.strip().lower() for item in value.split(",")}


async def test_a_preflight_is_answered_without_an_api_key_for_an_allowed_origin(database_url: str) -> None:
    async with browser(database_url, f"{SHOP}, https://other.example") as client:
        answer = await client.options(
            "/v1/holds", headers=preflight("POST", "authorization", "idempotency-key", "content-type")
        )
        amend = await client.options(
            "/v1/bookings/SP-ABC123", headers=preflight("PATCH", "authorization", "if-match", "content-type")
        )

    for response in (answer, amend):
        assert response.status_code in (200, 204), response.text
        assert response.headers["access-control-allow-origin"] == SHOP
        allowed = listed(response.headers["access-control-allow-headers"])
        assert {"authorization", "idempotency-key", "if-match", "content-type", "x-request-id"} <= allowed
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert "PATCH" in amend.headers["access-control-allow-methods"]


async def test_answers_to_an_allowed_origin_expose_the_headers_a_checkout_reads(database_url: str) -> None:
    async with runtime_on(database_url) as rt:
        world = await build_world(rt)
    async with browser(database_url, SHOP) as client:
        placed = await client.post(
            "/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.posting("cors-1")
        )
        refused = await client.get("/v1/holds")

    assert placed.status_code == 201, placed.text
    assert placed.headers["access-control-allow-origin"] == SHOP
    exposed = listed(placed.headers["access-control-expose-headers"])
    assert {"etag", "location", "idempotent-replayed", "x-request-id"} <= exposed
    # An answer without a key is still readable by the page (it says what went wrong).
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == SHOP


async def test_an_origin_not_listed_gets_no_cors_answer(database_url: str) -> None:
    async with browser(database_url, SHOP) as client:
        answer = await client.options(
            "/v1/holds",
            headers={**preflight("POST", "authorization"), "Origin": "https://evil.example"},
        )
    assert "access-control-allow-origin" not in answer.headers


async def test_without_allowed_origins_no_cors_header_is_sent(database_url: str) -> None:
    async with browser(database_url, "") as client:
        answer = await client.options("/v1/holds", headers=preflight("POST", "authorization"))
        health = await client.get("/health")

    for response in (answer, health):
        assert not [name for name in response.headers if name.startswith("access-control-")]
