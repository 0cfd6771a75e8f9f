"""Carriers, sailings, allotments (FCL units) and pools (LCL space)."""
