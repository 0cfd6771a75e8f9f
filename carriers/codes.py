"""Code lists the adapters share."""

# DCSA reference-data/CutOffDateTimeCodeList-CS_v1.0.0.csv (a test keeps this in step).
CUT_OFF_CODES = frozenset(
    {"DCO", "VCO", "FCO", "LCO", "PCO", "ECP", "EFC", "RCO", "DGC", "OBC", "TCO", "STA", "SPA",
     "CUA", "AFC"}
)  # fmt: skip
