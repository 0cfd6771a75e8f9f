"""Which URLs a webhook may be sent to (SSRF): https only, and only to public addresses.

A URL is checked when an endpoint is registered and again before every attempt, after the
host is resolved, and the request then goes to the address that was checked (the host stays in
``Host`` and TLS SNI): a name that resolves to a public address at registration and to an
internal one later (DNS rebinding) is refused at send time. Every address a name resolves to
must pass, not just the first. Loopback is accepted only when ``SLOTPOOL_WEBHOOK_ALLOW_LOOPBACK``
says so (development), then over http too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL_LENGTH = 2048

# Instance metadata services, whatever range they sit in: named so the refusal says why.
CLOUD_METADATA: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
    )
)


class UrlRefused(Exception):
    """The URL, or an address its host resolves to, may not receive webhooks; says why."""


@dataclass(frozen=True)
class Target:
    """A URL that passed the checks and the addresses its host resolved to, all of them allowed."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]

    @property
    def named(self) -> bool:
        """The host is a name, not an address literal."""
        return _literal(self.host) is None


def parse(url: str, *, allow_loopback: bool) -> tuple[str, str, int]:
    """Scheme, host and port of ``url``; raises :class:`UrlRefused` for anything but an absolute
    https URL (http only to loopback, when allowed) without credentials or fragment."""
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if not url.isascii() or any(c.isspace() or not c.isprintable() for c in url):
        raise UrlRefused("the URL must be ASCII without spaces or control characters (punycode a host)")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise UrlRefused("the URL must start with https://")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("the URL must not carry credentials; verify the signature instead")
    if parts.fragment:
        raise UrlRefused("the URL must not have a fragment")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UrlRefused("the URL has no host")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise UrlRefused("the URL's port is not a number from 1 to 65535") from None
    if scheme == "http" and not (allow_loopback and _names_loopback(host)):
        raise UrlRefused("the URL must start with https:// (http is accepted for loopback in development)")
    return scheme, host.lower(), port


def refusal(address: IPAddress, *, allow_loopback: bool) -> str | None:
    """Why ``address`` may not receive webhooks, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is not None:
            return refusal(embedded, allow_loopback=allow_loopback)
    if address in CLOUD_METADATA:
        return "a cloud metadata address"
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    checks = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "not a public address"),
    )
    return next((why for refused, why in checks if refused), None)


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UrlRefused(f"the host {host} does not resolve ({error})") from None
    addresses: list[IPAddress] = []
    for *_, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


async def vet(url: str, *, allow_loopback: bool) -> Target:
    """Check ``url`` and every address its host resolves to now; raises :class:`UrlRefused`."""
    scheme, host, port = parse(url, allow_loopback=allow_loopback)
    addresses = await resolve(host, port)
    if not addresses:
        raise UrlRefused(f"the host {host} resolves to no address")
    for address in addresses:
        why = refusal(address, allow_loopback=allow_loopback)
        if why is not None:
            raise UrlRefused(f"{host} resolves to {address}, {why}")
    if scheme == "http" and not all(address.is_loopback for address in addresses):
        raise UrlRefused("the URL must start with https:// (http is accepted for loopback in development)")
    return Target(url=url, scheme=scheme, host=host, port=port, addresses=tuple(addresses))


def _names_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    literal = _literal(host)
    return literal is not None and literal.is_loopback


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None
