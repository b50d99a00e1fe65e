"""What a database's fingerprint sees on the real server (issue 14): DDL changes it, DML does
not; the MySQL variant (with a column checksum) runs on MariaDB too; a shared catalog reads
again exactly the databases whose fingerprint changed, and those built on them. The fast
list of referencing databases (InnoDB's own) agrees with information_schema."""

from __future__ import annotations

import time

import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.catalog import Catalog
from pipeline_core.datamodel.catalog_cache import SharedCatalog
from pipeline_core.datamodel.dependencies import children_of
from pipeline_core.datamodel.sql import introspection

pytestmark = pytest.mark.integration


def value(conn, database, with_columns=False):
    return introspection.fingerprints(conn, [database], with_columns=with_columns)[database][0]


@pytest.fixture
def lab(dm_conn, new_db):
    database = new_db("fp")
    schema = dm.Schema(database, connection=dm_conn)
    subject = schema(
        type(
            "Subject",
            (dm.Manual,),
            {"definition": "subject_id: int32\n---\nname: varchar(32)  # given name"},
        ),
        context={},
    )
    return schema, subject


def test_dml_leaves_the_fingerprint_ddl_changes_it(dm_conn, lab):
    schema, subject = lab
    database = schema.database
    for with_columns in (False, True):
        before = value(dm_conn, database, with_columns)
        subject.insert1({"subject_id": 1, "name": "a"})
        subject.delete_quick()
        assert value(dm_conn, database, with_columns) == before
    empty = value(dm_conn, "lbt_no_such_database_here")
    assert empty == (0,)
    time.sleep(1.1)  # CREATE_TIME has whole seconds: the ALTER's must differ
    columns_before = value(dm_conn, database, True)
    before = value(dm_conn, database)
    dm_conn.query(
        f"ALTER TABLE {subject.full_table_name} MODIFY name varchar(32) NOT NULL "
        "COMMENT 'the name on the cage'"
    )
    assert value(dm_conn, database) != before
    assert value(dm_conn, database, True)[-1] != columns_before[-1]  # the column checksum too
    before = value(dm_conn, database)
    schema(type("Cage", (dm.Manual,), {"definition": "cage_id: int32"}), context={})
    assert value(dm_conn, database) != before
    before = value(dm_conn, database)
    dm_conn.query(f"DROP TABLE `{database}`.`cage`")
    assert value(dm_conn, database) != before


def settled_catalogs(conn, databases):
    """A SharedCatalog holding ``databases`` (waiting until their DDL is settled)."""
    shared = SharedCatalog()
    server = SharedCatalog.server_of(conn)
    for _ in range(40):
        catalog = Catalog(conn, shared=shared)
        catalog.load(databases)
        if all(shared.get(server, d) for d in databases):
            return shared
        time.sleep(0.1)
    raise AssertionError("never settled")


def reads(conn, fn) -> list[list[str]]:
    """The databases of each information_schema.columns query ``fn()`` sends."""
    seen = []
    conn.on_query = lambda sql, params: (
        seen.append(params) if "FROM information_schema.columns" in sql else None
    )
    try:
        fn()
    finally:
        conn.on_query = None
    return seen


def test_a_shared_catalog_reads_again_what_changed_and_then_what_was_built_on_it(
    dm_conn, dj_params, new_db
):
    up, down, apart = new_db("up"), new_db("down"), new_db("apart")
    parent = dm.Schema(up, connection=dm_conn)(
        type("Kind", (dm.Lookup,), {"definition": "kind: varchar(8)  # a kind"}), context={}
    )
    dm.Schema(down, connection=dm_conn)(
        type("Thing", (dm.Manual,), {"definition": "thing_id: int32\n---\n-> Kind"}),
        context={"Kind": parent},
    )
    dm.Schema(apart, connection=dm_conn)(
        type("Other", (dm.Manual,), {"definition": "other_id: int32"}), context={}
    )
    shared = settled_catalogs(dm_conn, [down, apart])
    assert shared.get(SharedCatalog.server_of(dm_conn), up) is not None  # upstream, with it
    other = dm.connect(
        dj_params["host"], dj_params["user"], dj_params["password"], port=int(dj_params["port"])
    )
    try:
        catalog = Catalog(other, shared=shared)
        assert reads(other, lambda: catalog.load([down, apart])) == []
        thing = catalog.table(down, "thing")
        assert thing.heading["kind"].type == "varchar(8)"
        time.sleep(1.1)
        dm_conn.query(f"ALTER TABLE `{up}`.`#kind` MODIFY kind varchar(8) COMMENT 'another'")
        catalog.revalidate()
        assert reads(other, lambda: catalog.load([down, apart])) == []  # `up` is not asked
        assert [d for params in reads(other, lambda: catalog.load([up])) for d in params] == [up]
        # `down` took `kind`'s declared type from `up`: read again on its next use
        read = reads(other, lambda: catalog.table(down, "thing"))
        assert [d for params in read for d in params] == [down]
        assert catalog.table(down, "thing") is not thing
        assert reads(other, lambda: catalog.load([down, apart, up])) == []  # once per check
        assert shared.get(SharedCatalog.server_of(dm_conn), apart) is not None
    finally:
        other.close()


def test_referencing_databases_from_innodb_agree_with_information_schema(dm_conn, new_db):
    up, down = new_db("ref"), new_db("ref")
    parent = dm.Schema(up, connection=dm_conn)(
        type("Kind", (dm.Lookup,), {"definition": "kind: varchar(8)"}), context={}
    )
    dm.Schema(down, connection=dm_conn)(
        type("Thing", (dm.Manual,), {"definition": "thing_id: int32\n---\n-> Kind"}),
        context={"Kind": parent},
    )
    statements = []
    dm_conn.on_query = lambda sql, params: statements.append(sql)
    try:
        fast = introspection.referencing_databases(dm_conn, [up])
    finally:
        dm_conn.on_query = None
    assert any("innodb_sys_foreign" in sql for sql in statements)
    dm_conn.prepared.add(introspection._NO_SYS_FOREIGN)  # as for an account without PROCESS
    try:
        slow = introspection.referencing_databases(dm_conn, [up])
    finally:
        dm_conn.prepared.discard(introspection._NO_SYS_FOREIGN)
    assert fast == sorted(slow) == [down]
    assert introspection.referencing_databases(dm_conn, [down]) == []


def test_children_from_innodb_agree_with_the_catalog(dm_conn, new_db):
    up, down = new_db("kids"), new_db("kids")
    schema = dm.Schema(up, connection=dm_conn)
    kind = schema(type("Kind", (dm.Lookup,), {"definition": "kind: varchar(8)"}), context={})
    schema(
        type(
            "Animal",
            (dm.Manual,),
            {
                "definition": "animal_id: int32\n---\n-> Kind",
                "Photo": type("Photo", (dm.Part,), {"definition": "-> master\n-> Kind"}),
            },
        ),
        context={"Kind": kind},
    )
    dm.Schema(down, connection=dm_conn)(
        type("Thing", (dm.Manual,), {"definition": "thing_id: int32\n---\n-> Kind"}),
        context={"Kind": kind},
    )
    ref = kind().ref  # `#kind`: InnoDB spells it @0023kind
    expected = [
        dm.TableRef(up, "animal"),
        dm.TableRef(up, "animal__photo"),
        dm.TableRef(down, "thing"),
    ]
    assert introspection.referencing_tables(dm_conn, up, "#kind") == sorted(
        (r.database, r.table) for r in expected
    )
    assert children_of(dm_conn, ref) == expected
    dm_conn.prepared.add(introspection._NO_SYS_FOREIGN)  # the catalog's way
    try:
        assert introspection.referencing_tables(dm_conn, up, "#kind") is None
        assert children_of(dm_conn, ref) == expected
    finally:
        dm_conn.prepared.discard(introspection._NO_SYS_FOREIGN)
    assert children_of(dm_conn, dm.TableRef(down, "thing")) == []
