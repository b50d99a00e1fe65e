"""Fixtures for tests that compare LabBook with the real ``datajoint`` package (a test-only
oracle); ``dm_conn`` and ``new_db`` come from tests/conftest.py."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def dj(dj_params):
    """The real ``datajoint`` package (test-only oracle) connected to the test server."""
    import warnings
    warnings.filterwarnings("ignore", message=".*MariaDB is not officially supported.*")
    warnings.filterwarnings("ignore", message=".*datajoint.json.*")
    import datajoint
    datajoint.config["safemode"] = False
    return datajoint


@pytest.fixture(scope="session")
def dj_conn(dj, dj_params):
    """A datajoint Connection to the test server."""
    conn = dj.Connection(f"{dj_params['host']}:{dj_params['port']}", dj_params["user"],
                         dj_params["password"])
    yield conn
    conn.close()
