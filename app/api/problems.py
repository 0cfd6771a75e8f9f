"""Every error as RFC 9457 ``application/problem+json``, with a stable ``type`` per error."""

from __future__ import annotations

from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError, StatementError

from app.domain.errors import DomainError

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = structlog.get_logger("slotpool.api")

# Stable slugs for errors raised by the framework, by HTTP status.
HTTP_SLUGS = {
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


def _sent_as(request: Request[Any, Any, Any], key: Any, source: Any) -> Any:
    """A query parameter by the name the client sent, not the handler argument's (``state``,
    not ``hold_state``)."""
    if source != "query" or not isinstance(key, str):
        return key
    handler = request.scope.get("route_handler")
    parameter = handler.parsed_fn_signature.parameters.get(key) if handler is not None else None
    alias = getattr(getattr(parameter, "kwarg_definition", None), "query", None)
    return alias or key


def on_domain_error(request: Request[Any, Any, Any], error: DomainError) -> Response[bytes]:
    status, body = domain_problem(request, error)
    return problem_response(request, status, body)


def on_validation_error(request: Request[Any, Any, Any], error: ValidationException) -> Response[bytes]:
    errors = [
        {
            "field": _sent_as(request, item.get("key"), item.get("source")),
            "source": item.get("source"),
            "message": item.get("message"),
        }
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
    slug, title = HTTP_SLUGS.get(status, ("http-error", "Request failed"))
    if status >= 500:
        slug, title = "internal-error", "Internal error"
    body = problem_body(request, status=status, slug=slug, title=title, detail=error.detail)
    return problem_response(request, status, body, headers=error.headers)


def on_database_error(request: Request[Any, Any, Any], error: StatementError) -> Response[bytes]:
    """A backstop fired or the database is overloaded: never a 2xx, never a bare 500 page."""
    if not isinstance(error, DBAPIError):
        # A value no column type could bind (a date past year 9999 in UTC...): never sent.
        if isinstance(error.orig, (OverflowError, ValueError)):
            return _out_of_range(request, error)
        return on_unexpected_error(request, error)
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
    if isinstance(error, DataError):
        # A value the schema let through but a column cannot take: the statement wrote nothing.
        return _out_of_range(request, error)
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


def _out_of_range(request: Request[Any, Any, Any], error: StatementError) -> Response[bytes]:
    log.warning("db.value_refused", error=str(error.orig))
    body = problem_body(
        request,
        status=422,
        slug="validation-error",
        title="Request is invalid",
        detail="a value is out of the range the service can store",
    )
    return problem_response(request, 422, body)


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
    StatementError: on_database_error,
    Exception: on_unexpected_error,
}


# What each type means and what to do about it, served by GET /problems/{type}.
DESCRIPTIONS: dict[str, str] = {
    "bad-request": "The request could not be read. Fix it before sending it again.",
    "malformed-request": "The body is not valid JSON, not UTF-8, nested too deep, or holds a value "
    "(NaN, an infinity, a NUL character) no field can take. Fix the body before sending it again.",
    "conflict": "The change conflicts with the current state of the resource (a duplicate, or a "
    "concurrent change). Read the resource again, then decide.",
    "database-busy": "The database could not complete the request in time; nothing was changed. "
    "Retry after the Retry-After delay with the same Idempotency-Key.",
    "forbidden": "The API key is valid but may not do this: its scopes or its organisation's kind "
    "do not allow it.",
    "hold-expired": "The hold passed its expiry (or was expired by the platform): its space went back "
    "on sale. Place a new hold.",
    "hold-not-extendable": "The hold already expires at its limit: its maximum lifetime "
    "(SLOTPOOL_HOLD_MAX_LIFETIME_SECONDS after it was placed) or the sailing's cut-off (``limit`` "
    "says which). Confirm it before then, or place a new hold.",
    "idempotency-key-in-flight": "A request with this Idempotency-Key is still being processed. "
    "Retry later with the same key: you will get its answer.",
    "idempotency-key-invalid": "The Idempotency-Key must be 1 to 255 printable ASCII characters.",
    "idempotency-key-missing": "Every POST that changes something needs an Idempotency-Key header "
    "(a fresh UUID per intended change, reused on retries).",
    "idempotency-key-reused": "This Idempotency-Key was used with another request (another path or "
    "body). Use a fresh key for a new request.",
    "insufficient-capacity": "The sailing has less free space than asked: ``wanted`` and ``free`` "
    "say how much. Ask for less, or pick another sailing.",
    "internal-error": "The request failed on our side and nothing was changed. Quote request_id "
    "when reporting it.",
    "invalid-signature": "The carrier notification's signature is missing or does not match the "
    "body under the shared secret.",
    "invalid-state": "The resource's state does not allow this (``state`` says which it is in): "
    "a released or confirmed hold, a cancelled booking, a revoked key...",
    "malformed-notification": "The body is not a DCSA booking notification in a CloudEvents "
    "envelope; ``errors`` lists what is wrong.",
    "method-not-allowed": "This path does not answer this HTTP method.",
    "not-acceptable": "The API answers JSON (problem+json for errors); a consolidated manifest "
    "also as application/edifact and text/csv. Ask with Accept for one of the types the answer lists "
    "in `available`.",
    "not-found": "No such resource, or it is not yours: organisations see only their own.",
    "not-this-carrier": "The API key's organisation is not linked to this carrier.",
    "on-behalf-of-required": "A marketplace holds space for its shippers: name one in on_behalf_of "
    "(register it first with POST /v1/shippers).",
    "payload-too-large": "The body exceeds the size this API accepts.",
    "pool-closed": "The sailing's LCL pool closed at its LCL cut-off and its bookings were packed "
    "into containers: no new LCL hold or amendment is taken on it. Cancelling stays possible until "
    "the sailing's cut-off. Pick another sailing.",
    "precondition-failed": "The booking changed since you read it: read it again and send its new "
    "ETag in If-Match.",
    "precondition-required": "Amending a booking needs its ETag, as last read, in If-Match.",
    "sailing-closed": "The sailing is past its cut-off, closed, departed or cancelled: no new space "
    "or change is sold on it.",
    "signing-secret-unreadable": "The secret this carrier signs its notifications with is stored "
    "sealed under a key the service no longer has (SLOTPOOL_SECRET_KEYS). Nothing was recorded: "
    "send the notification again later; an operator restores the key or links the carrier again.",
    "too-many-requests": "Slow down and retry after the Retry-After delay.",
    "unauthorized": "Send a valid API key as 'Authorization: Bearer <key>'; this one is missing, "
    "unknown or revoked.",
    "unsupported-media-type": "Send the body as application/json (with a charset of utf-8 if any).",
    "validation-error": "A field, query parameter or header is invalid; ``errors`` names each one and why.",
}


def catalogue() -> dict[str, dict[str, object]]:
    """Every problem type this API may answer with, by ``type``: title, status, description."""
    entries: dict[str, dict[str, object]] = {}
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls is not DomainError:
            entries[problem_type(cls.slug)] = {"title": cls.title, "status": cls.status}
    for status, (slug, title) in HTTP_SLUGS.items():
        entries.setdefault(problem_type(slug), {"title": title, "status": status})
    entries[problem_type("malformed-request")] = {"title": "Request is malformed", "status": 400}
    entries[problem_type("conflict")] = {"title": "Conflicts with the current state", "status": 409}
    entries[problem_type("database-busy")] = {"title": "Database is busy", "status": 503}
    entries[problem_type("internal-error")] = {"title": "Internal error", "status": 500}
    for uri, entry in entries.items():
        entry["description"] = DESCRIPTIONS.get(uri.removeprefix("/problems/"), str(entry["title"]))
    return dict(sorted(entries.items()))
