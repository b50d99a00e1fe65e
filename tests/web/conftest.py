"""Fixtures for the web, task and browser tests: the demo pipeline declared under the
session's prefix on the real server (``demo``), with Detection computed (``populated``),
and logged-in Django test clients."""

from __future__ import annotations

import types

import pytest

from pipeline_core import datamodel as dm


def reset_detection(ns) -> None:
    """Empty Detection, its parts and its jobs so that populate has work to do."""
    ns.Detection.Blob().delete_quick()
    ns.Detection().delete_quick()
    if ns.Detection.jobs.exists():
        ns.Detection.jobs.delete()


@pytest.fixture(scope="session")
def demo(pipeline_prefix, dj_params):
    """The demo pipeline (classes bound to a connection of its own), input loaded."""
    from pipelines import demo as demo_pipeline

    conn = dm.connect(
        dj_params["host"], dj_params["user"], dj_params["password"], port=int(dj_params["port"])
    )
    ns = demo_pipeline.declare(conn, pipeline_prefix)
    demo_pipeline.load(ns)
    yield ns
    conn.close()


@pytest.fixture
def populated(demo):
    """The demo with Detection computed in this process (no-op when already computed)."""
    demo.Detection.populate(reserve_jobs=True, suppress_errors=True)
    return demo


@pytest.fixture
def staff_client(client, admin_user):
    """A Django test client logged in as the administrator (is_staff). Shares pytest-django's
    ``client`` with :func:`lab_client`: use one of the two per test."""
    client.force_login(admin_user)
    return client


@pytest.fixture
def lab_client(client, lab_user):
    """A Django test client logged in as an ordinary (non-staff) user."""
    client.force_login(lab_user)
    return client


@pytest.fixture(scope="session")
def extra_tables(demo, pipeline_prefix):
    """Test-only tables: ``{prefix}webtest.Note`` (compound and renamed foreign keys, many
    types), ``{prefix}webfail`` (Square, whose make() fails for n=3) and ``Orphan`` (a
    Computed table with no registered make())."""
    from tests.web import failing_pipeline

    conn = demo.Subject.connection
    webtest = dm.Schema(
        pipeline_prefix + "webtest",
        connection=conn,
        context={"Session": demo.Session, "Subject": demo.Subject},
    )

    @webtest
    class Note(dm.Manual):
        definition = """
        # notes on sessions
        -> Session
        note_id: int16
        ---
        -> [nullable] Subject.proj(reviewer="subject_id")
        note: varchar(200)
        score=null: float32
        flag=0: bool
        taken_at=null: datetime
        meta=null: json
        cost=null: decimal(8,3)
        """

    failing = failing_pipeline.declare(conn, pipeline_prefix)
    fail_schema = dm.Schema(
        pipeline_prefix + "webfail", connection=conn, context={"Number": failing.Number}
    )

    @fail_schema
    class Orphan(dm.Computed):
        definition = """
        -> Number
        ---
        value: int32
        """

    return types.SimpleNamespace(
        Note=Note, Square=failing.Square, Number=failing.Number, Orphan=Orphan
    )


@pytest.fixture
def with_failing_pipeline(settings, extra_tables):
    """Register the failing pipeline next to the demo for one test."""
    settings.LABBOOK_PIPELINES = "pipelines.demo:declare,tests.web.failing_pipeline:declare"
    return extra_tables


# --------------------------------------------------------------------------------------------
# stored values (attachments, stored blobs, objects, npy arrays, filepaths)
# --------------------------------------------------------------------------------------------


def declare_stored_tables(conn, database: str) -> types.SimpleNamespace:
    """Declare, in a new schema ``database``, ``Recording`` (every kind of stored value, all
    nullable, with part ``Recording.Sheet`` holding a required ``<attach@main>``) and
    ``Document`` (a required ``<attach@main>``) on ``conn``, whose store ``main`` is used."""
    schema = dm.Schema(database, connection=conn)

    @schema
    class Recording(dm.Manual):
        definition = """
        # a recording with its files
        rec_id: int32
        ---
        label="": varchar(40)
        signal=null: <blob@main>
        inline_file=null: <attach>
        stored_file=null: <attach@main>
        raw=null: <hash@main>
        obj=null: <object@main>
        folder=null: <object@main>
        arr=null: <npy@main>
        fp=null: <filepath@main>
        """

        class Sheet(dm.Part):
            definition = """
            -> master
            sheet_id: int16
            ---
            sheet: <attach@main>
            """

    @schema
    class Document(dm.Manual):
        definition = """
        doc_id: int32
        ---
        file: <attach@main>
        """

    return types.SimpleNamespace(schema=schema, Recording=Recording, Document=Document)


@pytest.fixture
def web_stores(settings, store_spec):
    """LABBOOK_STORES for one test: ``store_spec`` (file or S3, see ``store_spec``) as the
    store ``main``, also the default; the services connection follows the setting."""
    settings.LABBOOK_STORES = {"default": "main", "main": store_spec}
    return settings.LABBOOK_STORES


@pytest.fixture
def stored_lab(stores_conn, new_db, web_stores):
    """A fresh schema of :func:`declare_stored_tables` under the session prefix, bound to
    ``stores_conn`` (the same store as the web's ``LABBOOK_STORES``). Attribute ``conn``
    is that connection."""
    lab = declare_stored_tables(stores_conn, new_db("stored"))
    lab.conn = stores_conn
    return lab
