"""Field types shared by every feature's request and response bodies."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec

from app.domain import trade_codes

UnLocode = Annotated[str, msgspec.Meta(pattern=trade_codes.UN_LOCODE, examples=["CNSHA", "USLAX"])]
Scac = Annotated[str, msgspec.Meta(pattern=trade_codes.SCAC, examples=["MAEU"])]
SizeType = Annotated[
    str,
    msgspec.Meta(min_length=4, max_length=4, description="ISO 6346 size-type", examples=["42G1"]),
]
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
