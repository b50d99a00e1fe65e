""" "Copy as Python" on the real server: for every description of the corpus (the features of
tests/integration/test_query_json.py, plus order and limit), the generated
``pipeline_core.datamodel`` script is executed in this process and its rows are those
``services.run_query`` gives for the description, in the same order; the ``datajoint``
flavour, run by the real datajoint package, gives the same rows too."""

from __future__ import annotations

import json

import pytest

from pipeline_core import services
from pipeline_core.datamodel.query_json import to_query, validate
from pipeline_core.datamodel.query_json.python_code import python_code
from pipeline_core.services.query import json_value
from tests.integration.test_query_json import CASES, _admin, bind, c, lab  # noqa: F401

pytestmark = pytest.mark.integration

#: More descriptions: order, limit, a keyword as a new name, nested matching in an OR.
MORE = {
    "ordered_limited": {
        "from": {"schema": "S", "table": "session"},
        "join": [{"schema": "S", "table": "subject"}],
        "where": {
            "and": [
                c("species", "!=", "rat"),
                {"or": [c("sex", "=", "F"), c("rig", "like", "rig%")]},
            ]
        },
        "aggr": {
            "over": {"schema": "S", "table": "session__trial"},
            "keep": ["session_date"],
            "compute": {"trials": {"function": "count", "attribute": "trial_id"}},
        },
        "order": [{"attribute": "trials", "descending": True}, {"attribute": "session_date"}],
        "limit": 7,
    },
    "keyword_names": {
        "from": {"schema": "S", "table": "subject"},
        "proj": {
            "rename": {"class": "species", "from": "sex"},
            "compute": {"lambda": {"function": "abs", "args": [{"attribute": "weight"}]}},
        },
        "order": [{"attribute": "class"}],
        "limit": 20,
    },
    "or_with_semijoin": {
        "from": {"schema": "S", "table": "subject"},
        "where": {
            "or": [
                c("weight", "<", 20),
                {
                    "matching": {
                        "from": {"schema": "S", "table": "session"},
                        "where": c("rig", "=", "rigB"),
                    }
                },
                {"not": {"matching": {"schema": "S", "table": "session"}}},
            ]
        },
        "limit": 50,
    },
}


def corpus(database: str) -> dict[str, dict]:
    found = {name: description for name, (description, _) in CASES.items()}
    found.update(MORE)
    return {name: bind(d, database) for name, d in found.items()}


def run_script(source: str) -> dict:
    namespace: dict = {}
    exec(compile(source, "<copied query>", "exec"), namespace)  # the user's notebook
    return namespace


def page_rows(description: dict) -> list[dict]:
    """The rows ``services.run_query`` gives (as JSON), every page of them."""
    rows, cursor = [], None
    while True:
        page = dict(description, **({"after": cursor} if cursor else {}))
        result = json.loads(json.dumps(services.run_query(page, _admin())))
        rows += result["rows"]
        cursor = result["cursor"]
        if cursor is None or description.get("limit"):
            return rows


def as_json(expr, rows: list[dict]) -> list[dict]:
    heading = expr.heading
    return json.loads(
        json.dumps([{n: json_value(heading[n], v) for n, v in row.items()} for row in rows])
    )


@pytest.mark.parametrize("name", sorted({*CASES, *MORE}))
def test_copied_python_gives_the_rows_of_the_query(lab, dm_conn, name):  # noqa: F811
    description = validate(corpus(lab.database)[name], dm_conn)
    source = python_code(description)
    namespace = run_script(source)
    expected = page_rows(description)
    assert expected, "every description selects something"
    query = namespace["query"]
    assert query.heading.names == to_query(description, dm_conn).expression.heading.names
    assert as_json(query, namespace["rows"]) == expected


def test_the_script_reads_like_datajoint(lab, dm_conn):  # noqa: F811
    description = validate(corpus(lab.database)["ordered_limited"], dm_conn)
    source = python_code(description)
    module = lab.database
    assert source.startswith("from pipeline_core import datamodel as dm\n")
    assert f"{module} = dm.VirtualModule({module!r}, {module!r}, connection=connection)" in source
    assert f"query = {module}.Session * {module}.Subject\n" in source
    assert "query = query & dm.Comparison('species', '!=', 'rat')\n" in source
    assert f"query.aggr({module}.Session.Trial, 'session_date', trials=dm.Aggregate(" in source
    assert (
        "rows = query.to_dicts(order_by=['trials DESC', 'session_date', 'KEY'], limit=7)" in source
    )


def test_hostile_values_stay_values(lab, dm_conn):  # noqa: F811
    hostile = "x'); import os; os.remove('/tmp/never') #\\"
    description = bind(
        {"from": {"schema": "S", "table": "subject"}, "where": c("notes", "=", hostile)},
        lab.database,
    )
    for flavour in ("datamodel", "datajoint"):
        source = python_code(description, flavour)
        assert "import os" not in source.replace(repr(hostile), "").replace(
            repr({"notes": hostile}), ""
        )
    namespace = run_script(python_code(description))
    assert namespace["rows"] == []


# --- the datajoint flavour, run by datajoint ----------------------------------------------------


@pytest.fixture
def dj_configured(dj_params):
    import warnings

    warnings.filterwarnings("ignore", message=".*MariaDB is not officially supported.*")
    import datajoint as dj

    with dj.config.override(
        database__host=dj_params["host"],
        database__port=int(dj_params["port"]),
        database__user=dj_params["user"],
        database__password=dj_params["password"],
    ):
        dj.conn(reset=True)
        yield dj
    dj.conn().close()


DJ_CASES = [
    "and_or_not",
    "antijoin",
    "semijoin",
    "join",
    "proj",
    "aggr_functions",
    "group",
    "distinct",
    "union",
    "compute",
    "compute_dates",
    "like_escaped_percent",
    "eq_quote",
    "ordered_limited",
    "or_with_semijoin",
    "keyword_names",
    "between_dates",
    "in_enum",
]


def test_copied_datajoint_code_gives_the_same_rows(lab, dm_conn, dj_configured):  # noqa: F811
    from tests.oracle.query_compare import canonical

    descriptions = corpus(lab.database)

    def rows(namespace):  # sorted: datajoint 2.3 does not order a union's rows by KEY
        return sorted(
            repr(tuple((k, canonical(v)) for k, v in r.items())) for r in namespace["rows"]
        )

    for name in DJ_CASES:
        description = validate(descriptions[name], dm_conn)
        theirs = run_script(python_code(description, "datajoint"))
        ours = run_script(python_code(description))
        assert rows(theirs) == rows(ours), name
        assert rows(ours), name
