"""Confirm and amend bodies carry what a carrier request needs (reefer set point, dangerous goods
with packaging, haulage with its places), checked at the API within DCSA's limits: a 422 names
the field and nothing is stored."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import World, confirmation, fcl_hold

Client = httpx.AsyncClient
DOOR = {"address": {"street": "88 Huayuan Road", "city": "Hefei", "country_code": "CN"}}
FULL_CARGO: dict[str, Any] = {
    "package_code": "DR",
    "imo_packaging_code": "1A1",
    "packaging_description": "Steel drums",
    "dangerous_goods": [
        {
            "un_number": "1263",
            "imo_class": "3",
            "proper_shipping_name": "PAINT",
            "technical_name": "Acrylic resin solution",
            "packing_group": 2,
            "is_marine_pollutant": True,
            "ems_number": "F-E S-E",
            "flash_point_celsius": "23.5",
        }
    ],
    "haulage": {
        "receipt_type_at_origin": "SD",
        "delivery_type_at_destination": "CFS",
        "place_of_receipt": {**DOOR, "name": "Hefei factory"},
        "place_of_delivery": {"un_location_code": "USLAX"},
        "pre_carriage_mode": "TRUCK",
    },
}


async def confirm(client: Client, world: World, **cargo: Any) -> httpx.Response:
    hold = await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.posting())
    assert hold.status_code == 201, hold.text
    return await client.post(
        f"/v1/holds/{hold.json()['id']}/confirm", json=confirmation(**cargo), headers=world.shipper.posting()
    )


def names(problem: dict[str, Any], field: str) -> bool:
    return any(
        field in (error.get("field") or "") + (error.get("message") or "") for error in problem["errors"]
    )


async def test_a_booking_with_dangerous_goods_packaging_and_store_door_haulage_is_kept_as_given(
    client: Client, world: World
) -> None:
    response = await confirm(client, world, **FULL_CARGO)

    assert response.status_code == 201, response.text
    cargo = response.json()["cargo"]
    assert cargo["dangerous_goods"][0]["flash_point_celsius"] == "23.5"
    assert cargo["haulage"]["place_of_receipt"]["address"]["city"] == "Hefei"
    assert response.json()["carrier"]["pending"] == "request"


@pytest.mark.parametrize(
    ("cargo", "field"),
    [
        ({"reefer": {"set_point": "-18.0"}}, "cargo.reefer"),  # 42G1 is no reefer
        ({"non_operating_reefer": True}, "cargo.non_operating_reefer"),
        ({"reefer": {"set_point": "99"}}, "set_point"),
        ({"reefer": {"set_point": "-18.05"}}, "set_point"),
        ({"reefer": {"set_point": "5", "unit": "KEL"}}, "unit"),
        ({"package_code": "DRUM"}, "package_code"),
        ({"imo_packaging_code": "1A1-X"}, "imo_packaging_code"),
        ({"packaging_description": "D" * 101}, "packaging_description"),
        ({"dangerous_goods": [{"un_number": "126", "imo_class": "3"}]}, "un_number"),
        ({"dangerous_goods": [{"un_number": "1263", "imo_class": "3", "packing_group": 4}]}, "packing_group"),
        (
            {"dangerous_goods": [{"un_number": "1263", "imo_class": "3", "ems_number": "F-E,S-E-X"}]},
            "ems_number",
        ),
        (
            {"dangerous_goods": [{"un_number": "1263", "imo_class": "3", "proper_shipping_name": "P" * 251}]},
            "proper_shipping_name",
        ),
        ({"haulage": {"receipt_type_at_origin": "SD"}}, "place_of_receipt"),
        (
            {
                "haulage": {
                    "delivery_type_at_destination": "SD",
                    "place_of_delivery": {"un_location_code": "USLAX"},
                }
            },
            "place_of_delivery",
        ),
        ({"haulage": {"receipt_type_at_origin": "XX"}}, "receipt_type_at_origin"),
        ({"haulage": {"place_of_delivery": {"un_location_code": "uslax"}}}, "un_location_code"),
        ({"haulage": {"pre_carriage_mode": "PLANE"}}, "pre_carriage_mode"),
        ({"haulage": {"place_of_receipt": {"name": "Somewhere"}}}, "place_of_receipt"),
        ({"haulage": {"place_of_receipt": {"address": {**DOOR["address"], "city": "C" * 36}}}}, "city"),
    ],
)
async def test_a_carrier_request_field_out_of_dcsa_limits_is_refused_with_the_field_named(
    client: Client, world: World, cargo: dict[str, Any], field: str
) -> None:
    response = await confirm(client, world, **cargo)

    assert response.status_code == 422, response.text
    assert names(response.json(), field), response.json()
    listed = await client.get("/v1/bookings", headers=world.shipper.headers)
    assert listed.json()["items"] == []


async def test_an_amendment_is_checked_like_a_confirmation(client: Client, world: World) -> None:
    booked = await confirm(client, world)
    reference = booked.json()["reference"]
    body = {"cargo": {**confirmation()["cargo"], "reefer": {"set_point": "4.0"}}}

    response = await client.patch(
        f"/v1/bookings/{reference}", json=body, headers={**world.shipper.headers, "If-Match": '"v1"'}
    )

    assert response.status_code == 422, response.text
    assert names(response.json(), "cargo.reefer"), response.json()
