"""Liveness and readiness."""

from __future__ import annotations

from litestar import Response, get
from sqlalchemy import literal, select

from app.api.problems import catalogue
from app.db import transaction
from app.runtime import Runtime


@get("/health", tags=["operations"], summary="The process is up")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@get("/ready", tags=["operations"], summary="The database answers")
async def ready(rt: Runtime) -> Response[dict[str, str]]:
    try:
        async with transaction(rt.engine, read_only=True) as conn:
            await conn.execute(select(literal(1)))
    except Exception as error:  # any failure means not ready; the reason is in the answer
        return Response({"status": "unavailable", "reason": type(error).__name__}, status_code=503)
    return Response({"status": "ready"})


@get("/problems", tags=["operations"], summary="Catalogue of problem types")
async def problems() -> dict[str, dict[str, object]]:
    """Every ``type`` an error answer may carry, with its title and status."""
    return catalogue()
