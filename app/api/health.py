"""Liveness, readiness and the catalogue of problem types: public, no API key."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Response, get
from litestar.openapi import ResponseSpec
from litestar.params import Parameter

from app.api.contract import BAD_REQUEST, NOT_FOUND, VALIDATION, problem_responses
from app.api.problems import catalogue
from app.database_status import probe
from app.domain.errors import NotFound
from app.runtime import Runtime


class ProblemEntry(msgspec.Struct, kw_only=True):
    """One problem type: what it means and what a client should do about it."""

    title: str
    status: int
    description: str


class ProblemTypeView(ProblemEntry, kw_only=True):
    type: str


@get("/health", tags=["operations"], summary="The process is up", operation_id="health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@get(
    "/ready",
    tags=["operations"],
    summary="The database answers",
    operation_id="ready",
    responses={503: ResponseSpec(data_container=dict[str, str], description="The database does not answer")},
)
async def ready(rt: Runtime) -> Response[dict[str, str]]:
    # Logged once when the database goes away (and once when it is back), not per probe.
    if not await probe(rt.engine, rt.database):
        return Response({"status": "unavailable", "reason": rt.database.error_type}, status_code=503)
    return Response({"status": "ready"})


@get("/problems", tags=["operations"], summary="Catalogue of problem types", operation_id="listProblemTypes")
async def problems() -> dict[str, ProblemEntry]:
    """Every ``type`` an error answer may carry, with its title, status and description."""
    return {uri: msgspec.convert(entry, ProblemEntry) for uri, entry in catalogue().items()}


@get(
    "/problems/{slug:str}",
    tags=["operations"],
    summary="What one problem type means",
    operation_id="getProblemType",
    responses=problem_responses([BAD_REQUEST, NOT_FOUND, VALIDATION]),
)
async def problem(slug: Annotated[str, Parameter(max_length=100)]) -> ProblemTypeView:
    """The ``type`` of an error answer, resolved: its title, status and what to do about it."""
    entry = catalogue().get(f"/problems/{slug}")
    if entry is None:
        raise NotFound("problem type", slug)
    return msgspec.convert({**entry, "type": f"/problems/{slug}"}, ProblemTypeView)
