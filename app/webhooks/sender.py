"""Sends webhook requests: transport only.

Contract: :meth:`Sender.pin` resolves and checks an endpoint's URL (app/webhooks/addresses.py)
before each batch of attempts, and the batch's requests connect only to the addresses it
checked (the name stays in ``Host`` and TLS, where the certificate is verified against it).
:meth:`Sender.send` never raises for anything the receiver or the network does; it returns an
:class:`Outcome` (delivered for a 2xx answer, else the status or the error), the whole exchange
bounded by ``time_limit`` seconds. Redirects are not followed (a 3xx is a failure). No proxy
from the environment is used: it would connect elsewhere.

aiohttp, not the httpx used for carriers: this is the one place the service sends hundreds of
requests a second, and it costs a seventh of the CPU per request (bench/README.md, "Webhooks").
"""

from __future__ import annotations

import asyncio
import functools
import socket
import ssl
import time
from types import TracebackType

import aiohttp
import msgspec
from aiohttp.abc import AbstractResolver, ResolveResult

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


class _Pinned(AbstractResolver):
    """Resolves only the name just checked, to the addresses it was checked at."""

    def __init__(self) -> None:
        self.target: addresses.Target | None = None

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        target = self.target
        if target is None or host.rstrip(".").lower() != target.host:
            raise OSError(f"{host} was not checked")
        return [
            ResolveResult(
                hostname=host,
                host=str(address),
                port=port,
                family=socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in target.addresses
        ]

    async def close(self) -> None:
        self.target = None


class Sender:
    """Connections for one endpoint's requests, at most ``concurrency`` of them. One per
    endpoint: a connection made for one host name must never carry another's requests."""

    def __init__(self, concurrency: int, *, time_limit: float, allow_loopback: bool) -> None:
        self.time_limit = time_limit
        self.allow_loopback = allow_loopback
        self._resolver = _Pinned()
        connector = aiohttp.TCPConnector(
            limit=concurrency, ssl=_tls(), resolver=self._resolver, use_dns_cache=False
        )
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=time_limit), trust_env=False
        )

    async def __aenter__(self) -> Sender:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self._session.close()

    async def pin(self, url: str) -> Outcome | None:
        """Resolve and check ``url`` now, for the requests that follow; the failure every
        attempt of the batch records instead, when it is refused or does not resolve in time."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.time_limit):
                self._resolver.target = await addresses.vet(url, allow_loopback=self.allow_loopback)
        except TimeoutError:
            return _outcome(started, None, f"the host did not resolve within {self.time_limit:g} s")
        except addresses.UrlRefused as refused:
            return _outcome(started, None, f"refused: {refused}")
        return None

    async def send(self, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
        """POST ``body`` to ``url`` (pinned), the whole exchange within the time limit."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.time_limit):
                status = await self._post(url, body, headers)
        except TimeoutError:
            return _outcome(started, None, f"no answer within {self.time_limit:g} s")
        except aiohttp.ClientError as error:
            return _outcome(started, None, f"{type(error).__name__}: {error}")
        if 200 <= status < 300:
            return _outcome(started, status, None)
        if 300 <= status < 400:
            return _outcome(started, status, f"HTTP {status}: redirects are not followed")
        return _outcome(started, status, f"HTTP {status}")

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        async with self._session.post(url, data=body, headers=headers, allow_redirects=False) as response:
            await response.content.read(MAX_ANSWER_BYTES)
            return response.status


@functools.cache
def _tls() -> ssl.SSLContext:
    """The system's trust store, loaded once per process (tens of milliseconds each time)."""
    return ssl.create_default_context()


def _outcome(started: float, status_code: int | None, error: str | None) -> Outcome:
    latency = round((time.monotonic() - started) * 1000)
    return Outcome(status_code=status_code, latency_ms=latency, error=error and error[:MAX_ERROR_LENGTH])
