"""Consolidated manifests: one per closed sailing and carrier, stored as immutable versions,
rendered as DCSA eBL shipping instructions, EDIFACT and CSV, sent to the carrier and read by it."""
