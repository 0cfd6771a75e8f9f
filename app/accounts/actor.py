"""Who is calling: the organisation behind an API key, and what that key may do."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum


class OrgKind(StrEnum):
    SHIPPER = "shipper"
    MARKETPLACE = "marketplace"
    CARRIER = "carrier"
    OPERATOR = "operator"


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


DEFAULT_SCOPES: dict[OrgKind, frozenset[Scope]] = {
    OrgKind.SHIPPER: frozenset({Scope.READ, Scope.WRITE}),
    OrgKind.MARKETPLACE: frozenset({Scope.READ, Scope.WRITE}),
    OrgKind.CARRIER: frozenset({Scope.READ}),
    OrgKind.OPERATOR: frozenset({Scope.READ, Scope.WRITE, Scope.ADMIN}),
}


@dataclass(frozen=True, slots=True)
class Actor:
    organisation_id: uuid.UUID
    kind: OrgKind
    api_key_id: uuid.UUID
    scopes: frozenset[Scope]

    @property
    def sees_everything(self) -> bool:
        """Operators read every organisation's holds and bookings; everyone else only their own."""
        return self.kind is OrgKind.OPERATOR
