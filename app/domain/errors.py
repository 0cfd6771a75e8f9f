"""Domain exceptions. Each has a stable ``slug`` that becomes the problem ``type``."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A rule of the trade was broken; mapped to problem+json in one place (app.api.problems)."""

    slug: ClassVar[str] = "domain-error"
    title: ClassVar[str] = "Request breaks a business rule"
    status: ClassVar[int] = 409

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class NotFound(DomainError):
    slug = "not-found"
    title = "Resource not found"
    status = 404

    def __init__(self, what: str, ident: object) -> None:
        super().__init__(f"{what} {ident} not found", resource=what)


class InvalidQuantity(DomainError):
    slug = "validation-error"
    title = "Request is invalid"
    status = 422

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail, errors=[{"field": field, "message": detail}])


class InvalidRequest(InvalidQuantity):
    """Any field that fails a rule the schema alone cannot express."""


class InsufficientCapacity(DomainError):
    slug = "insufficient-capacity"
    title = "Not enough space on this sailing"

    def __init__(self, sailing_id: object, wanted: str, free: str) -> None:
        super().__init__(
            f"sailing {sailing_id} has {free} free, {wanted} requested",
            sailing_id=str(sailing_id),
            wanted=wanted,
            free=free,
        )


class SailingClosed(DomainError):
    slug = "sailing-closed"
    title = "Sailing is closed to new space"

    def __init__(self, sailing_id: object, status: str) -> None:
        super().__init__(f"sailing {sailing_id} is {status}", sailing_id=str(sailing_id))


class PoolClosed(SailingClosed):
    """The sailing's LCL pool closed at its LCL cut-off: its bookings are packed into containers.

    A kind of SailingClosed, so that code trying sailing after sailing (offers to rolled
    bookings) passes over a closed pool as over a closed sailing."""

    slug = "pool-closed"
    title = "LCL pool is closed"

    def __init__(self, sailing_id: object, size_type: str | None = None) -> None:
        pool = f"{size_type} LCL pool" if size_type else "LCL pool"
        DomainError.__init__(
            self, f"the {pool} of sailing {sailing_id} closed at its LCL cut-off", sailing_id=str(sailing_id)
        )


class HoldExpired(DomainError):
    slug = "hold-expired"
    title = "Hold has expired"

    def __init__(self, hold_id: object) -> None:
        super().__init__(f"hold {hold_id} has expired", hold_id=str(hold_id))


class InvalidTransition(DomainError):
    slug = "invalid-state"
    title = "Not allowed in the current state"

    def __init__(self, what: str, ident: object, state: str, action: str) -> None:
        super().__init__(f"{what} {ident} is {state}; cannot {action}", state=state)


class PreconditionFailed(DomainError):
    slug = "precondition-failed"
    title = "If-Match does not match the current version"
    status = 412

    def __init__(self, reference: str) -> None:
        super().__init__(f"booking {reference} has changed; fetch it again and retry")


class PreconditionRequired(DomainError):
    slug = "precondition-required"
    title = "If-Match header is required"
    status = 428

    def __init__(self) -> None:
        super().__init__("send the booking's ETag in If-Match to amend it")


class Conflict(DomainError):
    slug = "conflict"
    title = "Conflicts with an existing resource"


class HoldNotExtendable(DomainError):
    slug = "hold-not-extendable"
    title = "Hold cannot be extended further"

    def __init__(self, hold_id: object, limit: str, expires_at: object) -> None:
        super().__init__(
            f"hold {hold_id} already expires at its {limit.replace('_', '-')} ({expires_at})",
            hold_id=str(hold_id),
            limit=limit,
        )


class OnBehalfOfRequired(DomainError):
    slug = "on-behalf-of-required"
    title = "A marketplace holds for one of its shippers"
    status = 422

    def __init__(self) -> None:
        super().__init__(
            "name the shipper in on_behalf_of: a marketplace holds space for its shippers, not itself",
            errors=[{"field": "on_behalf_of", "message": "required for a marketplace"}],
        )
