"""structlog JSON logs: the service's own lines, uvicorn's, and one line per request with who
asked (organisation and API key ids, never the key), the route template, status and duration;
an ``audit`` line for every change made through the API (who, what, which id)."""

from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import msgspec
import structlog

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_ID_HEADER = b"x-request-id"
CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A 201 without a Location header names what it created in its body: kept for the audit line
# up to this size (created resources are small; a larger body is not read for it).
_AUDIT_BODY_LIMIT = 64 * 1024


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    """Route stdlib and structlog output through one JSON renderer on stdout."""
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's start, stop and error lines through the same JSON renderer (its log config
    # gave them handlers of their own, in plain text).
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # uvicorn's own access log would repeat our request line without the request id, the
    # caller or the route.
    logging.getLogger("uvicorn.access").handlers[:] = []
    logging.getLogger("uvicorn.access").propagate = False


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Take X-Request-ID from the client (if sane) or make one; echo it and bind it to logs.
    When the answer is sent, log the request line, and the audit line of a change."""
    log = structlog.get_logger("slotpool.http")
    audit_log = structlog.get_logger("slotpool.audit")

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        response = _Response()
        # Below INFO nothing of the request and audit lines is read or built (a busy service
        # run at WARNING pays nothing for them).
        lines = logging.getLogger("slotpool").isEnabledFor(logging.INFO)
        audited = lines and scope["method"] in CHANGING_METHODS

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                response.started(message, audited=audited)
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER, request_id.encode()))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                response.body(message)
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await app(scope, receive, send_with_id)
            finally:
                if lines:
                    # Routing and authentication wrote the route and the caller into the scope.
                    caller = _caller(scope)
                    route = scope.get("path_template")
                    log.info(
                        "request",
                        method=scope["method"],
                        path=scope["path"],
                        route=route,
                        # The caller's address; behind a trusted proxy, the one it forwarded.
                        client=(scope.get("client") or (None,))[0],
                        status=response.status,
                        duration_ms=round((time.perf_counter() - started) * 1000, 2),
                        **caller,
                    )
                    if response.audited and 200 <= response.status < 300 and route:
                        audit_log.info(
                            "audit",
                            action=_operation_id(scope),
                            method=scope["method"],
                            route=route,
                            **caller,
                            **_subject_ids(scope, response),
                            replayed=response.replayed,
                        )

    return middleware


class _Response:
    """What the request and audit lines need from an answer as it is sent."""

    __slots__ = ("audited", "chunks", "location", "replayed", "size", "status")

    def __init__(self) -> None:
        self.status = 500
        self.audited = False
        self.location: str | None = None
        self.replayed = False
        self.chunks: list[bytes] = []
        self.size = 0

    def started(self, message: Message, *, audited: bool) -> None:
        self.status = message["status"]
        self.audited = audited
        if not audited:
            return
        for name, value in message.get("headers", []):
            if name == b"location":
                self.location = bytes(value).decode("latin-1")
            elif name == b"idempotent-replayed":
                self.replayed = bytes(value).lower() == b"true"

    def body(self, message: Message) -> None:
        # Only a creation that does not say where its resource is needs its body read.
        if self.status != 201 or not self.audited or self.location is not None:
            return
        chunk = bytes(message.get("body", b""))
        self.size += len(chunk)
        if self.size <= _AUDIT_BODY_LIMIT:
            self.chunks.append(chunk)

    def created_id(self) -> str | None:
        """The id of what a 201 created: the end of its Location, or the body's id/reference."""
        if self.location is not None:
            return self.location.rstrip("/").rpartition("/")[2] or None
        if not self.chunks or self.size > _AUDIT_BODY_LIMIT:
            return None
        try:
            created = msgspec.json.decode(b"".join(self.chunks))
        except msgspec.DecodeError:
            return None
        if isinstance(created, dict):
            for key in ("id", "reference"):
                if isinstance(created.get(key), str):
                    return str(created[key])
        return None


def _caller(scope: Scope) -> dict[str, str | None]:
    """The organisation and API key ids of an authenticated request (the key itself never)."""
    actor = scope.get("user")
    organisation_id = getattr(actor, "organisation_id", None)
    api_key_id = getattr(actor, "api_key_id", None)
    return {
        "organisation_id": None if organisation_id is None else str(organisation_id),
        "api_key_id": None if api_key_id is None else str(api_key_id),
    }


def _operation_id(scope: Scope) -> str | None:
    operation_id = getattr(scope.get("route_handler"), "operation_id", None)
    return operation_id if isinstance(operation_id, str) else None


def _subject_ids(scope: Scope, response: _Response) -> dict[str, str]:
    """Which ids a change concerns: the route's path parameters and what it created."""
    ids = {name: str(value) for name, value in (scope.get("path_params") or {}).items()}
    if response.status == 201 and (created := response.created_id()) is not None:
        ids["created_id"] = created
    return ids


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER:
            candidate = bytes(value).decode("latin-1")
            if 0 < len(candidate) <= 128 and candidate.isascii() and candidate.isprintable():
                return candidate
    return None
