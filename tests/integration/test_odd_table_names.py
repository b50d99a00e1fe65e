"""Tables whose names are not identifiers DataJoint produces (a space in the name, made by
hand next to a pipeline) are left out of the catalog with a warning, and a delete they
block is refused naming them, with nothing deleted (issue #10: TableRef validates names)."""

from __future__ import annotations

import logging

import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.catalog import catalog_of
from pipeline_core.datamodel.tableref import TableRef

pytestmark = pytest.mark.integration


def test_odd_names_are_skipped_with_a_warning_and_block_deletes(dm_conn, new_db, caplog):
    database = new_db("odd")
    schema = dm.Schema(database, connection=dm_conn)

    @schema
    class Subject(dm.Manual):
        definition = "subject_id: int32"

    Subject.insert1({"subject_id": 1})
    odd = TableRef.label(database, "odd notes")
    dm_conn.query(  # made by hand outside DataJoint, referencing the pipeline
        f"CREATE TABLE {odd} (subject_id INT NOT NULL, note VARCHAR(20), "
        f"FOREIGN KEY (subject_id) REFERENCES {Subject.full_table_name} (subject_id))"
    )
    dm_conn.query(f"INSERT INTO {odd} VALUES (1, 'by hand')")
    catalog_of(dm_conn).invalidate()
    with caplog.at_level(logging.WARNING, logger="pipeline_core.datamodel.catalog"):
        names = [t.table_name for t in catalog_of(dm_conn).tables(database)]
    assert names == ["subject"]
    assert f"{database}.odd notes" in caplog.text
    with pytest.raises(dm.MissingTableError, match="not a valid name"):
        catalog_of(dm_conn).table(database, "odd notes")
    with pytest.raises(dm.IntegrityError, match=r"odd notes.*not a DataJoint table") as info:
        (Subject & {"subject_id": 1}).delete()
    assert info.value.table == odd
    assert len(Subject()) == 1  # nothing deleted
