"""alter(): secondary attributes and the table comment change; values survive; the primary
key, foreign keys and indexes cannot change (spec §3.6)."""

from __future__ import annotations

import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.catalog import catalog_of

pytestmark = pytest.mark.integration


@pytest.fixture
def tables(dm_conn, new_db):
    schema = dm.Schema(new_db("alter"), connection=dm_conn)

    @schema
    class Kind(dm.Lookup):
        definition = "kind: varchar(8)"
        contents = [("a",), ("b",)]

    @schema
    class Sample(dm.Manual):
        definition = """
        # samples
        sample_id: int32
        ---
        -> Kind
        weight: float32          # grams
        note='': varchar(20)
        obsolete=null: int16
        """

    Sample.insert1(dict(sample_id=1, kind="a", weight=1.5, note="hello", obsolete=3))
    return Sample, Kind


def _heading(table):
    return [(a.name, a.type, a.default_text(), a.comment) for a in table.heading]


def test_alter_changes_secondary_attributes_and_comment(tables, dm_conn):
    sample, kind = tables
    sample.definition = """
    # samples of tissue
    sample_id: int32
    ---
    -> Kind
    mass: float64            # {weight} milligrams
    note='': varchar(200)    # longer notes
    added=7: int32
    """
    sql = sample.alter(context={"Kind": kind})
    assert "CHANGE `weight` `mass` double" in sql and "DROP `obsolete`" in sql
    assert _heading(sample) == [
        ("sample_id", "int32", None, ""),
        ("kind", "varchar(8)", None, ""),
        ("mass", "float64", None, "milligrams"),
        ("note", "varchar(200)", '""', "longer notes"),
        ("added", "int32", "7", ""),
    ]
    assert catalog_of(dm_conn).table(sample.database, "sample").comment == "samples of tissue"
    assert sample.fetch1() == dict(sample_id=1, kind="a", mass=1.5, note="hello", added=7)
    assert sample.alter(context={"Kind": kind}) is None  # nothing left to change


@pytest.mark.parametrize(
    "definition, what",
    [
        (
            "sample_id: int64\n---\n-> Kind\nweight: float32\nnote='': varchar(20)\n"
            "obsolete=null: int16",
            "primary key",
        ),
        (
            "sample_id: int32\n---\nweight: float32\nnote='': varchar(20)\nobsolete=null: int16",
            "foreign keys",
        ),
        (
            "sample_id: int32\n---\n-> Kind\nweight: float32\nnote='': varchar(20)\n"
            "obsolete=null: int16\nindex(note)",
            "indexes",
        ),
    ],
)
def test_alter_refuses_key_and_index_changes(tables, definition, what):
    sample, kind = tables
    before = _heading(sample)
    sample.definition = definition
    with pytest.raises(dm.DefinitionError, match=f"cannot change the {what}"):
        sample.alter(context={"Kind": kind})
    assert _heading(sample) == before


def test_alter_rename_errors(tables):
    sample, kind = tables
    sample.definition = "sample_id: int32\n---\n-> Kind\nw: float32 # {nope}"
    with pytest.raises(dm.DefinitionError, match="`nope` does not exist"):
        sample.alter(context={"Kind": kind})
