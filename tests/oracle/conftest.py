"""Fixtures for data-model tests against the real MariaDB: a LabBook connection and
unique database names under the session's ``pipeline_prefix`` (dropped at session end)."""

from __future__ import annotations

import itertools

import pytest

from pipeline_core import datamodel as dm


@pytest.fixture(scope="session")
def dm_conn(dj_params):
    """A LabBook :class:`Connection` to the test server."""
    conn = dm.connect(dj_params["host"], dj_params["user"], dj_params["password"],
                      port=int(dj_params["port"]))
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def _db_counter():
    return itertools.count()


@pytest.fixture
def new_db(pipeline_prefix, _db_counter):
    """A function returning a fresh, unused database name under the session prefix."""
    return lambda label="db": f"{pipeline_prefix}{label}{next(_db_counter)}"


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
