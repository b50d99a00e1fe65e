"""Introspection shared across requests (issue 14, part 6): pages read the schemas from the
process-wide cache (:class:`pipeline_core.datamodel.catalog_cache.SharedCatalog`), check it
once per request by a fingerprint, and show at once what another program declared,
altered or dropped. The other program is the real ``datajoint`` package, on a connection
of its own, while LabBook's cache is warm."""

from __future__ import annotations

import threading
import time
import types

import pytest
from django.urls import reverse

from pipeline_core import datamodel as dm
from pipeline_core import services
from pipeline_core.datamodel.catalog import catalog_of
from pipeline_core.datamodel.catalog_cache import SharedCatalog
from pipeline_core.services.state import PipelineSession

pytestmark = [pytest.mark.integration, pytest.mark.oracle]

ANIMAL = """
# animals of the lab
animal_id: int32
---
nickname: varchar(32)  # what people call it
"""


@pytest.fixture(scope="module")
def dj(dj_params):
    """The real ``datajoint`` package (test-only oracle)."""
    import warnings

    warnings.filterwarnings("ignore", message=".*MariaDB is not officially supported.*")
    warnings.filterwarnings("ignore", message=".*datajoint.json.*")
    import datajoint

    datajoint.config["safemode"] = False
    return datajoint


@pytest.fixture(scope="module")
def dj_conn(dj, dj_params):
    conn = dj.Connection(
        f"{dj_params['host']}:{dj_params['port']}", dj_params["user"], dj_params["password"]
    )
    yield conn
    conn.close()


@pytest.fixture
def lab(dj, dj_conn, new_db):
    """A schema declared by datajoint with one Manual table, ``Animal``."""
    database = new_db("cache")
    schema = dj.Schema(database, connection=dj_conn)
    animal = schema(type("Animal", (dj.Manual,), {"definition": ANIMAL}), context={})
    animal.insert1({"animal_id": 1, "nickname": "Rex"})
    return types.SimpleNamespace(schema=schema, Animal=animal, database=database)


def server():
    return SharedCatalog.server_of(services.connection())


def warm(client, url: str, database: str) -> str:
    """Request ``url`` until the shared cache holds ``database`` as the request read it (a
    snapshot is shared once its newest DDL is more than a second old); the last page's
    HTML."""
    for _ in range(60):
        response = client.get(url)
        assert response.status_code == 200, url
        shared = PipelineSession.catalogs.get(server(), database)
        version = catalog_of(services.connection()).version(database)
        if shared is not None and version is not None and shared.fingerprint.value == version:
            return response.content.decode()
        time.sleep(0.1)
    raise AssertionError(f"{database} never reached the shared cache")


def schema_url(lab) -> str:
    return reverse("web:schema", args=[lab.database])


def animal_url(lab) -> str:
    return reverse("web:table", args=[lab.database, lab.Animal.table_name])


def test_a_table_declared_elsewhere_shows_on_the_next_request(lab_client, lab, dj):
    html = warm(lab_client, schema_url(lab), lab.database)
    assert ">Animal<" in html and ">Cage<" not in html
    assert "Used by" not in warm(lab_client, animal_url(lab), lab.database)
    lab.schema(
        type("Cage", (dj.Manual,), {"definition": "cage_id: int32\n---\n-> Animal"}),
        context={"Animal": lab.Animal},
    )
    assert ">Cage<" in lab_client.get(schema_url(lab)).content.decode()
    node = f'id="dag&#45;{lab.database}&#45;cage"'  # the diagram, also once it is kept again
    assert node in warm(lab_client, schema_url(lab), lab.database)
    assert node in lab_client.get(schema_url(lab)).content.decode()
    used_by = lab_client.get(animal_url(lab)).content.decode().split("Used by:", 1)[1]
    assert ">Cage</a>" in used_by.split("</p>", 1)[0]
    cage = reverse("web:table", args=[lab.database, "cage"])
    assert lab_client.get(cage).status_code == 200
    home = lab_client.get("/").content.decode()
    row = home[home.index(schema_url(lab)) :].split("</tr>", 1)[0]
    assert row.rstrip().endswith('<td class="num">2</td>')  # Animal and Cage


def test_comments_altered_elsewhere_show_even_twice_in_one_second(lab_client, lab):
    html = warm(lab_client, animal_url(lab), lab.database)
    assert "what people call it" in html
    for comment in ("its name", "the name on its cage"):  # two ALTERs, likely one second
        lab.Animal.definition = ANIMAL.replace("what people call it", comment)
        lab.Animal().alter(prompt=False)
        html = lab_client.get(animal_url(lab)).content.decode()
        assert f"<td>{comment}</td>" in html, comment
    assert "what people call it" not in html and "<td>its name</td>" not in html


def test_a_table_dropped_elsewhere_is_gone(lab_client, lab):
    warm(lab_client, animal_url(lab), lab.database)
    lab.Animal.drop()
    assert lab_client.get(animal_url(lab)).status_code == 404
    assert ">Animal<" not in lab_client.get(schema_url(lab)).content.decode()


def recorded(fn):
    """``fn()``'s result and the statements this thread's connection sent meanwhile."""
    conn = services.connection()
    statements: list[tuple[str, object]] = []
    conn.on_query = lambda sql, params: statements.append((sql, params))
    try:
        return fn(), statements
    finally:
        conn.on_query = None


INTROSPECTION = ("information_schema.columns", "key_column_usage", "statistics", "~lineage")


def introspecting(statements) -> list[str]:
    """The statements reading a schema's definition (the fingerprint query excepted)."""
    return [
        sql
        for sql, _ in statements
        if any(word in sql for word in INTROSPECTION) and "create_time" not in sql
    ]


def test_a_warm_request_reads_only_fingerprints(lab_client, lab):
    warm(lab_client, animal_url(lab), lab.database)
    response, statements = recorded(lambda: lab_client.get(animal_url(lab)))
    assert response.status_code == 200 and "Rex" in response.content.decode()
    assert introspecting(statements) == []
    fingerprinted = [d for sql, params in statements if "create_time" in sql for d in params]
    assert lab.database in fingerprinted
    assert len(fingerprinted) == len(set(fingerprinted))  # each database once per request
    # the same request with the cache emptied reads the schema again: the check can fail
    PipelineSession.catalogs.forget(server())
    catalog_of(services.connection()).invalidate()
    response, statements = recorded(lambda: lab_client.get(animal_url(lab)))
    assert response.status_code == 200 and introspecting(statements)


def in_thread(function):
    """``function()`` run in a new thread, which closes its pipeline session after."""
    result = {}

    def run():
        try:
            result["value"] = function()
        finally:
            PipelineSession.current().close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    return result["value"]


def test_other_threads_take_the_shared_snapshot(lab_client, lab):
    warm(lab_client, animal_url(lab), lab.database)
    shared = PipelineSession.catalogs.get(server(), lab.database)

    def request():
        services.begin_request()
        return recorded(lambda: services.table_info(lab.database, lab.Animal.table_name))

    info, statements = in_thread(request)
    assert info is shared.tables[info.ref]  # the very object another thread read
    assert introspecting(statements) == []


def test_labbook_ddl_forgets_the_shared_snapshot(lab_client, lab):
    warm(lab_client, schema_url(lab), lab.database)
    schema = dm.Schema(lab.database, connection=services.connection())
    schema(
        type("Tag", (dm.Lookup,), {"definition": "tag: varchar(16)\n---\nlabel: varchar(64)"}),
        context={},
    )
    assert PipelineSession.catalogs.get(server(), lab.database) is None
    assert ">Tag<" in lab_client.get(schema_url(lab)).content.decode()
