"""HTTP transport to a DCSA carrier: one httpx.AsyncClient, typed errors, nothing else.

Every call is bounded by `timeout` seconds with `asyncio.timeout` as well as httpx's own
timeouts, so a stalled transport (or an in-process ASGI app in tests) cannot hang a caller.
Failures map to `RetryableCarrierError` (timeouts, connection errors, 429, 5xx; with the
carrier's `Retry-After`) or `PermanentCarrierError` (other 4xx). A DCSA `ErrorResponse` body is
read into the error: its status text and message, and each error's property and message. The
`API-Version` header carries the major version only, as the DCSA API principles require.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import NamedTuple

import httpx
import msgspec

from carriers.base import ErrorDetail, PermanentCarrierError, RetryableCarrierError

API_VERSION_HEADER = "API-Version"


class DcsaDetailedError(msgspec.Struct, kw_only=True, rename="camel"):
    error_code_text: str | None = None
    error_code_message: str | None = None
    property: str | None = None
    json_path: str | None = None


class DcsaErrorResponse(msgspec.Struct, kw_only=True, rename="camel"):
    status_code: int | None = None
    status_code_text: str | None = None
    status_code_message: str | None = None
    errors: list[DcsaDetailedError] = []


class DcsaAnswer(NamedTuple):
    status: int
    body: bytes
    headers: httpx.Headers


class DcsaClient:
    def __init__(
        self,
        scac: str,
        *,
        base_url: str,
        auth: httpx.Auth | None = None,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.scac = scac
        self.timeout = timeout
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers={"Accept": "application/json"},
            auth=auth,
            timeout=timeout,
            transport=transport,
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: bytes | None = None,
        api_version: str,
    ) -> DcsaAnswer:
        """Send one request; return the 2xx answer or raise a CarrierError."""
        headers = {API_VERSION_HEADER: api_version.split(".")[0]}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            async with asyncio.timeout(self.timeout):
                response = await self._http.request(
                    method, path, params=params, content=body, headers=headers
                )
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise RetryableCarrierError(self.scac, f"{method} {path}: no answer in {self.timeout}s") from exc
        except httpx.TransportError as exc:
            raise RetryableCarrierError(self.scac, f"{method} {path}: {exc!r}") from exc
        status = response.status_code
        if status < 400:
            return DcsaAnswer(status, response.content, response.headers)
        message, errors = _explain(response)
        text = f"{method} {path}: HTTP {status} {message}".rstrip()
        if status == 429 or status >= 500:
            retry_after = _retry_after(response.headers.get("Retry-After"))
            raise RetryableCarrierError(
                self.scac, text, status=status, errors=errors, retry_after=retry_after
            )
        raise PermanentCarrierError(self.scac, text, status=status, errors=errors)

    async def aclose(self) -> None:
        await self._http.aclose()


def _explain(response: httpx.Response) -> tuple[str, list[ErrorDetail]]:
    """The reason and the per-property errors of a DCSA ErrorResponse, or the body's start."""
    try:
        answer = msgspec.json.decode(response.content, type=DcsaErrorResponse)
    except msgspec.DecodeError:
        return response.text[:300], []
    reason = ": ".join(p for p in (answer.status_code_text, answer.status_code_message) if p)
    errors = [
        ErrorDetail(
            property=e.property or e.json_path,
            message=": ".join(p for p in (e.error_code_text, e.error_code_message) if p),
        )
        for e in answer.errors
    ]
    listed = "; ".join(f"{e.property}: {e.message}" if e.property else e.message for e in errors)
    return " - ".join(p for p in (reason, listed) if p), errors


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delay in seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())
