"""OAuth 2.0 client credentials (RFC 6749 section 4.4) as an httpx auth flow.

The token is fetched on the first call, kept until ``leeway`` seconds before it expires, fetched
again after that, and once more when the API answers 401 with a token we believed valid (the
carrier revoked it). Concurrent calls share one fetch. Written here rather than taken from a
library: authlib's httpx client is moving to a fork of httpx, and httpx-auth fetches tokens with
a synchronous client, which would block the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Literal
from urllib.parse import quote_plus

import httpx
import msgspec

from carriers.base import PermanentCarrierError, RetryableCarrierError

ClientAuthMethod = Literal["basic", "post"]


class TokenAnswer(msgspec.Struct, kw_only=True):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 (the OAuth token type, not a secret)
    expires_in: float | None = None


class ClientCredentials(httpx.Auth):
    """Bearer tokens from ``token_url`` for ``client_id``; the client authenticates with HTTP
    Basic (``client_auth="basic"``, the RFC's recommendation) or in the form body (``"post"``)."""

    def __init__(
        self,
        scac: str,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str | None = None,
        audience: str | None = None,
        client_auth: ClientAuthMethod = "basic",
        leeway: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.scac = scac
        self._token_url = token_url
        self._client = (client_id, client_secret)
        self._form = {"grant_type": "client_credentials"}
        if scope:
            self._form["scope"] = scope
        if audience:
            self._form["audience"] = audience
        self._client_auth = client_auth
        self._leeway = leeway
        self._clock = clock
        self._token: str | None = None
        self._expires_at = float("inf")
        self._lock = asyncio.Lock()
        self.fetches = 0

    def _fresh(self) -> bool:
        return self._token is not None and self._clock() < self._expires_at - self._leeway

    def _token_request(self) -> httpx.Request:
        form = dict(self._form)
        auth: tuple[str, str] | None = self._client
        if self._client_auth == "post":
            form["client_id"], form["client_secret"] = self._client
            auth = None
        request = httpx.Request("POST", self._token_url, data=form, headers={"Accept": "application/json"})
        if auth is not None:
            request.headers["Authorization"] = _basic(*auth)
        return request

    def _keep(self, response: httpx.Response) -> None:
        status = response.status_code
        if status == 429 or status >= 500:
            raise RetryableCarrierError(self.scac, f"token endpoint: HTTP {status}", status=status)
        if status != 200:
            raise PermanentCarrierError(
                self.scac, f"token endpoint refused the client: HTTP {status} {response.text[:200]}",
                status=status,
            )  # fmt: skip
        try:
            answer = msgspec.json.decode(response.content, type=TokenAnswer)
        except msgspec.DecodeError as error:
            raise PermanentCarrierError(self.scac, f"token endpoint: {error}") from error
        if answer.token_type.lower() != "bearer":
            raise PermanentCarrierError(self.scac, f"token endpoint: token type {answer.token_type}")
        self.fetches += 1
        self._token = answer.access_token
        self._expires_at = self._clock() + answer.expires_in if answer.expires_in else float("inf")

    def _authorize(self, request: httpx.Request) -> httpx.Request:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if not self._fresh():
            async with self._lock:
                if not self._fresh():  # another call may have fetched it while we waited
                    answer = yield self._token_request()
                    await answer.aread()
                    self._keep(answer)
        used = self._token
        response = yield self._authorize(request)
        if response.status_code != 401:
            return
        async with self._lock:
            if self._token == used:  # revoked: unless another call replaced it already
                answer = yield self._token_request()
                await answer.aread()
                self._keep(answer)
        yield self._authorize(request)

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise NotImplementedError("carrier calls are asynchronous")


def _basic(client_id: str, client_secret: str) -> str:
    # RFC 6749 section 2.3.1: both are form-urlencoded before they are joined and encoded.
    pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()
    return "Basic " + base64.b64encode(pair).decode()
