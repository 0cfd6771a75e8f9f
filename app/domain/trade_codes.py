"""Trade code validation: UN/LOCODE, ISO 6346 size-type, HS code, IMO class, UN number, SCAC."""

from __future__ import annotations

import re
from typing import Final

UN_LOCODE: Final = r"^[A-Z]{2}[A-Z2-9]{3}$"
SCAC: Final = r"^[A-Z]{2,4}$"
HS_CODE: Final = r"^[0-9]{6}([0-9]{2}([0-9]{2})?)?$"
UN_NUMBER: Final = r"^[0-9]{4}$"
CURRENCY: Final = r"^[A-Z]{3}$"
# IMO hazard classes and divisions as written on dangerous goods declarations.
IMO_CLASSES: Final = frozenset(
    {"1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "2.1", "2.2", "2.3", "3", "4.1", "4.2", "4.3"}
    | {"5.1", "5.2", "6.1", "6.2", "7", "8", "9"}
)

# ISO 6346 size codes: first character length, second height/width.
_LENGTH_FT: Final = {"2": 20, "4": 40, "L": 45}
_HEIGHT: Final = {"2": "standard", "5": "high-cube"}
# Type groups we sell: G general purpose, R reefer (with their ISO detail digit).
_TYPE: Final = re.compile(r"^[GR][0-9]$")

# Usable LCL space per container (stowage factor) and payload, by length in feet.
POOL_USABLE_CBM: Final = {20: 28, 40: 58, 45: 68}
POOL_PAYLOAD_KG: Final = {20: 21_000, 40: 26_000, 45: 27_000}


# Every size-type the rule below accepts, for schemas that list them.
SIZE_TYPES: Final = tuple(
    f"{length}{height}{group}{detail}"
    for length in _LENGTH_FT
    for height in _HEIGHT
    for group in "GR"
    for detail in "0123456789"
)


def size_type_length_ft(size_type: str) -> int:
    """Length in feet of an ISO 6346 size-type such as 22G1, 42G1, 45G1, L5G1, 45R1."""
    if len(size_type) != 4 or size_type[0] not in _LENGTH_FT or size_type[1] not in _HEIGHT:
        raise ValueError(f"unknown ISO 6346 size-type {size_type!r}")
    if not _TYPE.match(size_type[2:]):
        raise ValueError(f"unsupported ISO 6346 type {size_type[2:]!r} in {size_type!r}")
    return _LENGTH_FT[size_type[0]]


def is_size_type(size_type: str) -> bool:
    try:
        size_type_length_ft(size_type)
    except ValueError:
        return False
    return True
