"""Copy as Python without a database: the scripts :func:`python_code` writes for JSON query
descriptions (golden texts of both flavours), names that are not identifiers, and hostile
values that must stay literals (checked on the syntax tree). The scripts are run against the
server in tests/integration/test_query_python.py."""

from __future__ import annotations

import ast

import pytest

from pipeline_core.datamodel.query_json.python_code import python_code
from tests.unit.test_query_json import CANONICAL
from tests.unit.test_query_json_union_compute import CANONICAL as MORE


def T(name, schema="lab"):
    return {"schema": schema, "table": name}


SESSIONS = {
    "from": T("session"),
    "join": [T("subject")],
    "where": {
        "and": [
            {"attribute": "species", "operator": "=", "value": "mouse"},
            {
                "or": [
                    {"attribute": "rig", "operator": "in", "value": ["a", "b"]},
                    {"attribute": "dob", "operator": "is null"},
                ]
            },
            {"not": {"matching": T("__detection", "imaging")}},
        ]
    },
    "aggr": {
        "over": T("session__trial"),
        "keep": ["session_date"],
        "compute": {"trials": {"function": "count", "attribute": "trial_id", "distinct": True}},
    },
    "order": [{"attribute": "session_date", "descending": True}],
    "limit": 50,
}


def test_the_datamodel_script():
    assert python_code(SESSIONS) == (
        "from pipeline_core import datamodel as dm\n"
        "\n"
        "# host, user and password from dm.config (or: dm.conn(host, user, password))\n"
        "connection = dm.conn()\n"
        "lab = dm.VirtualModule('lab', 'lab', connection=connection)\n"
        "imaging = dm.VirtualModule('imaging', 'imaging', connection=connection)\n"
        "\n"
        "query = lab.Session * lab.Subject\n"
        "query = query & dm.Comparison('species', '=', 'mouse')\n"
        "query = query & [dm.Comparison('rig', 'in', ['a', 'b']), "
        "dm.Comparison('dob', 'is null')]\n"
        "query = query - imaging.Detection\n"
        "query = query.aggr(lab.Session.Trial, 'session_date', "
        "trials=dm.Aggregate('count', 'trial_id', distinct=True))\n"
        "rows = query.to_dicts(order_by=['session_date DESC', 'KEY'], limit=50)\n"
    )


def test_the_datajoint_script():
    assert python_code(SESSIONS, "datajoint") == (
        "import datajoint as dj\n"
        "\n"
        "lab = dj.VirtualModule('lab', 'lab')\n"
        "imaging = dj.VirtualModule('imaging', 'imaging')\n"
        "\n"
        "query = lab.Session * lab.Subject\n"
        "query = query & {'species': 'mouse'}\n"
        "query = query & [\"`rig` IN ('a', 'b')\", '`dob` IS NULL']\n"
        "query = query - imaging.Detection\n"
        "query = query.proj('session_date') * query.aggr(lab.Session.Trial, "
        "trials='count(distinct `trial_id`)')\n"
        "rows = query.to_dicts(order_by=['session_date DESC', 'KEY'], limit=50)\n"
    )


def test_nested_queries_become_variables():
    d = {
        "from": {
            "from": T("subject"),
            "aggr": {"over": T("session"), "compute": {"n": {"function": "count"}}},
        },
        "where": {"attribute": "n", "operator": ">", "value": 1},
        "union": [{"from": T("subject"), "proj": {}}],
    }
    code = python_code(d)
    assert (
        "q1 = lab.Subject\nq1 = q1.aggr(lab.Session, n=dm.Aggregate('count'))\nquery = q1\n" in code
    )
    assert (
        "query = query & dm.Comparison('n', '>', 1)\n"
        "q2 = lab.Subject\nq2 = q2.proj()\nquery = query + q2\n" in code
    )
    assert "rows = query.to_dicts(order_by=['KEY'])" in code


@pytest.mark.parametrize("flavour", ["datamodel", "datajoint"])
@pytest.mark.parametrize("index", range(len(CANONICAL) + len(MORE)))
def test_every_canonical_description_gives_a_script_that_compiles(flavour, index):
    description = (CANONICAL + MORE)[index]
    code = python_code(description, flavour)
    compile(code, "<copied>", "exec")
    if description.get("after"):
        assert "`after` is not applied" in code


def test_odd_names():
    d = {
        "from": T("Session.Trial", "2024-lab"),
        "join": [T("#species", "query"), T("weird table", "lab"), T("~jobs", "lab")],
        "proj": {"rename": {"from": "rig", "class": "species", "ok": "sex"}},
        "group": {"by": ["species"]},
    }
    code = python_code(d)
    compile(code, "<copied>", "exec")
    assert (
        "schema_2024_lab = dm.VirtualModule('2024-lab', '2024-lab', connection=connection)" in code
    )
    assert "schema_query = dm.VirtualModule('query', 'query'" in code
    assert "query = schema_2024_lab.Session.Trial * schema_query.Species" in code
    assert "dm.FreeTable(connection, '`lab`.`weird table`')" in code
    assert "dm.FreeTable(connection, '`lab`.`~jobs`')" in code
    assert ".proj(ok='sex', **{'from': 'rig', 'class': 'species'})" in code
    assert "query = dm.U('species') & query" in code
    with pytest.raises(ValueError, match="flavour"):
        python_code(d, "sql")


def test_hostile_values_stay_literals():
    hostile = "x'); __import__('os').system('true'); ('"
    d = {
        "from": T("subject"),
        "where": {
            "or": [
                {"attribute": "notes", "operator": "=", "value": hostile},
                {"attribute": "notes", "operator": "like", "value": hostile + "\\%"},
                {"attribute": "notes", "operator": "in", "value": [hostile, "\\'"]},
            ]
        },
        "proj": {"compute": {"n": {"function": "length", "args": [{"attribute": "notes"}]}}},
    }
    for flavour in ("datamodel", "datajoint"):
        tree = ast.parse(python_code(d, flavour))
        calls = {
            node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
        }
        assert calls <= {"conn", "VirtualModule", "Comparison", "Computation", "proj", "to_dicts"}
        strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)]
        if flavour == "datamodel":
            assert hostile in strings and hostile + "\\%" in strings
        else:  # quoted in SQL text: ' doubled, \\ escaped
            sql = [s for s in strings if isinstance(s, str) and "`notes`" in s]
            assert "`notes` LIKE 'x''); __import__(''os'').system(''true''); (''\\\\%'" in sql
