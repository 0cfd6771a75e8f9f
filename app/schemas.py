"""Field types shared by every feature's request and response bodies."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec

from app.domain import codes

UnLocode = Annotated[str, msgspec.Meta(pattern=codes.UN_LOCODE, examples=["CNSHA", "USLAX"])]
Scac = Annotated[str, msgspec.Meta(pattern=codes.SCAC, examples=["MAEU"])]
SizeType = Annotated[
    str,
    msgspec.Meta(min_length=4, max_length=4, description="ISO 6346 size-type", examples=["42G1"]),
]
Currency = Annotated[str, msgspec.Meta(pattern=codes.CURRENCY, examples=["USD"])]
PositiveDecimal = Annotated[Decimal, msgspec.Meta(gt=0)]
NonNegativeDecimal = Annotated[Decimal, msgspec.Meta(ge=0)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class Money(msgspec.Struct, kw_only=True, frozen=True):
    """An amount as a decimal string with its ISO 4217 currency."""

    amount: Decimal
    currency: str
