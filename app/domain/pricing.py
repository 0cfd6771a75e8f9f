"""Price quotes. A hold locks its quote; a booking's price always follows that quote."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from app.domain.units import revenue_tonnes, round_money


class Tariff(msgspec.Struct, frozen=True, kw_only=True):
    """What one unit of space costs: per container (FCL) or per revenue tonne (LCL)."""

    rate: Decimal
    currency: str
    minimum: Decimal = Decimal(0)


def fcl_price(tariff: Tariff, units: int) -> Decimal:
    return round_money(tariff.rate * units, tariff.currency)


def lcl_price(tariff: Tariff, cbm: Decimal, kg: Decimal) -> Decimal:
    """Weight or measure (1 CBM = 1000 kg) at the tariff's rate, never below its minimum."""
    charge = revenue_tonnes(cbm, kg) * tariff.rate
    return round_money(max(charge, tariff.minimum), tariff.currency)
