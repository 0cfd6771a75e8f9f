"""What the manifest endpoints and the job answer."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec


class DeliveryState(StrEnum):
    """Where a version stands: waiting to be sent (or retried), taken by the carrier, given up
    (``last_error`` says why), or replaced by a later version before it was sent."""

    PENDING = "pending"
    SUBMITTED = "submitted"
    FAILED = "failed"
    SUPERSEDED = "superseded"


class Decision(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class ManifestFormat(StrEnum):
    DCSA = "dcsa"
    EDIFACT = "edifact"
    CSV = "csv"


class ManifestView(msgspec.Struct, kw_only=True):
    """A sailing's consolidated manifest for its carrier; ``latest_version`` is the current."""

    id: uuid.UUID
    sailing_id: uuid.UUID
    carrier_scac: str
    voyage_number: str
    port_of_loading: str
    port_of_discharge: str
    etd: datetime
    latest_version: int
    created_at: datetime
    updated_at: datetime


class ManifestPage(msgspec.Struct, kw_only=True):
    items: list[ManifestView]
    next_cursor: str | None


class ManifestVersionView(msgspec.Struct, kw_only=True):
    """One immutable version: its checksum (sha256 of its canonical content), the formats it
    can be read in (``render_errors`` says why a format could not be written), and its
    delivery to the carrier."""

    number: int
    checksum: str
    containers: int
    house_bills: int
    formats: list[ManifestFormat]
    render_errors: dict[str, str]
    created_at: datetime
    delivery_state: DeliveryState
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    submitted_at: datetime | None
    receipt_reference: str | None
    decision: Decision | None
    decided_at: datetime | None
    decision_reason: str | None


class ManifestRound(msgspec.Struct, kw_only=True):
    """One run of the manifest job: manifests rebuilt, versions stored, sent and how."""

    sailings: int = 0
    versions_stored: int = 0
    submitted: int = 0
    accepted: int = 0
    rejected: int = 0
    retrying: int = 0
    given_up: int = 0


class ContainerEquipment(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The box a consolidated container was stuffed into and sealed: its ISO 6346 number
    (owner code, category, serial, check digit) and its seal. Shipping instructions need both."""

    equipment_reference: Annotated[
        str, msgspec.Meta(pattern=r"^[A-Z]{3}[UJZ][0-9]{7}$", examples=["MSKU1234565"])
    ]
    seal_number: Annotated[
        str, msgspec.Meta(min_length=1, max_length=15, pattern=r"^\S(?:.*\S)?$", examples=["SL884201"])
    ]


class ContainerEquipmentView(msgspec.Struct, kw_only=True):
    container_id: uuid.UUID
    sailing_id: uuid.UUID
    number: int
    master_reference: str
    equipment_reference: str | None
    seal_number: str | None
