"""Sends one webhook request: transport only.

Contract: :func:`send` never raises for anything the receiver or the network does; it returns
an :class:`Outcome` (delivered for a 2xx answer, else the status or the error). The whole
attempt, resolution included, is bounded by ``timeout`` seconds; redirects are not followed (a
3xx is a failure); the host is resolved and checked (app/webhooks/addresses.py) and the request
sent to the checked address. No proxy from the environment is used: it would connect elsewhere.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

import httpcore
import msgspec

from app.webhooks import addresses

# Read at most this much of an answer: only its status matters.
MAX_ANSWER_BYTES = 64 * 1024
MAX_ERROR_LENGTH = 500


# What httpcore raises for a connection, a TLS handshake or an answer that went wrong.
TRANSPORT_ERRORS = (
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpcore.ConnectionNotAvailable,
)


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    status_code: int | None
    latency_ms: int
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.error is None


def client(concurrency: int) -> httpcore.AsyncConnectionPool:
    """Connections for one endpoint's requests. One pool per endpoint: connections are pooled by
    address, and a TLS connection made for one host name must never carry another's requests.
    httpcore (httpx's transport) directly: it never follows redirects nor reads proxies from
    the environment, and costs a third less per request than httpx's client on top of it."""
    return httpcore.AsyncConnectionPool(
        ssl_context=_tls(), max_connections=concurrency, max_keepalive_connections=concurrency, retries=0
    )


@functools.cache
def _tls() -> ssl.SSLContext:
    """The system's trust store, loaded once per process (tens of milliseconds each time)."""
    return ssl.create_default_context()


class Pinned(msgspec.Struct, frozen=True, kw_only=True):
    """Where the requests of one batch go: the address checked, with the name kept for ``Host``
    and TLS."""

    url: httpcore.URL
    host: str
    sni_hostname: str | None


async def pin(url: str, *, time_limit: float, allow_loopback: bool) -> Pinned | Outcome:
    """Resolve and check ``url`` now (app/webhooks/addresses.py); the failure every attempt of
    the batch records instead, when it is refused or its host does not resolve in time."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(time_limit):
            target = await addresses.vet(url, allow_loopback=allow_loopback)
    except TimeoutError:
        return _outcome(started, None, f"the host did not resolve within {time_limit:g} s")
    except addresses.UrlRefused as refused:
        return _outcome(started, None, f"refused: {refused}")
    default_port = 443 if target.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    address = target.addresses[0]
    parts = urlsplit(url)
    return Pinned(
        url=httpcore.URL(
            scheme=target.scheme,
            host=str(address),
            port=target.port,
            target=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        ),
        host=host if target.port == default_port else f"{host}:{target.port}",
        # TLS checks the certificate against the name, not the address connected to.
        sni_hostname=target.host if target.scheme == "https" and target.named else None,
    )


async def send(
    http: httpcore.AsyncConnectionPool,
    pinned: Pinned,
    body: bytes,
    headers: dict[str, str],
    *,
    time_limit: float,
) -> Outcome:
    """POST ``body`` to the pinned address, the whole exchange within ``time_limit``."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(time_limit):
            status = await _post(http, pinned, body, headers)
    except TimeoutError:
        return _outcome(started, None, f"no answer within {time_limit:g} s")
    except TRANSPORT_ERRORS as error:
        return _outcome(
            started, None, f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        )
    if 200 <= status < 300:
        return _outcome(started, status, None)
    if 300 <= status < 400:
        return _outcome(started, status, f"HTTP {status}: redirects are not followed")
    return _outcome(started, status, f"HTTP {status}")


def _outcome(started: float, status_code: int | None, error: str | None) -> Outcome:
    latency = round((time.monotonic() - started) * 1000)
    return Outcome(status_code=status_code, latency_ms=latency, error=error and error[:MAX_ERROR_LENGTH])


async def _post(
    http: httpcore.AsyncConnectionPool, pinned: Pinned, body: bytes, headers: dict[str, str]
) -> int:
    extensions: dict[str, Any] = {"sni_hostname": pinned.sni_hostname} if pinned.sni_hostname else {}
    request_headers = [("host", pinned.host), *headers.items(), ("content-length", str(len(body)))]
    async with http.stream(
        "POST", pinned.url, headers=request_headers, content=body, extensions=extensions
    ) as response:
        read = 0
        async for chunk in response.aiter_stream():
            read += len(chunk)
            if read > MAX_ANSWER_BYTES:
                break
        return response.status
