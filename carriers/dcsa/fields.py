"""DCSA field limits, checked while a request is built: a value that breaks one is reported
with its JSON path and the whole request refused, never cut to fit (a cut can break a pattern,
or send a name the shipper never gave).

The limits are those of BKG 2.0.4 and EBL 3.0.3 for the fields that come from users; the app's
API validates the same limits at its boundary (a test compares both with the spec files).
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

from carriers.base import ErrorDetail, InvalidCarrierRequest, Party
from carriers.dcsa import wire as w

PartialAddress = Literal["refuse", "omit"]
# DCSA's pattern for most texts: no leading or trailing white space, at least one character.
TRIMMED = r"^\S(?:.*\S)?$"


class Limit(NamedTuple):
    max_length: int
    pattern: str | None = None


PARTY_NAME = Limit(70, TRIMMED)
STREET = Limit(70)
STREET_NUMBER = Limit(50)
POST_CODE = Limit(10)
CITY = Limit(35, TRIMMED)
COUNTRY_CODE = Limit(2, r"^[A-Z]{2}$")
CONTACT_NAME = Limit(35, TRIMMED)
EMAIL = Limit(100, r"^.+@\S+$")
PHONE = Limit(30, TRIMMED)
LOCATION_NAME = Limit(100, TRIMMED)
UN_LOCATION_CODE = Limit(5, r"^[A-Z]{2}[A-Z2-9]{3}$")
REFERENCE_VALUE = Limit(35, TRIMMED)
COMMODITY_TYPE = Limit(550, TRIMMED)
HS_CODE = Limit(12, r"^\d{6,12}$")
PACKAGE_CODE = Limit(2, r"^[A-Z0-9]{2}$")
IMO_PACKAGING_CODE = Limit(5, r"^[A-Z0-9]{1,5}$")
PACKAGING_DESCRIPTION = Limit(100)
UN_NUMBER = Limit(4, r"^\d{4}$")
PROPER_SHIPPING_NAME = Limit(250)
TECHNICAL_NAME = Limit(250)
IMO_CLASS = Limit(4)
EMS_NUMBER = Limit(7)
VOYAGE_NUMBER = Limit(50, TRIMMED)
SERVICE_CODE = Limit(11, TRIMMED)
VESSEL_NAME = Limit(50, TRIMMED)
VESSEL_IMO = Limit(8, r"^\d{7,8}$")
ROUTING_REFERENCE = Limit(5000, TRIMMED)
SERVICE_CONTRACT_REFERENCE = Limit(30)
CONTRACT_QUOTATION_REFERENCE = Limit(35, TRIMMED)
EMERGENCY_CONTACT = Limit(255)


class FieldCheck:
    """Collects every field that breaks its limit while a payload is built."""

    def __init__(self) -> None:
        self.errors: list[ErrorDetail] = []

    def fail(self, path: str, message: str) -> None:
        self.errors.append(ErrorDetail(property=path, message=message))

    def text(self, path: str, value: str, limit: Limit) -> str:
        """``value`` as it is; an error recorded if it is empty, too long or off-pattern."""
        if not value:
            self.fail(path, "is empty")
        elif len(value) > limit.max_length:
            self.fail(path, f"{len(value)} characters, at most {limit.max_length}")
        elif limit.pattern is not None and not re.match(limit.pattern, value):
            self.fail(path, f"{value!r} does not match {limit.pattern}")
        return value

    def optional(self, path: str, value: str | None, limit: Limit) -> str | None:
        return None if value is None else self.text(path, value, limit)

    def raise_if_any(self, scac: str, what: str) -> None:
        if self.errors:
            listed = "; ".join(f"{e.property}: {e.message}" for e in self.errors)
            raise InvalidCarrierRequest(scac, f"{what} breaks DCSA rules: {listed}", errors=self.errors)


def address(
    check: FieldCheck, path: str, party: Party, *, partial: PartialAddress = "refuse"
) -> w.BkAddress | None:
    """A party's structured address: street, city and country go together. A party with only
    some of them is refused (``partial="refuse"``), or sent without an address (``"omit"``)."""
    parts = (party.address, party.city, party.country_code)
    if not any(parts) and party.postal_code is None:
        return None
    street, city, country = parts
    if street is None or city is None or country is None:
        if partial == "refuse":
            check.fail(f"{path}.address", "street, city and country code are needed together")
        return None
    return w.BkAddress(
        street=check.text(f"{path}.address.street", street, STREET),
        post_code=check.optional(f"{path}.address.postCode", party.postal_code, POST_CODE),
        city=check.text(f"{path}.address.city", city, CITY),
        country_code=check.text(f"{path}.address.countryCode", country, COUNTRY_CODE),
    )


def contacts(check: FieldCheck, path: str, party: Party) -> list[w.BkContact] | None:
    """The party's contact: a name with an e-mail or a phone. The party's own name stands for
    the contact's only where it fits a contact name (35 characters)."""
    where = f"{path}.partyContactDetails[0]"
    if not (party.email or party.phone):
        if party.contact_name:
            check.fail(where, "a contact needs an e-mail address or a phone number")
        return None
    name = party.contact_name or party.name
    if party.contact_name is None and len(party.name) > CONTACT_NAME.max_length:
        check.fail(f"{where}.name", "the party's name is longer than a contact name: give contact_name")
    else:
        check.text(f"{where}.name", name, CONTACT_NAME)
    return [
        w.BkContact(
            name=name,
            email=check.optional(f"{where}.email", party.email, EMAIL),
            phone=check.optional(f"{where}.phone", party.phone, PHONE),
        )
    ]


def party(check: FieldCheck, path: str, given: Party, *, partial: PartialAddress = "refuse") -> w.BkParty:
    return w.BkParty(
        party_name=check.text(f"{path}.partyName", given.name, PARTY_NAME),
        address=address(check, path, given, partial=partial),
        party_contact_details=contacts(check, path, given),
    )
