"""Field types shared by every feature's request and response bodies."""

from __future__ import annotations

import functools
import typing
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

import msgspec

from app.domain import trade_codes

UnLocode = Annotated[str, msgspec.Meta(pattern=trade_codes.UN_LOCODE, examples=["CNSHA", "USLAX"])]
Scac = Annotated[str, msgspec.Meta(pattern=trade_codes.SCAC, examples=["MAEU"])]


class SizeType(StrEnum):
    """ISO 6346 size-type of a container the platform sells: length (2 20', 4 40', L 45'),
    height (2 standard, 5 high-cube), type group (G general purpose, R reefer) and detail."""

    _ignore_ = ["code"]
    for code in trade_codes.SIZE_TYPES:
        vars()[code] = code


Currency = Annotated[str, msgspec.Meta(pattern=trade_codes.CURRENCY, examples=["USD"])]


@dataclass(frozen=True)
class DecimalLimits:
    """What a decimal field takes: at most ``digits`` before the point and ``places`` after it
    (the column's range, so nothing valid here overflows it), above zero or, with
    ``allow_zero``, at or above. Declared in a field's ``Annotated`` type; enforced by
    :func:`check_decimals` and written into the OpenAPI schema as a pattern."""

    digits: int
    places: int
    allow_zero: bool = False

    @property
    def pattern(self) -> str:
        return rf"^[0-9]{{1,{self.digits}}}(\.[0-9]{{1,{self.places}}})?$"

    def refusal(self, value: Decimal) -> str | None:
        """Why ``value`` is out of these limits, or None. Exact whatever its length: decided on
        its digits, never through an arithmetic context that would round it."""
        if not value.is_finite():
            return "must be a finite decimal"
        sign, digits, exponent = value.as_tuple()
        assert isinstance(exponent, int)
        written = "".join(map(str, digits))
        significant = written.rstrip("0")
        if not significant:
            return None if self.allow_zero else "must be a decimal > 0"
        if sign:
            return f"must be a decimal {'>=' if self.allow_zero else '>'} 0"
        if exponent + len(written) - len(significant) < -self.places:
            return f"allows at most {self.places} decimal places"
        if len(written) + exponent > self.digits:
            return f"allows at most {self.digits} digits before the decimal point"
        return None


QUANTITY_LIMITS = DecimalLimits(digits=6, places=3)
MONEY_LIMITS = DecimalLimits(digits=12, places=2)  # Numeric(14, 2)
# Volumes (CBM) and weights (kg): stored in thousandths in integer columns.
PositiveDecimal = Annotated[
    Decimal,
    msgspec.Meta(description="decimal string, > 0, three places at most", examples=["12.5"]),
    QUANTITY_LIMITS,
]
PositiveMoney = Annotated[
    Decimal,
    msgspec.Meta(description="decimal string, > 0, two places at most", examples=["1500.00"]),
    MONEY_LIMITS,
]
NonNegativeMoney = Annotated[
    Decimal,
    msgspec.Meta(description="decimal string, >= 0, two places at most", examples=["0"]),
    DecimalLimits(digits=12, places=2, allow_zero=True),
]
# A point in time with its UTC offset (naive times are refused: whose clock would they be?).
Moment = Annotated[datetime, msgspec.Meta(tz=True, description="date-time with a UTC offset")]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class Money(msgspec.Struct, kw_only=True, frozen=True):
    """An amount as a decimal string with its ISO 4217 currency."""

    amount: Decimal
    currency: str


def check_decimals(struct: msgspec.Struct) -> None:
    """Refuse, while a body is decoded, any decimal field outside its declared limits."""
    for name, limits in _decimal_fields(type(struct)).items():
        value = getattr(struct, name)
        if value is not None and (why := limits.refusal(value)) is not None:
            raise ValueError(f"{name} {why}")


@functools.cache
def _decimal_fields(cls: type[msgspec.Struct]) -> dict[str, DecimalLimits]:
    hints = typing.get_type_hints(cls, include_extras=True)
    return {name: limits for name, hint in hints.items() if (limits := decimal_limits(hint)) is not None}


def decimal_limits(hint: Any) -> DecimalLimits | None:
    """The limits an annotation declares (through an Optional too), or None."""
    if typing.get_origin(hint) is Annotated:
        return next((item for item in hint.__metadata__ if isinstance(item, DecimalLimits)), None)
    for arg in typing.get_args(hint):
        if (found := decimal_limits(arg)) is not None:
            return found
    return None
