"""Sending recorded carrier requests through the carriers' adapters (the dispatcher job)."""
