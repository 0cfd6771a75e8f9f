"""The outbox of domain events and the idempotency records of mutating requests."""
