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

import httpx
import msgspec

from app.webhooks import addresses

# Read at most this much of an answer: only its status matters.
MAX_ANSWER_BYTES = 64 * 1024
MAX_ERROR_LENGTH = 500


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    status_code: int | None
    latency_ms: int
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.error is None


def client(concurrency: int, time_limit: float) -> httpx.AsyncClient:
    """A client for one endpoint's requests. One per endpoint: connections are pooled by
    address, and a TLS connection made for one host name must never carry another's requests."""
    return httpx.AsyncClient(
        verify=_tls(),
        follow_redirects=False,
        trust_env=False,
        # Per operation; :func:`send` bounds the attempt as a whole.
        timeout=httpx.Timeout(time_limit),
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
    )


@functools.cache
def _tls() -> ssl.SSLContext:
    """The system's trust store, loaded once per process (tens of milliseconds each time)."""
    return ssl.create_default_context()


async def send(
    http: httpx.AsyncClient,
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    time_limit: float,
    allow_loopback: bool,
) -> Outcome:
    started = time.monotonic()

    def outcome(status_code: int | None, error: str | None) -> Outcome:
        latency = round((time.monotonic() - started) * 1000)
        return Outcome(status_code=status_code, latency_ms=latency, error=error and error[:MAX_ERROR_LENGTH])

    try:
        async with asyncio.timeout(time_limit):
            target = await addresses.vet(url, allow_loopback=allow_loopback)
            status = await _post(http, target, body, headers)
    except TimeoutError:
        return outcome(None, f"no answer within {time_limit:g} s")
    except addresses.UrlRefused as refused:
        return outcome(None, f"refused: {refused}")
    except httpx.HTTPError as error:
        return outcome(None, f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)
    if 200 <= status < 300:
        return outcome(status, None)
    if 300 <= status < 400:
        return outcome(status, f"HTTP {status}: redirects are not followed")
    return outcome(status, f"HTTP {status}")


async def _post(
    http: httpx.AsyncClient, target: addresses.Target, body: bytes, headers: dict[str, str]
) -> int:
    url = httpx.URL(target.url)
    address = target.addresses[0]
    default_port = 443 if target.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    request = http.build_request(
        "POST",
        url.copy_with(host=str(address)),
        content=body,
        headers={**headers, "host": host if target.port == default_port else f"{host}:{target.port}"},
        # TLS checks the certificate against the name, not the address connected to.
        extensions={"sni_hostname": target.host} if target.scheme == "https" and target.named else {},
    )
    response = await http.send(request, stream=True)
    try:
        read = 0
        async for chunk in response.aiter_raw():
            read += len(chunk)
            if read > MAX_ANSWER_BYTES:
                break
    finally:
        await response.aclose()
    return response.status_code
