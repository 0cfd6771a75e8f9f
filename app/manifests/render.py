"""A manifest version's three documents, each written by the carrier adapters' own writer:
DCSA eBL 3.0.3 shipping instructions (JSON), a CUSCAR EDIFACT interchange and CSV.

Each document is rendered as the carrier would be sent it: a DCSA carrier's shipping
instructions name the platform as its ``booking_agent`` and ``contact`` settings do, a file
carrier's interchange carries its ``sender_id`` and character set. Other carriers get the
platform as the settings name it (``SLOTPOOL_NVOCC_*``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.config import Settings
from carriers.base import CarrierError, Manifest, Party
from carriers.dcsa import DcsaSettings, shipping_instructions
from carriers.dcsa import wire as w
from carriers.feed import FeedSettings
from carriers.feed.cuscar import Charset, write_cuscar
from carriers.feed.manifest_csv import write_manifest_csv
from carriers.settings import parse_settings

DCSA_MEDIA_TYPE = "application/json"
EDIFACT_MEDIA_TYPE = "application/edifact"
CSV_MEDIA_TYPE = "text/csv"
# The base URL is irrelevant to a document; it only lets the carrier's settings parse.
_ANY_URL = "https://carrier.invalid"


@dataclass(frozen=True)
class Documents:
    """The rendered documents; a format whose rules the manifest breaks is None, with why."""

    dcsa: bytes | None
    edifact: bytes | None
    csv: str | None
    errors: dict[str, str] = field(default_factory=dict)


def render(
    manifest: Manifest,
    *,
    kind: str,
    carrier_settings: Mapping[str, Any],
    settings: Settings,
    control_reference: str,
    prepared_at: datetime,
) -> Documents:
    """The three documents of ``manifest`` for a carrier of adapter ``kind`` and settings."""
    errors: dict[str, str] = {}
    scac = manifest.sailing.carrier_scac
    dcsa: bytes | None = None
    edifact: bytes | None = None
    try:
        dcsa = shipping_instructions(scac, manifest, _dcsa_settings(kind, carrier_settings, settings))
    except CarrierError as error:
        errors["dcsa"] = error.message
    sender, charset = _edifact_profile(kind, carrier_settings)
    try:
        edifact = write_cuscar(
            manifest,
            sender=sender,
            control_reference=control_reference,
            prepared_at=prepared_at,
            charset=charset,
        )
    except CarrierError as error:
        errors["edifact"] = error.message
    return Documents(dcsa=dcsa, edifact=edifact, csv=write_manifest_csv(manifest), errors=errors)


def _dcsa_settings(kind: str, carrier_settings: Mapping[str, Any], settings: Settings) -> DcsaSettings:
    if kind == "dcsa":
        try:
            return parse_settings(carrier_settings, DcsaSettings)
        except ValueError:
            pass  # an adapter that cannot be built sends nothing; the document still renders
    return DcsaSettings(
        base_url=_ANY_URL,
        booking_agent=Party(
            name=settings.nvocc_name,
            email=settings.nvocc_email,
            address=settings.nvocc_address or None,
            city=settings.nvocc_city or None,
            country_code=settings.nvocc_country_code or None,
        ),
        contact=w.BkContact(name=settings.nvocc_name[:35], email=settings.nvocc_email),
    )


def _edifact_profile(kind: str, carrier_settings: Mapping[str, Any]) -> tuple[str, Charset]:
    if kind == "feed":
        try:
            feed = parse_settings(carrier_settings, FeedSettings)
            return feed.sender_id, feed.edifact_charset
        except ValueError:
            pass
    return "SLOTPOOL", "UNOC"
