"""The rules of a new hold: what it may ask for, where it goes, its quote and its expiry (pure).

The service reads the sailing and its counters (:class:`HoldTarget`), this module decides, and
the repository places the hold with a conditional UPDATE: no rule here needs the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import msgspec

from app.domain import pricing
from app.domain.capacity import Quantity, check_lcl_request
from app.domain.errors import (
    HoldExpired,
    HoldNotExtendable,
    InvalidRequest,
    NotFound,
    PoolClosed,
    SailingClosed,
)
from app.domain.states import Load, SailingStatus
from app.domain.units import to_milli


class HoldTerms(msgspec.Struct, frozen=True, kw_only=True):
    """What a hold asks for, in the API's units: FCL ``size_type`` and ``units``, or LCL
    ``cbm`` and ``kg`` (``size_type`` then picks the pool)."""

    load: Load
    size_type: str | None = None
    units: int | None = None
    cbm: Decimal | None = None
    kg: Decimal | None = None


class HoldTarget(msgspec.Struct, frozen=True, kw_only=True):
    """A sailing as a new hold finds it: its state, cut-off and database time, and one of its
    allotments (FCL) or pools (LCL) with the tariff; the counter's fields are None when the
    sailing has no such space."""

    sailing_status: str
    cut_off: datetime
    now: datetime
    allotment_id: uuid.UUID | None = None
    pool_id: uuid.UUID | None = None
    size_type: str | None = None
    rate: Decimal | None = None
    minimum: Decimal | None = None
    currency: str | None = None
    container_volume_dm3: int | None = None
    container_weight_g: int | None = None
    # When the pool closed at its LCL cut-off (LCL targets only); None while it takes holds.
    pool_closed_at: datetime | None = None


class HoldPlan(msgspec.Struct, frozen=True, kw_only=True):
    """A hold about to be placed: its space, its locked quote and its lifetime."""

    quantity: Quantity
    size_type: str
    tariff: pricing.Tariff
    price: Decimal
    created_at: datetime
    expires_at: datetime


def hold_ttl(requested: int | None, default: int, maximum: int) -> timedelta:
    """How long a hold lasts: what was asked, or the default; never more than the maximum."""
    seconds = requested or default
    if seconds > maximum:
        raise InvalidRequest("ttl_seconds", f"ttl_seconds may be at most {maximum}")
    return timedelta(seconds=seconds)


def check_terms(terms: HoldTerms) -> None:
    """A hold asks for FCL units or for LCL volume and weight, never both."""
    if terms.load is Load.FCL:
        if terms.size_type is None or terms.units is None:
            raise InvalidRequest("units", "an FCL hold needs size_type and units")
        if terms.cbm is not None or terms.kg is not None:
            raise InvalidRequest("cbm", "cbm and kg are for LCL holds")
        return
    if terms.cbm is None or terms.kg is None:
        raise InvalidRequest("cbm", "an LCL hold needs cbm and kg")
    if terms.units is not None:
        raise InvalidRequest("units", "units are for FCL holds")


def plan_hold(
    sailing_id: uuid.UUID, terms: HoldTerms, targets: Sequence[HoldTarget], ttl: timedelta
) -> HoldPlan:
    """The hold ``terms`` ask for on the sailing, given what it offers (``targets``: none when
    the sailing does not exist), for ``ttl`` but never past the sailing's cut-off.

    Raises, in this order: InvalidRequest (terms), NotFound (sailing), InvalidRequest (no such
    space), InvalidQuantity (LCL beyond one container), SailingClosed, PoolClosed (the LCL pool
    closed at its LCL cut-off).
    """
    check_terms(terms)
    if not targets:
        raise NotFound("sailing", sailing_id)
    target = _target(terms, targets)
    if terms.load is Load.FCL:
        quantity, tariff, price = _fcl(terms, target)
    else:
        quantity, tariff, price = _lcl(terms, target)
    if target.sailing_status != SailingStatus.OPEN or target.now >= target.cut_off:
        raise SailingClosed(sailing_id, target.sailing_status)
    if target.pool_closed_at is not None:
        raise PoolClosed(sailing_id, target.size_type)
    return HoldPlan(
        quantity=quantity,
        size_type=target.size_type or "",
        tariff=tariff,
        price=price,
        created_at=target.now,
        # A hold never outlives the sailing's cut-off.
        expires_at=min(target.now + ttl, target.cut_off),
    )


def _target(terms: HoldTerms, targets: Sequence[HoldTarget]) -> HoldTarget:
    if terms.load is Load.FCL:
        if targets[0].allotment_id is None:
            raise InvalidRequest("size_type", f"no {terms.size_type} space on this sailing")
        return targets[0]
    pools = [target for target in targets if target.pool_id is not None]
    if not pools:
        raise InvalidRequest("size_type", "no LCL pool on this sailing for that size-type")
    if len(pools) > 1:
        raise InvalidRequest("size_type", "this sailing has several pools: name a size_type")
    return pools[0]


# The checks of the terms and the target make these fields present; the asserts tell mypy.


def _fcl(terms: HoldTerms, target: HoldTarget) -> tuple[Quantity, pricing.Tariff, Decimal]:
    assert terms.units is not None
    assert target.rate is not None
    assert target.currency is not None
    quantity = Quantity(load=Load.FCL, allotment_id=target.allotment_id, pool_id=None, units=terms.units)
    tariff = pricing.Tariff(rate=target.rate, currency=target.currency)
    return quantity, tariff, pricing.fcl_price(tariff, terms.units)


def _lcl(terms: HoldTerms, target: HoldTarget) -> tuple[Quantity, pricing.Tariff, Decimal]:
    assert terms.cbm is not None
    assert terms.kg is not None
    assert target.container_volume_dm3 is not None
    assert target.container_weight_g is not None
    assert target.rate is not None
    assert target.currency is not None
    assert target.minimum is not None
    volume, weight = to_milli(terms.cbm, "cbm"), to_milli(terms.kg, "kg")
    check_lcl_request(volume, weight, target.container_volume_dm3, target.container_weight_g)
    quantity = Quantity(
        load=Load.LCL,
        allotment_id=target.allotment_id,
        pool_id=target.pool_id,
        volume_dm3=volume,
        weight_g=weight,
    )
    tariff = pricing.Tariff(rate=target.rate, currency=target.currency, minimum=target.minimum)
    return quantity, tariff, pricing.lcl_price(tariff, terms.cbm, terms.kg)


class HoldLifetime(msgspec.Struct, frozen=True, kw_only=True):
    """An active hold as an extension finds it, with its sailing and database time."""

    hold_id: uuid.UUID
    created_at: datetime
    expires_at: datetime
    sailing_id: uuid.UUID
    sailing_status: str
    cut_off: datetime
    now: datetime


def extended_expiry(hold: HoldLifetime, ttl: timedelta, max_lifetime: timedelta) -> datetime:
    """When the hold expires if kept ``ttl`` from now: never earlier than it does already, never
    later than ``max_lifetime`` after it was placed nor the sailing's cut-off.

    Raises HoldExpired when it has expired, SailingClosed when sales stopped, and
    HoldNotExtendable when a later expiry was asked but the hold is at its limit already.
    """
    if hold.expires_at <= hold.now:
        raise HoldExpired(hold.hold_id)
    if hold.sailing_status != SailingStatus.OPEN or hold.now >= hold.cut_off:
        raise SailingClosed(hold.sailing_id, hold.sailing_status)
    lifetime_end = hold.created_at + max_lifetime
    limit, cap = ("lifetime", lifetime_end) if lifetime_end <= hold.cut_off else ("cut_off", hold.cut_off)
    wanted = hold.now + ttl
    if wanted > hold.expires_at and cap <= hold.expires_at:
        raise HoldNotExtendable(hold.hold_id, limit, hold.expires_at.isoformat())
    return max(hold.expires_at, min(wanted, cap))
