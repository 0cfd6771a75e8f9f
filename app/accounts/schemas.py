"""Request and response bodies of the accounts API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from app.accounts.actor import OrgKind, Scope

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
ExternalId = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=100,
        pattern=r"^[\x21-\x7e]+$",
        description="The marketplace's own id for the shipper: printable ASCII, no blanks",
        examples=["cust-48213"],
    ),
]


class OrganisationCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    kind: OrgKind
    marketplace_id: uuid.UUID | None = None


class ShipperCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A marketplace registers one of its shippers, for whom it may then act; ``external_id``
    (unique among the marketplace's shippers) finds it again by the marketplace's own id."""

    name: Name
    external_id: ExternalId | None = None


class OrganisationView(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    kind: OrgKind
    marketplace_id: uuid.UUID | None
    created_at: datetime
    # A marketplace's shipper: the marketplace's own id for it, if it gave one.
    external_id: str | None = None


class ShipperPage(msgspec.Struct, kw_only=True):
    items: list[OrganisationView]
    next_cursor: str | None


class ApiKeyCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    scopes: list[Scope] | None = None


class ApiKeyCreated(msgspec.Struct, kw_only=True):
    """The only time the key itself is shown; only its digest is stored, so a replay of the
    same request answers ``key: null``."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    name: str
    prefix: str
    scopes: list[Scope]
    key: str | None


class ApiKeyView(msgspec.Struct, kw_only=True):
    """A key as listed: never the key itself, only its first characters (``prefix``)."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    name: str
    prefix: str
    scopes: list[Scope]
    created_at: datetime
    # From this time on the key is refused (set ahead by a rotation with an overlap).
    revoked_at: datetime | None


class ApiKeyPage(msgspec.Struct, kw_only=True):
    items: list[ApiKeyView]
    next_cursor: str | None


class ApiKeyRotation(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """How long the old key keeps working beside the new one (0: it stops at once)."""

    overlap_seconds: Annotated[int, msgspec.Meta(ge=0, le=7 * 86400)] = 0


class ApiKeyRotated(ApiKeyCreated, kw_only=True):
    """The new key (shown once; a replay answers ``key: null``) and when the old one stops."""

    replaces: uuid.UUID
    previous_key_revoked_at: datetime
