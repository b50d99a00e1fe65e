"""drop() of tables and schemas: dependants refused unless cascading, with what would go
named; parts go with their master; lineage and jobs tables are cleaned up (spec §8.3)."""

from __future__ import annotations

import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.catalog import catalog_of

pytestmark = pytest.mark.integration


def _pipeline(conn, upstream_db, downstream_db):
    up = dm.Schema(upstream_db, connection=conn)

    @up
    class Animal(dm.Manual):
        definition = "animal_id: int32"

        class Tag(dm.Part):
            definition = "-> master\ntag: varchar(8)"

    @up
    class Summary(dm.Computed):
        definition = "-> Animal\n---\nn: int32"

        def make(self, key):
            self.insert1(dict(key, n=1))

    down = dm.Schema(downstream_db, connection=conn)

    @down
    class Visit(dm.Manual):
        definition = "-> Animal\nvisit: int16"

    return up, down, Animal, Summary, Visit


def test_drop_refuses_dependants_then_cascades(dm_conn, new_db):
    up_db, down_db = new_db("dropup"), new_db("dropdown")
    up, down, animal, summary, _visit = _pipeline(dm_conn, up_db, down_db)
    animal.insert1({"animal_id": 1})
    summary.populate(reserve_jobs=True)
    assert "~~summary" in catalog_of(dm_conn).hidden_tables(up_db)
    with pytest.raises(dm.DataJointError) as info:
        animal.drop()
    message = str(info.value)
    assert f"`{up_db}`.`__summary`" in message and f"`{down_db}`.`visit`" in message
    assert "2 dependent table(s)" in message and "cascade=True" in message
    assert sorted(up.list_tables()) == ["__summary", "animal", "animal__tag"]
    with pytest.raises(dm.DataJointError, match="drop its master"):
        animal.Tag.drop()
    dropped = animal.drop(cascade=True)
    assert dropped[-1] == f"`{up_db}`.`animal`" and len(dropped) == 4
    assert up.list_tables() == [] and down.list_tables() == []
    assert catalog_of(dm_conn).hidden_tables(up_db) == ["~lineage"]  # ~~summary went too
    rows = dm_conn.query(f"SELECT COUNT(*) FROM `{up_db}`.`~lineage`").fetchone()[0]
    assert rows == 0


def test_drop_leaf_table_and_its_parts(dm_conn, new_db):
    up_db, down_db = new_db("dropleaf"), new_db("dropleaf")
    _up, _down, animal, summary, visit = _pipeline(dm_conn, up_db, down_db)
    assert visit.drop() == [f"`{down_db}`.`visit`"]
    summary.drop()
    assert sorted(animal.drop()) == sorted([f"`{up_db}`.`animal`", f"`{up_db}`.`animal__tag`"])


def test_schema_drop_refuses_other_schemas_dependants(dm_conn, new_db):
    up_db, down_db = new_db("schup"), new_db("schdown")
    up, down, *_ = _pipeline(dm_conn, up_db, down_db)
    with pytest.raises(dm.DataJointError, match=f"`{down_db}`.`visit`"):
        up.drop()
    assert up_db in dm.list_schemas(dm_conn)
    assert up.drop(cascade=True) == [f"`{down_db}`.`visit`"]
    assert up_db not in dm.list_schemas(dm_conn) and down.list_tables() == []
