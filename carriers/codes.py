"""Code lists and patterns the adapters share."""

# DCSA reference-data/CutOffDateTimeCodeList-CS_v1.0.0.csv (a test keeps this in step).
CUT_OFF_CODES = frozenset(
    {"DCO", "VCO", "FCO", "LCO", "PCO", "ECP", "EFC", "RCO", "DGC", "OBC", "TCO", "STA", "SPA",
     "CUA", "AFC"}
)  # fmt: skip
UN_LOCODE = r"^[A-Z]{2}[A-Z2-9]{3}$"
# ISO 6346 size-type: length code (1-4, A-P), height/width code (0-9, C-P), type and detail.
SIZE_TYPE = r"^[1-4A-P][0-9C-P][A-Z][0-9A-Z]$"
