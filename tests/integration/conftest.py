"""Data-model integration tests use `dm_conn` and `new_db` from tests/conftest.py."""
