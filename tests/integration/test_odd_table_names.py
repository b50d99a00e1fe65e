"""Tables whose names DataJoint would not declare (a space in the name, made by hand next to
a pipeline) are in the catalog with their real names and no tier, queried with their names
quoted, and a cascading delete reaches them like any child (issue #15 part 6; before it,
issue #10 left them out). Names no table can have are still refused."""

from __future__ import annotations

import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.catalog import catalog_of
from pipeline_core.datamodel.tableref import TableRef

pytestmark = pytest.mark.integration


def test_odd_names_are_listed_queried_and_reached_by_deletes(dm_conn, new_db):
    database = new_db("odd")
    schema = dm.Schema(database, connection=dm_conn)

    @schema
    class Subject(dm.Manual):
        definition = "subject_id: int32"

    Subject.insert([{"subject_id": 1}, {"subject_id": 2}])
    odd = TableRef(database, "odd notes`%s")
    dm_conn.query(  # made by hand outside DataJoint, referencing the pipeline
        f"CREATE TABLE {odd.sql_name} (subject_id INT NOT NULL PRIMARY KEY, `no te` VARCHAR(20), "
        f"FOREIGN KEY (subject_id) REFERENCES {Subject.full_table_name} (subject_id))"
    )
    dm_conn.query(f"INSERT INTO {odd.sql_name} VALUES (%s, 'by hand'), (2, 'two')", [1])
    assert odd.full_name == f"`{database}`.`odd notes``%s`"
    catalog_of(dm_conn).invalidate()
    infos = {t.table_name: t for t in catalog_of(dm_conn).tables(database)}
    assert sorted(infos) == ["odd notes`%s", "subject"]
    info = infos["odd notes`%s"]
    assert info.tier is None and info.class_name == "odd notes`%s"
    assert info.heading.names == ["subject_id", "no te"]
    table = dm.FreeTable(dm_conn, odd)
    assert table.to_dicts(order_by="`no te` DESC") == [
        {"subject_id": 2, "no te": "two"},
        {"subject_id": 1, "no te": "by hand"},
    ]
    assert (table & {"no te": "two"}).to_dicts() == [{"subject_id": 2, "no te": "two"}]
    assert (Subject & {"subject_id": 1}).delete_preview() == {
        Subject.full_table_name: 1,
        odd.full_name: 1,
    }
    (Subject & {"subject_id": 1}).delete()
    assert len(Subject()) == 1 and table.to_dicts() == [{"subject_id": 2, "no te": "two"}]
    for impossible in ("", "x" * 65, "nul\x00", "trailing "):
        with pytest.raises(dm.MissingTableError, match="not a valid name"):
            catalog_of(dm_conn).table(database, impossible)
