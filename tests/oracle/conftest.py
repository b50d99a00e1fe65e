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
    conn = dj.Connection(
        f"{dj_params['host']}:{dj_params['port']}", dj_params["user"], dj_params["password"]
    )
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def query_spaces(dj, dj_conn, dm_conn, pipeline_prefix):
    """``(datajoint namespace, LabBook namespace)`` over one database declared and filled by
    datajoint with tests/oracle/query_pipeline.py; each namespace also holds the library's
    ``U``, ``Top``, ``AndList`` and ``Not``."""
    import types

    from pipeline_core import datamodel as dm

    from . import query_pipeline

    database = f"{pipeline_prefix}queryoracle"
    schema = dj.Schema(database, connection=dj_conn)
    classes = query_pipeline.declare(dj, schema)
    query_pipeline.load(classes, query_pipeline.rows())
    theirs = types.SimpleNamespace(
        **vars(classes), U=dj.U, Top=dj.Top, AndList=dj.AndList, Not=dj.Not
    )
    module = dm.VirtualModule("query_oracle", database, connection=dm_conn)
    ours = types.SimpleNamespace(
        **{name: getattr(module, name) for name in query_pipeline.ORDER},
        U=dm.U,
        Top=dm.Top,
        AndList=dm.AndList,
        Not=dm.Not,
    )
    return theirs, ours
