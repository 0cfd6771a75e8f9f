"""Carrier adapters behind one Protocol (see carriers/README.md). Imports nothing from app/."""
