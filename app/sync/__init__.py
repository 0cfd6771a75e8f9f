"""Carrier sync: pulls schedules and allocations through the adapters, records what changed,
keeps per-carrier health, and takes DCSA booking notifications."""
