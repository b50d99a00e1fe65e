"""Bad definitions (spec §2, §3): LabBook raises :class:`DefinitionError` with an exact message
naming the table, the line and the reason, and the database holds nothing of the table
afterwards (no table, no ``~lineage`` rows). Where datajoint 2.3.5 rejects the same
definition, the oracle test below checks that it does.

Extends ``test_declare.py::test_bad_definitions_raise_and_create_nothing``, which checks the
reasons by substring; here the whole message is pinned.
"""

from __future__ import annotations

import dataclasses

import pymysql
import pytest

from pipeline_core import datamodel as dm

from ..oracle import conftest as oracle_fixtures

# The fixtures of the oracle comparison, bound here so that pytest finds them in this module.
dj = oracle_fixtures.dj
dj_conn = oracle_fixtures.dj_conn

pytestmark = pytest.mark.integration

PARENT = "parent_id: int32   # the parent"
OTHER = "other_id: int16"


@dataclasses.dataclass(frozen=True)
class Bad:
    """A definition LabBook refuses. ``reason`` and ``line`` make the message
    ``table `db`.`tbl`: <reason> in line "<line>"`` (no line part when ``line`` is None).
    ``dj_rejects``: datajoint 2.3.5 refuses it too (in its parser or through the server);
    False marks where LabBook is deliberately stricter (the comment says why)."""

    id: str
    definition: str
    reason: str
    line: str | None
    dj_rejects: bool = True
    tier: str = "Manual"
    class_name: str | None = None


LONG_CLASS = "A" + "b" * 70

CASES = [
    # --- types ------------------------------------------------------------------------
    Bad("unknown_type", "id: int32\n---\nx: foo", "Unsupported attribute type foo", "x: foo"),
    Bad(
        "uint8",
        "id: int32\n---\nx: uint8  # no unsigned core types in 2.x",
        "Unsupported attribute type uint8",
        "x: uint8  # no unsigned core types in 2.x",
    ),
    Bad("int24", "id: int24", "Unsupported attribute type int24", "id: int24"),
    Bad(
        "set",
        "id: int32\n---\nx: set('a','b')",
        "Unsupported attribute type set('a','b')",
        "x: set('a','b')",
    ),
    Bad(
        "binary",
        "id: int32\n---\nx: binary(16)",
        "Unsupported attribute type binary(16)",
        "x: binary(16)",
    ),
    Bad(
        "enum_unbalanced_quote",
        "id: int32\n---\nx: enum('a', 'b)",
        "Invalid enum type enum('a', 'b): the values must be quoted strings separated by commas",
        "x: enum('a', 'b)",
    ),
    Bad(
        "unknown_codec",
        "id: int32\n---\nx=null: <nope>",
        "Unknown codec <nope> in type <nope>",
        "x=null: <nope>",
    ),
    Bad(
        "hash_without_store",
        "id: int32\n---\nx=null: <hash>",
        "Codec <hash> requires @store: use <hash@store>",
        "x=null: <hash>",
    ),
    Bad(
        "object_without_store",
        "id: int32\n---\nx: <object>",
        "Codec <object> requires @store: use <object@store>",
        "x: <object>",
    ),
    Bad(
        "npy_without_store",
        "id: int32\n---\nx: <npy>",
        "Codec <npy> requires @store: use <npy@store>",
        "x: <npy>",
    ),
    Bad(
        "filepath_without_store",
        "id: int32\n---\nx: <filepath>",
        "Codec <filepath> requires @store: use <filepath@store>",
        "x: <filepath>",
    ),
    Bad(
        "json_in_key",
        "j: json",
        "json attributes cannot be in the primary key (the server cannot index blob, text or "
        "json columns)",
        "j: json",
    ),
    Bad(
        "blob_in_key",
        "id: int32\nb: <blob>",
        "<blob> attributes cannot be in the primary key (the server cannot index blob, text or "
        "json columns)",
        "b: <blob>",
    ),
    # --- defaults -----------------------------------------------------------------------
    Bad(
        "sql_in_default",
        "id: int32\n---\nx=1);DROP TABLE t;--: int32",
        "invalid default value 1);DROP TABLE t;--",
        "x=1);DROP TABLE t;--: int32",
    ),
    Bad(
        "unbalanced_quote_in_default",
        "id: int32\n---\nx='abc: varchar(8)",
        "invalid default value 'abc",
        "x='abc: varchar(8)",
    ),
    Bad(
        "quote_escaping_the_end",
        "id: int32\n---\nx='a\\\\'' : varchar(9)",
        "invalid default value 'a\\\\''",
        "x='a\\\\'' : varchar(9)",
    ),
    # datajoint sends the two literals as written and MySQL concatenates them ('ab')
    Bad(
        "two_literals_in_default",
        "id: int32\n---\nx='a' 'b': varchar(8)",
        "invalid default value 'a' 'b'",
        "x='a' 'b': varchar(8)",
        dj_rejects=False,
    ),
    Bad(
        "unquoted_default_with_quote",
        "id: int32\n---\nx=it's: varchar(8)",
        "invalid default value it's",
        "x=it's: varchar(8)",
    ),
    Bad(
        "timestamp_default_with_space",
        "id: int32\n---\nt=CURRENT_TIMESTAMP (3): datetime(3)",
        "invalid default value CURRENT_TIMESTAMP (3)",
        "t=CURRENT_TIMESTAMP (3): datetime(3)",
    ),
    Bad(
        "blob_default",
        "id: int32\n---\nx='a': <blob>",
        "the default value for blob attributes can only be NULL",
        "x='a': <blob>",
    ),
    Bad(
        "bytes_default",
        "id: int32\n---\nx='': bytes",
        "the default value for blob attributes can only be NULL",
        "x='': bytes",
    ),
    Bad(
        "longblob_default",
        "id: int32\n---\nx=0: longblob",
        "the default value for blob attributes can only be NULL",
        "x=0: longblob",
    ),
    Bad(
        "nullable_primary_key",
        "id=null: int32",
        "primary key attributes cannot be nullable",
        "id=null: int32",
    ),
    # --- names and comments -----------------------------------------------------------
    Bad(
        "reserved_underscore_name",
        "id: int32\n---\n_secret: int32",
        "attribute names starting with an underscore are reserved for platform-managed columns",
        "_secret: int32",
    ),
    Bad(
        "upper_case_name",
        "id: int32\n---\nBad: int32",
        "attribute names must be lower case",
        "Bad: int32",
    ),
    Bad("attribute_syntax", "id int32", "invalid attribute syntax at position 3", "id int32"),
    Bad(
        "table_comment_colon",
        "# :looks like a marker\nid: int32",
        'table comment must not start with a colon ":"',
        None,
    ),
    Bad(
        "attribute_comment_colon",
        "id: int32\n---\nx: int32  # :sneaky",
        "an attribute comment must not start with a colon",
        "x: int32  # :sneaky",
    ),
    # datajoint keeps the first line and silently drops the second
    Bad(
        "duplicate_attribute",
        "id: int32\n---\nx: int16\nx: int32",
        "attribute `x` is declared twice",
        "x: int32",
        dj_rejects=False,
    ),
    Bad(
        "name_too_long",
        "id: int32",
        f"Table name `{LONG_CLASS.lower()}` exceeds the max length of 64",
        None,
        class_name=LONG_CLASS,
    ),
    # datajoint declares an empty definition as a _singleton table
    Bad("empty_definition", "", "the definition is empty", None, dj_rejects=False),
    Bad("blank_definition", "\n    \n   ", "the definition is empty", None, dj_rejects=False),
    # --- foreign keys -----------------------------------------------------------------
    Bad(
        "nullable_primary_fk",
        "-> [nullable] Parent\nid: int32",
        "primary dependencies cannot be nullable",
        "-> [nullable] Parent",
    ),
    Bad(
        "missing_parent",
        "-> Missing\nid: int32",
        "foreign key reference Missing could not be resolved (`Missing` is not defined)",
        "-> Missing",
    ),
    Bad(
        "missing_part",
        "-> Parent.Nope",
        "foreign key reference Parent.Nope could not be resolved (`Parent.Nope` is not defined)",
        "-> Parent.Nope",
    ),
    Bad(
        "parent_not_a_table",
        "-> helper",
        "foreign key reference helper could not be resolved (`helper` is not a table)",
        "-> helper",
    ),
    Bad(
        "unknown_fk_option",
        "-> [bogus] Parent",
        'invalid foreign key option "bogus"',
        "-> [bogus] Parent",
    ),
    Bad(
        "fk_options_unclosed",
        "-> [nullable Parent",
        "invalid foreign key syntax at position 3",
        "-> [nullable Parent",
    ),
    Bad(
        "fk_to_restriction",
        "-> Parent & 'parent_id=1'",
        "invalid foreign key syntax: \"& 'parent_id=1'\" (a foreign key references a table or its "
        "projection, not a restriction, join or other expression)",
        "-> Parent & 'parent_id=1'",
    ),
    Bad(
        "fk_to_restrict_call",
        "-> Parent.restrict('parent_id=1')",
        "invalid foreign key syntax: \".restrict('parent_id=1')\" (a foreign key references a "
        "table or its projection, not a restriction, join or other expression)",
        "-> Parent.restrict('parent_id=1')",
    ),
    Bad(
        "fk_to_join",
        "-> Parent * Other",
        'invalid foreign key syntax: "* Other" (a foreign key references a table or its '
        "projection, not a restriction, join or other expression)",
        "-> Parent * Other",
    ),
    Bad(
        "fk_proj_unquoted",
        "-> Parent.proj(p=parent_id)",
        'invalid foreign key syntax: ".proj(p=parent_id)" (.proj() renames are written '
        'new_name="parent_attribute")',
        "-> Parent.proj(p=parent_id)",
    ),
    # datajoint reads 'nope' as an SQL expression (a computed attribute the foreign key
    # ignores) and declares a plain `-> Parent`
    Bad(
        "fk_proj_unknown_attribute",
        "-> Parent.proj(p='nope')",
        "proj renames `nope`, which is not in the primary key of `{db}`.`parent`",
        "-> Parent.proj(p='nope')",
        dj_rejects=False,
    ),
    # --- indexes and tiers ------------------------------------------------------------
    Bad(
        "index_unknown_column",
        "id: int32\n---\nx: int32\nindex(x, nope)",
        "index column `nope` is not an attribute",
        "index(x, nope)",
    ),
    Bad(
        "index_syntax",
        "id: int32\n---\na: int32\nb: int32\nindex(a b)",
        "invalid index syntax",
        "index(a b)",
    ),
    # Spec §3.6. datajoint 2.3.5 does not enforce it: Table._declare_check (a no-op) comes
    # before AutoPopulate._declare_check in the MRO of dj.Computed and dj.Imported.
    Bad(
        "computed_own_key",
        "-> Parent\nextra: int32",
        "auto-populated table has non-FK primary key attribute(s) extra",
        None,
        tier="Computed",
        dj_rejects=False,
    ),
    Bad(
        "imported_own_key",
        "id: int32\n---\nx: int32",
        "auto-populated table has non-FK primary key attribute(s) id",
        None,
        tier="Imported",
        dj_rejects=False,
    ),
]


def _class(lib, case: Bad, index: int):
    name = case.class_name or f"Broken{index}"
    namespace = {"definition": case.definition}
    if case.tier in ("Computed", "Imported"):
        namespace["make"] = lambda self, key: None
    return type(name, (getattr(lib, case.tier),), namespace)


def _declare_parents(lib, schema) -> dict:
    context: dict = {"helper": 42}
    for name, definition in (("Parent", PARENT), ("Other", OTHER)):
        context[name] = schema(
            type(name, (lib.Manual,), {"definition": definition}), context=context
        )
    return context


@pytest.fixture(scope="module")
def lb_schema(dm_conn, pipeline_prefix):
    schema = dm.Schema(pipeline_prefix + "deferr_lb", connection=dm_conn)
    return schema, _declare_parents(dm, schema)


def _leftovers(conn, database: str, table: str) -> list:
    """What the server holds of ``table``: the table itself and its ``~lineage`` rows."""
    found = list(
        conn.query(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = %s AND table_name = %s",
            [database, table],
        ).fetchall()
    )
    has_lineage = conn.query(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s "
        "AND table_name = '~lineage'",
        [database],
    ).fetchone()[0]
    if has_lineage:
        found += conn.query(
            f"SELECT * FROM `{database}`.`~lineage` WHERE table_name = %s", [table]
        ).fetchall()
    return found


def test_enough_cases():
    assert len(CASES) >= 25 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("index, case", list(enumerate(CASES)), ids=[c.id for c in CASES])
def test_bad_definition_raises_exact_message_and_creates_nothing(lb_schema, dm_conn, index, case):
    schema, context = lb_schema
    cls = _class(dm, case, index)
    table_name = cls.table_name
    full = f"`{schema.database}`.`{table_name}`"
    with pytest.raises(dm.DefinitionError) as info:
        schema(cls, context=context)
    reason = case.reason.replace("{db}", schema.database)
    expected = f"table {full}: {reason}" + (f' in line "{case.line}"' if case.line else "")
    assert str(info.value) == expected
    assert (info.value.table, info.value.reason, info.value.line) == (full, reason, case.line)
    assert _leftovers(dm_conn, schema.database, table_name) == []
    assert sorted(schema.list_tables()) == ["other", "parent"]


@pytest.fixture(scope="module")
def dj_schema(dj, dj_conn, pipeline_prefix):
    schema = dj.Schema(pipeline_prefix + "deferr_dj", connection=dj_conn)
    return schema, _declare_parents(dj, schema)


@pytest.mark.oracle
@pytest.mark.parametrize("index, case", list(enumerate(CASES)), ids=[c.id for c in CASES])
def test_datajoint_rejects_it_too(dj, dj_schema, index, case):
    """datajoint 2.3.5 refuses the same definitions (its parser or the server), except where
    LabBook is deliberately stricter (``dj_rejects=False``), which it then accepts."""
    schema, context = dj_schema
    cls = _class(dj, case, index)
    if case.dj_rejects:
        # its parser's DataJointError, or the server's error (QuerySyntaxError, OperationalError)
        with pytest.raises((dj.DataJointError, pymysql.MySQLError)):
            schema(cls, context=context)
    else:
        schema(cls, context=context)
        assert cls.table_name in schema.list_tables()
