"""Fixtures of the browser tests: the demo pipeline, the failing pipeline and the
stored-value tables (shared with tests/web), and optional screenshots (set
LABBOOK_SCREENSHOTS to a directory to keep them; never committed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.web.conftest import (  # noqa: F401  (fixtures shared with tests/web)
    demo,
    extra_tables,
    stored_lab,
    web_stores,
    with_failing_pipeline,
)


@pytest.fixture
def shot():
    """``shot(page, name)`` saves a full-page screenshot when LABBOOK_SCREENSHOTS is set."""
    directory = os.environ.get("LABBOOK_SCREENSHOTS")

    def take(page, name: str) -> None:
        if directory:
            Path(directory).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(directory) / f"{name}.png"), full_page=True)

    return take
