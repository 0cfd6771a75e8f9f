"""What a consolidated manifest carries beyond the basics (house bill numbers, notify parties
and their contacts, reefer set points, master bookings) survives CSV and CUSCAR both ways and
reaches the DCSA shipping instructions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import dcsa_conditions
import dcsa_spec
import pytest
from carrier_world import manifest
from msgspec.structs import replace

from carriers.base import InvalidCarrierRequest, Manifest, Party, ReeferSettings, SailingKey
from carriers.dcsa import mapping
from carriers.dcsa import wire as w
from carriers.feed.cuscar import read_cuscar, write_cuscar
from carriers.feed.manifest_csv import read_manifest_csv, write_manifest_csv

KEY = SailingKey(
    carrier_scac="MAEU", voyage_number="421E", port_of_loading="CNSHA", port_of_discharge="NLRTM"
)
AGENT = Party(name="Slotpool NVOCC Ltd", address="1 Quay Street", city="Rotterdam", country_code="NL")
NOTIFY = Party(
    name="Harbour Notify Co", contact_name="Ana Ruiz", email="ana@notify.example", country_code="NL"
)


def full(sailing: SailingKey) -> Manifest:
    sent = manifest(sailing)
    frozen = ReeferSettings(temperature_setpoint=Decimal("-18"))
    containers = []
    for n, container in enumerate(sent.containers):
        bills = [
            replace(bill, house_bill_number=f"SPHB-2612-{n}{i:05d}-00", notify=NOTIFY if i == 0 else None)
            for i, bill in enumerate(container.house_bills)
        ]
        if n == 0:
            bills[0] = replace(bills[0], reefer=frozen)
        containers.append(
            replace(
                container,
                house_bills=bills,
                master_reference=f"SPM-{n}",
                carrier_booking_reference=f"BN{n:07d}",
                reefer=frozen if n == 0 else None,
            )
        )
    return replace(sent, containers=containers)


def test_every_field_survives_csv_and_cuscar() -> None:
    sent = full(KEY)
    at = datetime(2026, 12, 7, 16, 0, tzinfo=UTC)

    assert read_manifest_csv(write_manifest_csv(sent)) == sent
    assert read_cuscar(write_cuscar(sent, sender="SLOTPOOL", control_reference="1", prepared_at=at)) == sent


def test_a_set_point_that_does_not_fit_its_edifact_element_is_refused_not_cut() -> None:
    sent = full(KEY)
    odd = replace(sent.containers[0], reefer=ReeferSettings(temperature_setpoint=Decimal("-18.25")))
    at = datetime(2026, 12, 7, 16, 0, tzinfo=UTC)

    with pytest.raises(InvalidCarrierRequest, match="6246 temperature setting"):
        write_cuscar(
            replace(sent, containers=[odd]), sender="SLOTPOOL", control_reference="1", prepared_at=at
        )


def test_shipping_instructions_carry_house_bill_numbers_and_reachable_notify_parties() -> None:
    dcsa_spec.require_specs()
    sent = full(KEY)

    payload = mapping.manifest_to_wire(
        "MAEU", sent, nvocc=AGENT, contact=w.BkContact(name="Ops", email="o@x.io")
    )
    body = json.loads(w.ENCODER.encode(payload))

    assert dcsa_spec.errors(dcsa_spec.EBL, "CreateShippingInstructions", body) == []
    assert dcsa_conditions.shipping_instructions_condition_errors(body) == []
    numbers = [b.house_bill_number for c in sent.containers for b in c.house_bills]
    assert [hbl["houseBillOfLadingReference"] for hbl in body["houseBillOfLadings"]] == numbers
    notified = [
        hbl["documentParties"].get("notifyParty", {}).get("partyName") for hbl in body["houseBillOfLadings"]
    ]
    assert notified.count(NOTIFY.name) == len(sent.containers)
    assert body["documentParties"]["consignee"]["partyName"] == AGENT.name


def test_shipping_instructions_refuse_a_container_reference_longer_than_a_container_number() -> None:
    sent = full(KEY)
    long_ref = replace(sent.containers[0], container_ref="SPM-20261207-000001")

    with pytest.raises(InvalidCarrierRequest, match="equipmentReference"):
        mapping.manifest_to_wire(
            "MAEU",
            replace(sent, containers=[long_ref]),
            nvocc=AGENT,
            contact=w.BkContact(name="Ops", email="o@x.io"),
        )
