"""A webhook receiver on loopback for tests and the benchmark: an HTTP/1.1 server that records
every request and answers as each path is told to (fail first, answer slowly, hang until let
go)."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

REASONS = {
    200: "OK",
    204: "No Content",
    302: "Found",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass
class Behaviour:
    """How a path answers: ``fail_first`` requests with ``failure_status``, then ``status``;
    each after ``delay`` seconds, or once ``gate`` is set."""

    status: int = 204
    fail_first: int = 0
    failure_status: int = 503
    delay: float = 0.0
    gate: asyncio.Event | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    at: float  # time.time() when the request was read


class Receiver:
    def __init__(self) -> None:
        self.behaviours: dict[str, Behaviour] = {}
        self.requests: list[Received] = []
        self.most_in_flight: dict[str, int] = {}
        self._in_flight_by_path: dict[str, int] = {}
        self._seen: dict[str, int] = {}
        self.connections: set[asyncio.StreamWriter] = set()
        self.handlers: set[asyncio.Task[None]] = set()
        self.port = 0

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def in_flight_at(self, path: str) -> int:
        """Requests to ``path`` read and not yet answered."""
        return self._in_flight_by_path.get(path, 0)

    def answered(self, path: str, status: int | None = None) -> list[Received]:
        return [r for r in self.requests if r.path == path and (status is None or r.status == status)]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        self.connections.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                _method, path, _version = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status = await self._answer(path, headers, body)
                reason = REASONS.get(status, "Status")
                extra = "".join(
                    f"{k}: {v}\r\n" for k, v in self.behaviours.get(path, Behaviour()).headers.items()
                )
                writer.write(f"HTTP/1.1 {status} {reason}\r\ncontent-length: 0\r\n{extra}\r\n".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            self.connections.discard(writer)
            self.handlers.discard(task)
            writer.close()

    async def _answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        behaviour = self.behaviours.get(path, Behaviour())
        seen = self._seen.get(path, 0)
        self._seen[path] = seen + 1
        status = behaviour.failure_status if seen < behaviour.fail_first else behaviour.status
        received_at = time.time()
        now_in_flight = self._in_flight_by_path.get(path, 0) + 1
        self._in_flight_by_path[path] = now_in_flight
        self.most_in_flight[path] = max(self.most_in_flight.get(path, 0), now_in_flight)
        try:
            if behaviour.delay:
                await asyncio.sleep(behaviour.delay)
            if behaviour.gate is not None:
                await behaviour.gate.wait()
        finally:
            self._in_flight_by_path[path] -= 1
        self.requests.append(Received(path=path, headers=headers, body=body, status=status, at=received_at))
        return status


@asynccontextmanager
async def receiving(host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> AsyncIterator[Receiver]:
    """A receiver listening on ``host`` (TLS with ``tls``) until the block ends."""
    receiver = Receiver()
    server = await asyncio.start_server(receiver._handle, host, 0, ssl=tls)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        for behaviour in receiver.behaviours.values():
            if behaviour.gate is not None:
                behaviour.gate.set()
        server.close()
        for writer in list(receiver.connections):
            writer.close()
        # Let the handlers see their connections closed before the loop goes away.
        await asyncio.gather(*receiver.handlers, return_exceptions=True)
        await server.wait_closed()
