"""JSON API front door (DRF) under /api/v1/; schemas and tables, and queries described in JSON."""
