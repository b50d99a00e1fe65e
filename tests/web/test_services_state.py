"""The services' per-thread state (:class:`pipeline_core.services.state.PipelineSession`)
against the real MariaDB: one session and connection per thread, the cached database list
forgotten by ``begin_request``, the pipeline-class registry built once per connection."""

from __future__ import annotations

import threading

import pytest

from pipeline_core import services
from pipeline_core.services.state import PipelineSession

pytestmark = pytest.mark.integration


def in_thread(function):
    """Run ``function`` in a new thread (closing that thread's session after) and return
    its result."""
    result = {}

    def run():
        try:
            result["value"] = function()
        finally:
            PipelineSession.current().close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    return result["value"]


def test_each_thread_has_its_own_session_and_connection(pipeline_prefix):
    session = PipelineSession.current()
    conn = services.connection()
    assert PipelineSession.current() is session and services.connection() is conn
    other_session, other_conn, other_id = in_thread(
        lambda: (PipelineSession.current(), services.connection(), id(services.connection()))
    )
    assert other_session is not session and other_conn is not conn
    assert id(other_conn) == other_id  # stable within its own thread too
    assert services.connection() is conn  # this thread's connection is untouched


def test_begin_request_forgets_the_cached_database_list(pipeline_prefix, new_db, dj_connect):
    name = new_db("state")
    session = PipelineSession.current()
    services.begin_request()
    assert name not in session.server_schemas()
    server = dj_connect()
    try:
        with server.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}`")
    finally:
        server.close()
    assert name not in session.server_schemas()  # cached
    assert name in session.server_schemas(refresh=True)
    session.begin_request()
    assert name in session.server_schemas()


def test_pipeline_registry_is_built_once_per_connection(pipeline_prefix, settings, demo):
    session = PipelineSession.current()
    calls = []

    def build(conn):
        calls.append(conn)
        return {"`x`.`y`": object}

    first = session.pipeline_classes(("test", 1), build)
    assert session.pipeline_classes(("test", 1), build) is first and len(calls) == 1
    assert calls[0] is session.connection()
    session.pipeline_classes(("test", 2), build)  # another key: built too
    assert len(calls) == 2

    classes = services.pipeline_classes()
    assert services.pipeline_classes() is classes
    assert demo.Detection.ref in classes
    # new connection settings: a new connection, and the registry is built for it
    old = session.connection()
    settings.LABBOOK_STORES = {"unused": {"protocol": "file", "location": "/nonexistent"}}
    assert session.connection() is not old
    assert session.pipeline_classes(("test", 1), build) is not first and len(calls) == 3
    assert calls[-1] is session.connection()
    assert services.pipeline_classes() is not classes


def test_a_failing_build_caches_nothing(pipeline_prefix):
    session = PipelineSession.current()
    attempts = []

    def build(conn):
        attempts.append(1)
        if len(attempts) == 1:
            raise services.NoMakeError("first attempt fails")
        return {}

    with pytest.raises(services.NoMakeError):
        session.pipeline_classes(("failing",), build)
    assert session.pipeline_classes(("failing",), build) == {} and len(attempts) == 2
