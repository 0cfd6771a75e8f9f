"""Request and response bodies of the accounts API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from app.accounts.actor import OrgKind, Scope

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class OrganisationCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    kind: OrgKind
    marketplace_id: uuid.UUID | None = None


class ShipperCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A marketplace registers one of its shippers, for whom it may then act."""

    name: Name


class OrganisationView(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    kind: OrgKind
    marketplace_id: uuid.UUID | None
    created_at: datetime


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
