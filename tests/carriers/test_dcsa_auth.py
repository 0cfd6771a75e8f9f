"""Carrier calls authenticated per carrier account: a static bearer token, or OAuth 2.0 client
credentials against a token endpoint on a loopback server, the token cached, refreshed before
it expires and fetched again when the carrier revokes it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from carrier_world import FakeMonotonic, frozen_now
from dcsa_world import DCSA_SETTINGS, LANE, dcsa_adapter
from fake_dcsa import FakeDcsaState, create_fake_dcsa
from loopback import serving

from carriers.base import PermanentCarrierError
from carriers.dcsa import build_dcsa
from carriers.dcsa.auth import ClientCredentials

CLIENT = ("slotpool-nvocc", "s3cr3t:with/odd+chars")


@pytest.fixture
async def carrier_url(fake_dcsa_state: FakeDcsaState) -> AsyncIterator[str]:
    fake_dcsa_state.oauth_client = CLIENT
    async with serving(create_fake_dcsa(fake_dcsa_state)) as url:
        yield url


def credentials(url: str, clock: FakeMonotonic | None = None, **options: object) -> ClientCredentials:
    return ClientCredentials(
        "DCSA",
        token_url=f"{url}/oauth/token",
        client_id=CLIENT[0],
        client_secret=CLIENT[1],
        clock=clock or FakeMonotonic(),
        **options,  # type: ignore[arg-type]
    )


async def routes(client: httpx.AsyncClient) -> int:
    response = await client.get("/v1/point-to-point-routes", params={"placeOfReceipt": "CNSHA",
                                                                     "placeOfDelivery": "USLAX"})  # fmt: skip
    return response.status_code


async def test_the_token_is_fetched_once_for_many_concurrent_calls(
    fake_dcsa_state: FakeDcsaState, carrier_url: str
) -> None:
    auth = credentials(carrier_url)
    async with httpx.AsyncClient(base_url=carrier_url, auth=auth) as client:
        statuses = await asyncio.gather(*(routes(client) for _ in range(20)))

    assert statuses == [200] * 20
    assert fake_dcsa_state.tokens == ["tok-1"]


async def test_the_token_is_refreshed_before_it_expires(
    fake_dcsa_state: FakeDcsaState, carrier_url: str
) -> None:
    clock = FakeMonotonic()
    fake_dcsa_state.token_lifetime = 300
    auth = credentials(carrier_url, clock, leeway=30)
    async with httpx.AsyncClient(base_url=carrier_url, auth=auth) as client:
        await routes(client)
        clock.advance(269)
        await routes(client)  # 31 s left: the cached token still serves
        clock.advance(2)
        await routes(client)  # 29 s left: within the leeway, a new one is fetched first

    assert fake_dcsa_state.tokens == ["tok-1", "tok-2"]


async def test_a_revoked_token_is_replaced_once_and_the_call_goes_through(
    fake_dcsa_state: FakeDcsaState, carrier_url: str
) -> None:
    auth = credentials(carrier_url)
    async with httpx.AsyncClient(base_url=carrier_url, auth=auth) as client:
        await routes(client)
        fake_dcsa_state.valid_tokens.clear()  # the carrier revokes every token

        assert await routes(client) == 200

    assert fake_dcsa_state.tokens == ["tok-1", "tok-2"]


async def test_the_client_may_authenticate_in_the_form_body(
    fake_dcsa_state: FakeDcsaState, carrier_url: str
) -> None:
    async with httpx.AsyncClient(
        base_url=carrier_url, auth=credentials(carrier_url, client_auth="post")
    ) as client:
        assert await routes(client) == 200


async def test_a_refused_client_is_a_permanent_carrier_error(carrier_url: str) -> None:
    auth = ClientCredentials(
        "DCSA", token_url=f"{carrier_url}/oauth/token", client_id="nobody", client_secret="x"
    )
    async with httpx.AsyncClient(base_url=carrier_url, auth=auth) as client:
        with pytest.raises(PermanentCarrierError, match="token endpoint refused the client: HTTP 401"):
            await routes(client)


async def test_a_dcsa_carrier_account_with_oauth2_settings_reaches_the_carrier(
    fake_dcsa_state: FakeDcsaState, carrier_url: str
) -> None:
    settings = {
        **DCSA_SETTINGS,
        "base_url": carrier_url,
        "oauth2": {
            "token_url": f"{carrier_url}/oauth/token",
            "client_id": CLIENT[0],
            "client_secret": CLIENT[1],
        },
    }
    adapter = build_dcsa("DCSA", settings, clock=frozen_now)

    answers = [await adapter.schedules(LANE) for _ in range(3)]

    assert all(answer.offers for answer in answers)
    assert fake_dcsa_state.tokens == ["tok-1"]
    assert fake_dcsa_state.violations == []
    await adapter.aclose()


async def test_a_static_bearer_token_is_sent_and_a_wrong_one_refused(fake_dcsa_state: FakeDcsaState) -> None:
    fake_dcsa_state.token = "carrier-issued-token"
    good = dcsa_adapter(fake_dcsa_state, token="carrier-issued-token")
    bad = dcsa_adapter(fake_dcsa_state, token="stale")

    assert (await good.schedules(LANE)).offers
    with pytest.raises(PermanentCarrierError) as caught:
        await bad.schedules(LANE)
    assert caught.value.status == 401
    await good.aclose()
    await bad.aclose()


def test_a_token_and_oauth2_together_are_bad_settings() -> None:
    oauth2 = {"token_url": "http://127.0.0.1/token", "client_id": "a", "client_secret": "b"}
    with pytest.raises(ValueError, match="token or oauth2"):
        build_dcsa("DCSA", {**DCSA_SETTINGS, "token": "t", "oauth2": oauth2})
