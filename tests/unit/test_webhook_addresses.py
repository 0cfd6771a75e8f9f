"""Which URLs and addresses may receive webhooks (SSRF), without a database or network."""

from __future__ import annotations

import ipaddress

import pytest

from app.webhooks import addresses, schedule
from app.webhooks.addresses import UrlRefused, parse, refusal

REFUSED = {
    "10.1.2.3": "a private address",
    "172.16.0.1": "a private address",
    "192.168.1.10": "a private address",
    "fd12:3456::1": "a private address",
    "169.254.169.254": "a cloud metadata address",
    "fd00:ec2::254": "a cloud metadata address",
    "100.100.100.200": "a cloud metadata address",
    "169.254.10.1": "a link-local address",
    "fe80::1": "a link-local address",
    "127.0.0.1": "a loopback address",
    "::1": "a loopback address",
    "0.0.0.0": "an unspecified address",
    "224.0.0.251": "a multicast address",
    "ff02::1": "a multicast address",
    "240.0.0.1": "a private address",
    "100.64.0.1": "not a public address",
    "::ffff:10.0.0.1": "a private address",  # IPv4-mapped
    "2002:a00:1::": "a private address",  # 6to4 around 10.0.0.1
    "64:ff9b::a00:1": "a reserved address",  # NAT64
}


@pytest.mark.parametrize(("address", "why"), REFUSED.items())
def test_internal_addresses_are_refused_with_the_reason(address: str, why: str) -> None:
    assert refusal(ipaddress.ip_address(address), allow_loopback=False) == why


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700:4700::1111", "8.8.8.8"])
def test_public_addresses_are_accepted(address: str) -> None:
    assert refusal(ipaddress.ip_address(address), allow_loopback=False) is None


def test_the_development_setting_lets_loopback_through_and_nothing_else() -> None:
    assert refusal(ipaddress.ip_address("127.0.0.1"), allow_loopback=True) is None
    assert refusal(ipaddress.ip_address("::1"), allow_loopback=True) is None
    assert refusal(ipaddress.ip_address("10.0.0.1"), allow_loopback=True) == "a private address"
    assert refusal(ipaddress.ip_address("169.254.169.254"), allow_loopback=True) == "a cloud metadata address"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example.com/x", "must start with https://"),
        ("ftp://hooks.example.com/x", "must start with https://"),
        ("https://user:pw@hooks.example.com/x", "credentials"),
        ("https://hooks.example.com/x#part", "fragment"),
        ("https:///x", "no host"),
        ("https://hooks.example.com:99999/x", "port"),
        ("https://hooks.example.com/a b", "spaces"),
        ("hooks.example.com/x", "must start with https://"),
    ],
)
def test_urls_other_than_https_are_refused(url: str, message: str) -> None:
    with pytest.raises(UrlRefused, match=message):
        parse(url, allow_loopback=False)


def test_http_is_accepted_only_for_loopback_and_only_in_development() -> None:
    assert parse("http://127.0.0.1:8080/hook", allow_loopback=True) == ("http", "127.0.0.1", 8080)
    assert parse("http://localhost/hook", allow_loopback=True) == ("http", "localhost", 80)
    with pytest.raises(UrlRefused):
        parse("http://127.0.0.1:8080/hook", allow_loopback=False)
    with pytest.raises(UrlRefused):
        parse("http://hooks.example.com/hook", allow_loopback=True)


async def test_a_name_is_refused_if_any_address_it_resolves_to_is_internal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def resolve(host: str, port: int) -> list[addresses.IPAddress]:
        return [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.7")]

    monkeypatch.setattr(addresses, "resolve", resolve)
    with pytest.raises(UrlRefused, match=r"hooks\.example\.com resolves to 10\.0\.0\.7, a private address"):
        await addresses.vet("https://hooks.example.com/x", allow_loopback=False)


def test_retries_back_off_exponentially_with_jitter_and_span_the_window() -> None:
    waits = [schedule.retry_wait(n) for n in range(1, 15)]
    bases = [min(4 * 3600, 5 * 3**n) for n in range(14)]
    assert all(0.8 * base <= wait <= 1.2 * base for wait, base in zip(waits, bases, strict=True))
    assert len({round(schedule.retry_wait(3), 6) for _ in range(20)}) > 1  # jittered
    # Attempts go on while the delivery has been owed less than the window, so they span it.
    owed, attempt = 0.0, 1
    while (wait := schedule.after_failure(attempt, owed, 24 * 3600)) is not None:
        owed += wait
        attempt += 1
    assert owed >= 24 * 3600
    assert 10 <= attempt <= 16
