"""Reading what a client sends, refusing with a problem what no field could take.

Litestar decodes a JSON body to plain values, then converts them to the handler's ``data`` type
leniently ("3" becomes 3). :class:`JsonRequest` decodes the body straight into that type,
strictly, first: a string where a number belongs is refused and named. It also refuses, before
anything is written, what would otherwise reach the database or the decoder and fail there: a
body that is not JSON (415), not UTF-8, nested deeper than any body of this API, a NUL character
in a string (PostgreSQL cannot store one); :class:`NulRefusal` does the same for the path and
the query string.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import msgspec
from litestar import Request
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException, ValidationException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils.empty import value_or_default

from app.domain.errors import DomainError

# JSON escapes a NUL as \u0000; a backslash before it that is itself escaped does not count.
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_MSGSPEC_PATH = re.compile(r" - at `\$\.?([^`]*)`$")
JSON_TYPES = re.compile(r"^application/(?:[\w.+-]+\+)?json$")


class MalformedBody(DomainError):
    slug = "malformed-request"
    title = "Request is malformed"
    status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)


class JsonRequest(Request[Any, Any, Any]):
    """A request whose JSON body is decoded strictly into the handler's ``data`` type."""

    async def json(self) -> Any:
        cached = value_or_default(self._connection_state.json, None)
        if cached is None:
            body = await self.body()
            data = self.route_handler.parsed_fn_signature.parameters.get("data")
            cached = self._connection_state.json = read_body(
                body, self.headers.get("content-type"), data.annotation if data is not None else Any
            )
        return cached


def read_body(body: bytes, content_type: str | None, into: Any) -> Any:
    """``body`` decoded into ``into``; raises a problem naming what is wrong with it."""
    media_type = (content_type or "").partition(";")[0].strip().lower()
    if body and not JSON_TYPES.match(media_type):
        raise HTTPException(status_code=415, detail=f"send the body as application/json, not {media_type!r}")
    if _NUL_ESCAPE.search(body):
        raise _invalid("body", "strings may not contain a NUL character (\\u0000)")
    try:
        return msgspec.json.decode(body or b"null", type=into, strict=True)
    except UnicodeDecodeError:
        raise MalformedBody("the body is not valid UTF-8") from None
    except RecursionError:
        raise MalformedBody("the body is nested too deep") from None
    except msgspec.ValidationError as error:
        message = str(error)
        found = _MSGSPEC_PATH.search(message)
        field = found.group(1) if found and found.group(1) else None
        raise _invalid(field or "body", _MSGSPEC_PATH.sub("", message)) from None
    except msgspec.DecodeError as error:
        raise MalformedBody(f"the body is not valid JSON: {error}") from None


def _invalid(field: str, message: str) -> ValidationException:
    return ValidationException(
        detail=f"{field}: {message}", extra=[{"key": field, "source": "body", "message": message}]
    )


def with_offsets(**moments: datetime | None) -> None:
    """Refuse query times without a UTC offset (Litestar parses query times leniently)."""
    naive = [name for name, value in moments.items() if value is not None and value.tzinfo is None]
    if naive:
        message = "needs a UTC offset, such as 2026-12-01T09:30:00Z"
        raise ValidationException(
            detail="; ".join(f"{name}: {message}" for name in naive),
            extra=[{"key": name, "source": "query", "message": message} for name in naive],
        )


class NulRefusal(ASGIMiddleware):
    """Refuses a path or query string that carries a NUL character, before any handler."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        query = scope.get("query_string", b"")
        if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
            raise ValidationException(
                detail="the path and the query may not contain a NUL character",
                extra=[{"key": "query", "source": "query", "message": "NUL character"}],
            )
        await next_app(scope, receive, send)
