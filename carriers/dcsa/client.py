"""HTTP transport to a DCSA carrier: one httpx.AsyncClient, typed errors, nothing else.

Every call is bounded by `timeout` seconds with `asyncio.timeout` as well as httpx's own
timeouts, so a stalled transport (or an in-process ASGI app in tests) cannot hang a caller.
Failures map to `RetryableCarrierError` (timeouts, connection errors, 429, 5xx) or
`PermanentCarrierError` (other 4xx); the body of a 2xx answer is returned as bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import httpx

from carriers.base import PermanentCarrierError, RetryableCarrierError

API_VERSION_HEADER = "API-Version"


class DcsaClient:
    def __init__(
        self,
        scac: str,
        *,
        base_url: str,
        token: str | None = None,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.scac = scac
        self.timeout = timeout
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=timeout, transport=transport
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: bytes | None = None,
        api_version: str,
    ) -> tuple[int, bytes]:
        """Send one request; return (status, body) of a 2xx answer or raise a CarrierError."""
        headers = {API_VERSION_HEADER: api_version}
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
        if status == 429 or status >= 500:
            raise RetryableCarrierError(self.scac, f"{method} {path}: HTTP {status}")
        if status >= 400:
            detail = response.text[:300]
            raise PermanentCarrierError(self.scac, f"{method} {path}: HTTP {status} {detail}")
        return status, response.content

    async def aclose(self) -> None:
        await self._http.aclose()
