"""Reconciliation with carriers: cuts, schedule changes, cancellations, rolled bookings with an
offered alternative, carrier booking statuses, and the release of unused allotment."""
