"""Field types shared by every feature's request and response bodies."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

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
# msgspec cannot bound a Decimal; structs using these call require_positive in __post_init__.
PositiveDecimal = Annotated[Decimal, msgspec.Meta(description="decimal string, > 0", examples=["12.5"])]
NonNegativeDecimal = Annotated[Decimal, msgspec.Meta(description="decimal string, >= 0", examples=["0"])]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class Money(msgspec.Struct, kw_only=True, frozen=True):
    """An amount as a decimal string with its ISO 4217 currency."""

    amount: Decimal
    currency: str


def require_positive(struct: msgspec.Struct, *names: str, allow_zero: tuple[str, ...] = ()) -> None:
    """Refuse non-positive (or, for ``allow_zero``, negative) decimals while decoding a body."""
    for name in (*names, *allow_zero):
        value = getattr(struct, name)
        if value is None:
            continue
        if not value.is_finite() or value < 0 or (value == 0 and name not in allow_zero):
            bound = ">= 0" if name in allow_zero else "> 0"
            raise ValueError(f"{name} must be a finite decimal {bound}")
