"""The bare baseline of ``bench/holds.py``: what a hold costs with nothing but the hold.

One Litestar endpoint, ``POST /v1/holds``, that runs the hold's two statements in one
transaction through an asyncpg pool: the conditional ``UPDATE`` of the allotment's counter
(``... WHERE free >= :units RETURNING``), then the ``INSERT`` of the hold. No authentication, no
Idempotency-Key record, no outbox event, no sailing status or cut-off check, no SQLAlchemy: the
floor the full stack is compared with. It accepts the full stack's FCL request body and answers
201 with the hold, or 409 when the space is gone.

Served by uvicorn like the app: ``uvicorn baseline_app:create_app --factory --app-dir bench``.
Environment: ``BASELINE_DATABASE_URL`` (a PostgreSQL DSN of a database migrated with the app's
migrations), ``BASELINE_ORGANISATION_ID`` (the shipper that owns the holds) and
``BASELINE_POOL_SIZE`` (default 8; bench/holds.py passes the app's ``db_pool_size``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any

import asyncpg  # type: ignore[import-untyped]
import msgspec
from litestar import Litestar, Request, Response, get, post

HOLD_TTL = timedelta(seconds=600)  # the app's default hold TTL

# The counter moves only if the space is there; the row lock it takes serialises the claims.
CLAIM = """
UPDATE allotments SET units_held = units_held + $3
 WHERE sailing_id = $1 AND size_type = $2
   AND units_total - units_held - units_booked - units_pooled >= $3
RETURNING id, rate, currency, now()
"""
INSERT_HOLD = """
INSERT INTO holds (id, organisation_id, placed_by_id, sailing_id, allotment_id, pool_id, load,
                   size_type, units, volume_dm3, weight_g, rate, minimum, price, currency, state,
                   created_at, expires_at, ended_at)
VALUES ($1, $2, NULL, $3, $4, NULL, 'FCL', $5, $6, 0, 0, $7, 0, $8, $9, 'active', $10, $11, NULL)
"""


class FclHoldRequest(msgspec.Struct, kw_only=True):
    sailing_id: uuid.UUID
    load: str
    size_type: str
    units: Annotated[int, msgspec.Meta(gt=0)]


def create_app() -> Litestar:
    """The baseline app; its pool opens with the server and closes with it."""
    dsn = os.environ["BASELINE_DATABASE_URL"]
    organisation_id = uuid.UUID(os.environ["BASELINE_ORGANISATION_ID"])
    pool_size = int(os.environ.get("BASELINE_POOL_SIZE", "8"))

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size) as pool:
            app.state.pool = pool
            yield

    @post("/v1/holds", status_code=201)
    async def place_hold(request: Request[Any, Any, Any], data: FclHoldRequest) -> Response[bytes]:
        pool: asyncpg.Pool = request.app.state.pool
        hold_id = uuid.uuid4()
        async with pool.acquire() as conn, conn.transaction():
            claimed = await conn.fetchrow(CLAIM, data.sailing_id, data.size_type, data.units)
            if claimed is None:
                problem = {"type": "insufficient-capacity", "status": 409, "title": "Not enough space"}
                return Response(
                    msgspec.json.encode(problem), status_code=409, media_type="application/problem+json"
                )
            allotment_id, rate, currency, now = claimed
            price: Decimal = rate * data.units
            expires_at = now + HOLD_TTL
            await conn.execute(
                INSERT_HOLD,
                hold_id,
                organisation_id,
                data.sailing_id,
                allotment_id,
                data.size_type,
                data.units,
                rate,
                price,
                currency,
                now,
                expires_at,
            )
        hold = {
            "id": hold_id,
            "sailing_id": data.sailing_id,
            "organisation_id": organisation_id,
            "load": "FCL",
            "size_type": data.size_type,
            "units": data.units,
            "price": {"amount": str(price), "currency": currency},
            "rate": {"amount": str(rate), "currency": currency},
            "state": "active",
            "created_at": now,
            "expires_at": expires_at,
        }
        return Response(
            msgspec.json.encode(hold),
            status_code=201,
            media_type="application/json",
            headers={"Location": f"/v1/holds/{hold_id}"},
        )

    @get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar(route_handlers=[place_hold, health], lifespan=[lifespan], debug=False)
