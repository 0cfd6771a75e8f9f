"""Every error as RFC 9457 ``application/problem+json``, with a stable ``type`` per error."""

from __future__ import annotations

from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from app.domain.errors import DomainError

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = structlog.get_logger("slotpool.api")

# Stable slugs for errors raised by the framework, by HTTP status.
_HTTP_SLUGS = {
    400: ("bad-request", "Request is malformed"),
    401: ("unauthorized", "Missing or invalid API key"),
    403: ("forbidden", "This API key may not do that"),
    404: ("not-found", "Resource not found"),
    405: ("method-not-allowed", "Method not allowed on this resource"),
    406: ("not-acceptable", "Cannot answer in the requested media type"),
    413: ("payload-too-large", "Request body is too large"),
    415: ("unsupported-media-type", "Send application/json"),
    422: ("validation-error", "Request is invalid"),
    429: ("too-many-requests", "Too many requests"),
}


def problem_type(slug: str) -> str:
    return f"/problems/{slug}"


def problem_body(
    request: Request[Any, Any, Any],
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    extensions: dict[str, Any] | None = None,
) -> bytes:
    body: dict[str, Any] = {
        "type": problem_type(slug),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    request_id = request.scope.get("state", {}).get("request_id")
    if request_id:
        body["request_id"] = request_id
    if extensions:
        body.update(extensions)
    return msgspec.json.encode(body)


def problem_response(
    request: Request[Any, Any, Any], status: int, body: bytes, headers: dict[str, str] | None = None
) -> Response[bytes]:
    return Response(content=body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def domain_problem(request: Request[Any, Any, Any], error: DomainError) -> tuple[int, bytes]:
    """The status and body for a domain error; also what an idempotent request stores."""
    body = problem_body(
        request,
        status=error.status,
        slug=error.slug,
        title=error.title,
        detail=error.detail,
        extensions=msgspec.to_builtins(error.extensions),
    )
    return error.status, body


def on_domain_error(request: Request[Any, Any, Any], error: DomainError) -> Response[bytes]:
    status, body = domain_problem(request, error)
    return problem_response(request, status, body)


def on_validation_error(request: Request[Any, Any, Any], error: ValidationException) -> Response[bytes]:
    errors = [
        {"field": item.get("key"), "source": item.get("source"), "message": item.get("message")}
        for item in (error.extra if isinstance(error.extra, list) else [])
        if isinstance(item, dict)
    ]
    malformed = "malformed" in (error.detail or "").lower() or any(
        "malformed" in str(e["message"]).lower() for e in errors
    )
    status, slug = (400, "malformed-request") if malformed else (422, "validation-error")
    body = problem_body(
        request,
        status=status,
        slug=slug,
        title="Request is malformed" if malformed else "Request is invalid",
        detail="; ".join(f"{e['field']}: {e['message']}" for e in errors) or error.detail,
        extensions={"errors": errors},
    )
    return problem_response(request, status, body)


def on_http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[bytes]:
    status = error.status_code
    slug, title = _HTTP_SLUGS.get(status, ("http-error", "Request failed"))
    if status >= 500:
        slug, title = "internal-error", "Internal error"
    body = problem_body(request, status=status, slug=slug, title=title, detail=error.detail)
    return problem_response(request, status, body, headers=error.headers)


def on_database_error(request: Request[Any, Any, Any], error: DBAPIError) -> Response[bytes]:
    """A backstop fired or the database is overloaded: never a 2xx, never a bare 500 page."""
    if isinstance(error, IntegrityError):
        log.warning("db.integrity_error", error=str(error.orig))
        body = problem_body(
            request,
            status=409,
            slug="conflict",
            title="Conflicts with the current state",
            detail="the change conflicts with the current state; read it again and retry",
        )
        return problem_response(request, 409, body)
    if isinstance(error, OperationalError) or _is_retryable(error):
        log.warning("db.busy", error=str(error.orig))
        body = problem_body(
            request,
            status=503,
            slug="database-busy",
            title="Database is busy",
            detail="the database could not complete the request; retry shortly",
        )
        return problem_response(request, 503, body, headers={"Retry-After": "1"})
    return on_unexpected_error(request, error)


def _is_retryable(error: DBAPIError) -> bool:
    # asyncpg deadlock and serialization failures arrive wrapped; their SQLSTATE says so.
    code = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    return code in {"40001", "40P01", "55P03", "57014"}


def on_unexpected_error(request: Request[Any, Any, Any], error: Exception) -> Response[bytes]:
    log.exception("request.failed", error_type=type(error).__name__)
    body = problem_body(
        request,
        status=500,
        slug="internal-error",
        title="Internal error",
        detail="the request failed; nothing was changed. Quote request_id when reporting it",
    )
    return problem_response(request, 500, body)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: on_domain_error,
    ValidationException: on_validation_error,
    HTTPException: on_http_error,
    DBAPIError: on_database_error,
    Exception: on_unexpected_error,
}


def catalogue() -> dict[str, dict[str, object]]:
    """Every problem type this API may answer with, by ``type``."""
    entries: dict[str, dict[str, object]] = {}
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls is not DomainError:
            entries[problem_type(cls.slug)] = {"title": cls.title, "status": cls.status}
    for status, (slug, title) in _HTTP_SLUGS.items():
        entries.setdefault(problem_type(slug), {"title": title, "status": status})
    entries[problem_type("conflict")] = {"title": "Conflicts with the current state", "status": 409}
    entries[problem_type("database-busy")] = {"title": "Database is busy", "status": 503}
    entries[problem_type("internal-error")] = {"title": "Internal error", "status": 500}
    return dict(sorted(entries.items()))
