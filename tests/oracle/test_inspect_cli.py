"""``manage.py pipeline inspect`` on a database declared and filled by datajoint 2.3.5:
the JSON report and the text form (issue #3, item 5)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from . import pipelines

pytestmark = pytest.mark.oracle


@pytest.fixture(scope="module")
def dj_schema(dj, dj_conn, pipeline_prefix):
    database = pipeline_prefix + "cli_dj"
    classes = pipelines.declare(dj, dj.Schema(database, connection=dj_conn))
    classes["Subject"].insert1(dict(subject_id=1, subject_name="a", species="mus musculus"))
    classes["Session"].insert(
        [dict(subject_id=1, session_id=k, session_date="2026-01-01", notes=str(k)) for k in (1, 2)]
    )
    return database, classes


def _inspect(*args) -> str:
    out = io.StringIO()
    call_command("pipeline", "inspect", *args, stdout=out)
    return out.getvalue()


def test_json_report(dj_schema, dj, dj_conn):
    database, classes = dj_schema
    report = json.loads(_inspect(database))
    schema = report["schemas"][database]
    tables = {t["table_name"]: t for t in schema["tables"]}
    assert set(tables) == {cls.table_name for cls in classes.values()} | {
        classes["Session"].Trial.table_name,
        classes["Analysis"].Detail.table_name,
    }
    assert "~lineage" in schema["hidden_tables"]
    session = tables["session"]
    assert (session["tier"], session["class_name"], session["primary_key"]) == (
        "Manual",
        "Session",
        ["subject_id", "session_id"],
    )
    assert session["row_count"] == len(classes["Session"]())
    assert tables["subject"]["row_count"] == len(classes["Subject"]())
    attrs = {a["name"]: a for a in session["attributes"]}
    assert attrs["subject_id"]["type"] == "int32" and attrs["subject_id"]["sql_type"] == "int(11)"
    assert attrs["notes"]["default"] == "" and not attrs["notes"]["nullable"]
    assert attrs["alt_species"]["nullable"] and attrs["alt_species"]["type"] == "varchar(32)"
    photo = {a["name"]: a for a in tables["subject"]["attributes"]}["photo"]
    assert (photo["codec"], photo["type"], photo["store"]) == ("blob", "<blob>", None)
    assert session["foreign_keys"][1] == {
        "parent": f"`{database}`.`#species`",
        "attr_map": {"alt_species": "species"},
        "primary": False,
        "nullable": True,
        "unique": False,
    }
    assert {"columns": ["notes", "session_date"], "unique": True} in session["indexes"]
    trial = tables["session__trial"]
    assert (trial["tier"], trial["master"], trial["class_name"]) == (
        "Part",
        "session",
        "Session.Trial",
    )


def test_text_report_and_errors(dj_schema):
    database, classes = dj_schema
    text = _inspect(database, "--format", "text")
    assert f"## `{database}`.`session` (Manual)" in text
    assert classes["Session"].describe(context=classes) in text
    with pytest.raises(CommandError, match="`no_such_schema_x` does not exist"):
        _inspect("no_such_schema_x")
