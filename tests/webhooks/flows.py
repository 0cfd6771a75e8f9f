"""Steps shared by the webhook tests: register an endpoint, run deliveries until something holds."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from app.runtime import Runtime
from app.webhooks import delivery
from tests.factories import Account


async def register(client: httpx.AsyncClient, account: Account, url: str, **fields: Any) -> dict[str, Any]:
    """Register an endpoint over the API; the answer, with its secret."""
    response = await client.post(
        "/v1/webhook-endpoints", json={"url": url, **fields}, headers=account.posting()
    )
    assert response.status_code == 201, response.text
    endpoint: dict[str, Any] = response.json()
    return endpoint


async def attempts_at(
    client: httpx.AsyncClient, account: Account, endpoint: dict[str, Any], limit: int = 200
) -> list[dict[str, Any]]:
    """The attempts listed for an endpoint, newest first."""
    response = await client.get(
        f"/v1/webhook-endpoints/{endpoint['id']}/attempts?limit={limit}", headers=account.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def deliver_until(
    rt: Runtime,
    done: Callable[[], bool | Awaitable[bool]],
    *,
    advance: float = 0.0,
    timeout: float = 30.0,
) -> None:
    """Run delivery rounds until ``done()``; between rounds move the database clock on by
    ``advance`` seconds (so that retries come due) and fail after ``timeout`` real seconds."""
    deadline = time.monotonic() + timeout
    while True:
        await delivery.run(rt)
        outcome = done()
        if not isinstance(outcome, bool):
            outcome = await outcome
        if outcome:
            return
        if time.monotonic() > deadline:
            raise AssertionError("deliveries did not reach the expected state in time")
        rt.clock.advance(advance)
