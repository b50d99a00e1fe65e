"""JSON API front door (DRF) under /api/v1/; minimal for now (schemas and tables)."""
