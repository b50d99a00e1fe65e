"""Declaration: DDL exactly as the server shows DataJoint's (spec §3.4), errors that name
the table, line and reason and leave nothing behind, and introspection (spec §14)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.catalog import catalog_of
from pipeline_core.datamodel.codecs import blob

pytestmark = pytest.mark.integration

SUBJECT_SERVER_SHOWS = """CREATE TABLE `subject` (
  `subject_id` int(11) NOT NULL COMMENT ':int32:unique subject id',
  `subject_name` varchar(100) NOT NULL COMMENT ':varchar(100):name with "quotes"',
  `species` varchar(50) NOT NULL DEFAULT 'mouse' COMMENT ':varchar(50):',
  `dob` date DEFAULT NULL COMMENT ':date:',
  `weight` float NOT NULL DEFAULT 20.5 COMMENT ':float32:',
  PRIMARY KEY (`subject_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci \
COMMENT='Experimental subjects'"""


def test_subject_ddl_is_what_the_spec_shows(dm_conn, new_db):
    database = new_db("ddl")
    schema = dm.Schema(database, connection=dm_conn)

    @schema
    class Subject(dm.Manual):
        definition = """
        # Experimental subjects
        subject_id: int32          # unique subject id
        ---
        subject_name: varchar(100) # name with "quotes"
        species='mouse': varchar(50)
        dob=null: date
        weight=20.5: float32
        """

    shown = dm_conn.query(f"SHOW CREATE TABLE `{database}`.`subject`").fetchone()[1]
    assert shown == SUBJECT_SERVER_SHOWS
    info = catalog_of(dm_conn).table(database, "subject")
    assert [(a.name, a.type, a.in_key, a.nullable, a.default) for a in info.heading] == [
        ("subject_id", "int32", True, False, None),
        ("subject_name", "varchar(100)", False, False, None),
        ("species", "varchar(50)", False, False, "mouse"),
        ("dob", "date", False, True, None),
        ("weight", "float32", False, False, "20.5"),
    ]
    assert info.comment == "Experimental subjects" and info.tier == "Manual"


@pytest.mark.parametrize(
    "definition, reason",
    [
        ("id: int32\n---\nx: uint8", "Unsupported attribute type uint8"),
        ("id: int32\n---\nx: int24", "Unsupported attribute type int24"),
        ("id: int32\n---\nx=null: <hash>", "requires @store"),
        ("id: int32\n---\nx=null: <nope>", "Unknown codec <nope>"),
        ("id=null: int32", "primary key attributes cannot be nullable"),
        ("-> [nullable] Parent\nid: int32", "primary dependencies cannot be nullable"),
        ("id: int32\n---\n_secret: int32", "reserved for platform-managed columns"),
        ("id: int32\n---\nBad: int32", "attribute names must be lower case"),
        ("id: int32\n---\nx='a': <blob>", "default value for blob attributes can only be NULL"),
        ("-> Missing\nid: int32", "foreign key reference Missing could not be resolved"),
        ("id: int32\n---\nx: int32 # :sneaky", "comment must not start with a colon"),
        ("id: int32\nid: int16", "declared twice"),
        ("id: int32\nindex(nope)", "index column `nope` is not an attribute"),
        ("-> [bogus] Parent", 'invalid foreign key option "bogus"'),
    ],
)
def test_bad_definitions_raise_and_create_nothing(dm_conn, new_db, definition, reason):
    database = new_db("bad")
    schema = dm.Schema(database, connection=dm_conn)

    @schema
    class Parent(dm.Manual):
        definition = "parent_id: int32"

    cls = type("Broken", (dm.Manual,), {"definition": definition})
    with pytest.raises(dm.DefinitionError) as info:
        schema(cls, context={"Parent": Parent})
    message = str(info.value)
    assert reason in message and f"`{database}`.`broken`" in message
    assert schema.list_tables() == ["parent"]


def test_computed_primary_key_rule_and_name_length(dm_conn, new_db):
    schema = dm.Schema(new_db("rule"), connection=dm_conn)

    @schema
    class Parent(dm.Manual):
        definition = "parent_id: int32"

    bad = type("Derived", (dm.Computed,), {"definition": "-> Parent\nextra: int32"})
    with pytest.raises(dm.DefinitionError, match="non-FK primary key attribute"):
        schema(bad, context={"Parent": Parent})
    long_name = "A" + "b" * 70
    with pytest.raises(dm.DefinitionError, match="exceeds the max length of 64"):
        schema(type(long_name, (dm.Manual,), {"definition": "x: int32"}), context={})
    assert schema.list_tables() == ["parent"]


def test_cross_schema_dependency_and_virtual_module(dm_conn, new_db):
    first, second = new_db("up"), new_db("down")
    up = dm.Schema(first, connection=dm_conn)

    @up
    class Animal(dm.Manual):
        definition = "animal_id: varchar(8)  # tag"

    down = dm.Schema(second, connection=dm_conn)

    @down
    class Visit(dm.Manual):
        definition = "-> Animal\nvisit: int16"

    info = catalog_of(dm_conn).table(second, "visit")
    assert info.foreign_keys[0].parent == dm.TableRef(first, "animal")
    assert info.heading["animal_id"].type == "varchar(8)"
    assert info.heading["animal_id"].lineage == f"{first}.animal.animal_id"
    vm = dm.VirtualModule("vm", second, connection=dm_conn)
    assert vm.Visit().parents() == [f"`{first}`.`animal`"]
    assert dm.FreeTable(dm_conn, f"`{first}`.`animal`").children() == [f"`{second}`.`visit`"]


def test_legacy_014_database_is_read(dm_conn, new_db):
    """A database laid out by DataJoint 0.14 (spec §11): no ~lineage, unmarked types,
    unmarked longblob holding DataJoint blobs, ~jobs/~log hidden tables."""
    database = new_db("legacy")
    q = dm_conn.query
    q(f"CREATE DATABASE `{database}`")
    q(
        f"CREATE TABLE `{database}`.`subject` (`subject_id` int(11) NOT NULL COMMENT 'id', "
        "PRIMARY KEY (`subject_id`)) ENGINE=InnoDB"
    )
    q(
        f"CREATE TABLE `{database}`.`session` (`subject_id` int(11) NOT NULL COMMENT 'id', "
        "`session_id` smallint(5) unsigned NOT NULL, `data` longblob NOT NULL, "
        "`att` longblob DEFAULT NULL COMMENT ':attach:', "
        "`uid` binary(16) DEFAULT NULL COMMENT ':uuid:', "
        "PRIMARY KEY (`subject_id`,`session_id`), FOREIGN KEY (`subject_id`) REFERENCES "
        f"`{database}`.`subject` (`subject_id`) ON UPDATE CASCADE) ENGINE=InnoDB"
    )
    q(
        f"CREATE TABLE `{database}`.`~jobs` (`table_name` varchar(255) NOT NULL, "
        "`key_hash` char(32) NOT NULL, PRIMARY KEY (`table_name`,`key_hash`)) ENGINE=InnoDB"
    )
    q(f"INSERT INTO `{database}`.`subject` VALUES (1)")
    q(
        f"INSERT INTO `{database}`.`session` (subject_id, session_id, data) VALUES (1, 2, %s)",
        [blob.pack(np.eye(3))],
    )
    info = catalog_of(dm_conn).table(database, "session")
    assert info.legacy
    heading = info.heading
    assert heading["session_id"].type == "smallint unsigned"
    assert heading["data"].is_blob and heading["att"].codec == "attach"
    assert heading["uid"].is_uuid
    assert catalog_of(dm_conn).hidden_tables(database) == ["~jobs"]
    row = dm.FreeTable(dm_conn, f"`{database}`.`session`").fetch1()
    assert np.array_equal(row["data"], np.eye(3))
