"""Fixtures of the task tests: the demo pipeline (shared with tests/web)."""

from tests.web.conftest import demo  # noqa: F401  (fixture)
