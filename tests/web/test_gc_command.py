"""``manage.py pipeline gc STORE [--dry-run] [--schema S]`` over the configured stores
(LABBOOK_STORES), and the system check of LABBOOK_STORES."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from pipeline_core import datamodel as dm
from pipeline_core import services

pytestmark = pytest.mark.integration


@pytest.fixture
def store_settings(settings, tmp_path):
    location = tmp_path / "store"
    location.mkdir()
    settings.LABBOOK_STORES = {
        "default": "main",
        "main": {"protocol": "file", "location": str(location)},
    }
    services.begin_request()
    return settings.LABBOOK_STORES


@pytest.fixture
def stored_table(store_settings, dj_params, pipeline_prefix, new_db):
    conn = dm.connect(
        dj_params["host"],
        dj_params["user"],
        dj_params["password"],
        port=int(dj_params["port"]),
        stores=store_settings,
    )
    schema = dm.Schema(new_db("gc"), connection=conn)

    @schema
    class Scan(dm.Manual):
        definition = """
        scan_id: int32
        ---
        image: <blob@main>
        raw=null: <object@>
        """

    Scan.insert([dict(scan_id=i, image=np.full(50, i), raw=f"raw {i}".encode()) for i in range(3)])
    yield Scan
    conn.close()


def run(*args) -> str:
    out = io.StringIO()
    call_command("pipeline", "gc", *args, "--min-age", "0", stdout=out)
    return out.getvalue()


def test_gc_dry_run_lists_then_gc_deletes(stored_table):
    (stored_table & {"scan_id": 2}).delete_quick()
    database = stored_table.database
    out = run("main", "--dry-run", "--schema", database)
    assert "4 referenced, 2 unreferenced" in out and "would delete 2" in out
    assert f"_hash/{database}/" in out and f"_schema/{database}/scan/scan_id=2/raw_" in out
    assert len(run("main", "--dry-run", "--schema", database).splitlines()) == 3  # nothing deleted
    out = run("main")  # every schema under the prefix
    assert "deleted 2" in out
    assert "0 unreferenced" in run("main", "--schema", database)
    assert stored_table.fetch("raw", order_by="KEY")[1].read() == b"raw 1"


def test_gc_errors_are_command_errors(store_settings):
    with pytest.raises(CommandError, match="Storage 'nostore' is requested but not configured"):
        run("nostore", "--dry-run")
    with pytest.raises(CommandError, match="does not exist or is not visible"):
        run("main", "--schema", "not_a_prefixed_schema")


def test_system_check_reports_bad_store_settings(settings, tmp_path):
    from pipeline_core.checks import check_stores

    settings.LABBOOK_STORES = {"main": {"protocol": "file"}}
    assert [m.id for m in check_stores()] == ["labbook.E001"]
    assert "missing: location" in check_stores()[0].msg
    settings.LABBOOK_STORES = {"main": {"protocol": "file", "location": str(tmp_path / "none")}}
    assert [m.id for m in check_stores()] == ["labbook.W001"]
    settings.LABBOOK_STORES = {"main": {"protocol": "file", "location": str(tmp_path)}}
    assert check_stores() == []
