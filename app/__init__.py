"""Slotpool: freight space booking for ocean carrier slot reservation."""
