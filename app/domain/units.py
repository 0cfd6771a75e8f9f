"""Volumes, weights and money.

Counters are stored as integers in thousandths (dm3 for volume, grams for weight) so that
arithmetic in SQL is exact on every database; the API speaks decimal CBM and kg.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from app.domain.errors import InvalidQuantity

THOUSAND = Decimal(1000)
# 1 CBM = 1000 kg: the weight-or-measure rule of LCL freight.
KG_PER_REVENUE_TONNE = Decimal(1000)

# Minor units of the currencies we quote in (ISO 4217); others default to two.
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "KWD": 3, "BHD": 3, "OMR": 3}


def to_milli(value: Decimal, what: str) -> int:
    """Decimal CBM or kg to integer thousandths; more than three decimals is refused."""
    scaled = value * THOUSAND
    if scaled != scaled.to_integral_value():
        raise InvalidQuantity(what, f"{what} allows at most three decimals")
    return int(scaled)


def from_milli(value: int) -> Decimal:
    """Integer thousandths back to a decimal with three places (exact: a shift of the exponent)."""
    return Decimal(value).scaleb(-3)


def round_money(amount: Decimal, currency: str) -> Decimal:
    exponent = _MINOR_UNITS.get(currency, 2)
    return amount.quantize(Decimal(1).scaleb(-exponent), rounding=ROUND_HALF_UP)


def revenue_tonnes(cbm: Decimal, kg: Decimal) -> Decimal:
    """Weight or measure: whichever of CBM and tonnes is larger."""
    return max(cbm, kg / KG_PER_REVENUE_TONNE)


def celsius(set_point: Decimal, unit: str) -> Decimal:
    """A reefer set point in degrees Celsius, to one place (DCSA units: ``CEL``, ``FAH``): the
    planner compares set points of cargo booked in either unit."""
    if unit == "FAH":
        set_point = (set_point - 32) * 5 / 9
    return set_point.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
