"""LCL consolidation: closing pools at their cut-off, the containers they are packed into, house bills."""
