"""Shared HTTP plumbing: problem+json, authentication, idempotency, pagination."""
