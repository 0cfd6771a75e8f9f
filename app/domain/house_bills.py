"""House bill of lading numbers: ``SPHB-YYMM-NNNNNN-CC``.

``YYMM`` is the sailing's departure month (a reader's aid), ``NNNNNN`` the house bill sequence
(six or seven digits, from the database) and ``CC`` ISO 7064 MOD 97-10 check digits (as in IBAN)
over the month and the sequence, which catch every single mistyped digit and every swap of two
neighbouring ones. A number is unique while (month, sequence) is: a sequence that never repeats
is enough. At most 20 characters, as DCSA eBL 3.0.3 ``houseBillOfLadingReference`` allows.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

from stdnum.exceptions import ValidationError
from stdnum.iso7064 import mod_97_10

from app.domain.errors import InvalidRequest

PREFIX: Final = "SPHB"
MAX_SEQUENCE: Final = 9_999_999
_NUMBER: Final = re.compile(
    r"^SPHB-(?P<month>[0-9]{2}(?:0[1-9]|1[0-2]))-(?P<sequence>[0-9]{6}|[1-9][0-9]{6})-(?P<check>[0-9]{2})$"
)


def house_bill_number(sequence: int, departure: date) -> str:
    """The house bill number for a sequence number and the sailing's departure date."""
    if not 1 <= sequence <= MAX_SEQUENCE:
        raise ValueError(f"house bill sequence must be 1 to {MAX_SEQUENCE}, not {sequence}")
    month = departure.strftime("%y%m")
    digits = f"{sequence:06d}"
    return f"{PREFIX}-{month}-{digits}-{mod_97_10.calc_check_digits(month + digits)}"


def validate_house_bill_number(number: str) -> str:
    """The number in its canonical form (upper case, no surrounding blanks), or InvalidRequest."""
    canonical = number.strip().upper()
    parts = _NUMBER.match(canonical)
    if parts is None:
        raise InvalidRequest("house_bill", f"{number!r} is not a house bill number (SPHB-YYMM-NNNNNN-CC)")
    try:
        mod_97_10.validate(parts["month"] + parts["sequence"] + parts["check"])
    except ValidationError:
        raise InvalidRequest("house_bill", f"{number!r} fails its check digits: mistyped?") from None
    return canonical


def is_house_bill_number(number: str) -> bool:
    try:
        validate_house_bill_number(number)
    except InvalidRequest:
        return False
    return True
