"""Parties and cargo are checked at the API against the limits DCSA carriers hold them to, so
what reaches a carrier adapter is always valid: a problem+json names the field, nothing is
stored, and the limits are the spec's own."""

from __future__ import annotations

from typing import Any

import dcsa_spec
import httpx
import msgspec
import pytest

from app.reservations import schemas
from carriers.dcsa import fields
from tests.factories import World, confirmation, fcl_hold

Client = httpx.AsyncClient
FULL_PARTY = {
    "name": "Anhui Lamps Co Ltd",
    "address": "88 Huayuan Road",
    "city": "Hefei",
    "postal_code": "230000",
    "country_code": "CN",
    "contact_name": "Li Wei",
    "email": "export@anhui-lamps.example",
    "phone": "+86 551 5555 0101",
}


async def confirm(client: Client, world: World, shipper: dict[str, Any], **cargo: Any) -> httpx.Response:
    hold = await client.post(
        "/v1/holds",
        json=fcl_hold(world.sailing.id),
        headers=world.shipper.posting(),
    )
    assert hold.status_code == 201, hold.text
    body = confirmation(**cargo)
    body["parties"]["shipper"] = shipper
    return await client.post(
        f"/v1/holds/{hold.json()['id']}/confirm", json=body, headers=world.shipper.posting()
    )


async def test_a_party_with_every_field_carriers_take_is_booked(client: Client, world: World) -> None:
    response = await confirm(client, world, FULL_PARTY)

    assert response.status_code == 201, response.text
    assert response.json()["parties"]["shipper"] == FULL_PARTY


@pytest.mark.parametrize(
    ("shipper", "field"),
    [
        ({"name": "N" * 71}, "name"),
        ({"name": "Exporter Ltd "}, "name"),
        ({"name": "Exporter\nLtd"}, "name"),
        ({**FULL_PARTY, "address": "S" * 71}, "address"),
        ({**FULL_PARTY, "city": "C" * 36}, "city"),
        ({**FULL_PARTY, "postal_code": "12345678901"}, "postal_code"),
        ({**FULL_PARTY, "country_code": "China"}, "country_code"),
        ({**FULL_PARTY, "email": "no-at-sign"}, "email"),
        ({**FULL_PARTY, "phone": "+86 " * 10}, "phone"),
        ({**FULL_PARTY, "contact_name": "C" * 36}, "contact_name"),
        ({"name": "Exporter Ltd", "city": "Hefei"}, "shipper"),
        ({"name": "Exporter Ltd", "contact_name": "Li Wei"}, "shipper"),
        ({"name": "Anhui Lamps Furniture Import And Export Co Ltd", "email": "a@b.example"}, "shipper"),
    ],
)
async def test_a_party_a_carrier_would_refuse_is_refused_here_with_the_field_named(
    client: Client, world: World, shipper: dict[str, Any], field: str
) -> None:
    response = await confirm(client, world, shipper)

    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "/problems/validation-error"
    assert any(field in (error["field"] or "") for error in problem["errors"]), problem


async def test_a_cargo_description_with_a_line_break_is_refused(client: Client, world: World) -> None:
    response = await confirm(client, world, {"name": "Exporter Ltd"}, description="Lamps\nand shades")

    assert response.status_code == 422, response.text


def _limit(spec_name: str, schema: str, *path: str) -> tuple[int, str | None]:
    node: Any = dcsa_spec.load(spec_name)["components"]["schemas"][schema]
    for name in path:
        if "$ref" in node:
            node = dcsa_spec.load(spec_name)["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
        properties = dict(node.get("properties", {}))
        for branch in node.get("anyOf", []):
            properties.update(branch.get("properties", {}))
        node = properties[name]
    return node["maxLength"], node.get("pattern")


def _meta(annotated: Any) -> msgspec.Meta:
    (meta,) = annotated.__metadata__
    return meta  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("api_type", "adapter_limit", "spec_path"),
    [
        (schemas.PartyName, fields.PARTY_NAME, ("Party", "partyName")),
        (schemas.Street, fields.STREET, ("PartyAddress", "street")),
        (schemas.City, fields.CITY, ("PartyAddress", "city")),
        (schemas.PostalCode, fields.POST_CODE, ("PartyAddress", "postCode")),
        (schemas.ContactName, fields.CONTACT_NAME, ("PartyContactDetail", "name")),
        (schemas.Email, fields.EMAIL, ("PartyContactDetail", "email")),
        (schemas.Phone, fields.PHONE, ("PartyContactDetail", "phone")),
        (schemas.ProperShippingName, fields.PROPER_SHIPPING_NAME, ("DangerousGoods", "properShippingName")),
        (schemas.TechnicalName, fields.TECHNICAL_NAME, ("DangerousGoods", "technicalName")),
        (schemas.EmsNumber, fields.EMS_NUMBER, ("DangerousGoods", "EMSNumber")),
        (schemas.PackageCode, fields.PACKAGE_CODE, ("OuterPackaging", "packageCode")),
        (schemas.ImoPackagingCode, fields.IMO_PACKAGING_CODE, ("OuterPackaging", "imoPackagingCode")),
        (schemas.PackagingDescription, fields.PACKAGING_DESCRIPTION, ("OuterPackaging", "description")),
        (schemas.StreetNumber, fields.STREET_NUMBER, ("Address", "streetNumber")),
        (schemas.LocationName, fields.LOCATION_NAME, ("Location", "locationName")),
        (schemas.UnLocationCode, fields.UN_LOCATION_CODE, ("Location", "UNLocationCode")),
    ],
)
def test_the_api_and_the_adapter_hold_the_limits_the_spec_states(
    api_type: Any, adapter_limit: fields.Limit, spec_path: tuple[str, ...]
) -> None:
    length, pattern = _limit(dcsa_spec.BKG, *spec_path)

    assert adapter_limit == fields.Limit(length, pattern)
    meta = _meta(api_type)
    assert meta.max_length == length
    assert meta.pattern == pattern
