"""Hostile JSON query descriptions, run through the data model and through POST /api/v1/query/:
hostile strings as values (every operator) are compared literally — the same rows as the
same predicate sent by hand with PyMySQL parameters — or refused with a clear error; as
schema, table, attribute, rename and aggregate names they are refused with the path named.
Afterwards every table of the database still exists with the same row count."""

from __future__ import annotations

import json

import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.errors import QueryDescriptionError, QuerySyntaxError
from pipeline_core.datamodel.query_json import to_query
from tests.oracle import query_pipeline

pytestmark = pytest.mark.integration

HOSTILE = [
    "'; DROP TABLE x; --",
    "\\' OR 1=1 -- ",
    "' OR '1'='1",
    '" OR ""="',
    "`x`; DROP TABLE `x`",
    "` OR 1=1 --",
    "%s",
    "%(x)s %%s",
    "a\x00' OR 1=1 --",
    "\x00",
    "\\",
    "%",
    "_",
    "*/ OR 1=1 /*",
    "\n; DELETE FROM subject; --",
    "☃ ünïcödé 𝔘𝔫𝔦 \u202e",
    "x" * 300,
]

#: operator -> (SQL predicate on `notes` for PyMySQL, description value for a hostile h)
TEXT_OPERATORS = {
    "=": ("`notes` = %s", lambda h: h),
    "!=": ("`notes` != %s", lambda h: h),
    "<": ("`notes` < %s", lambda h: h),
    "<=": ("`notes` <= %s", lambda h: h),
    ">": ("`notes` > %s", lambda h: h),
    ">=": ("`notes` >= %s", lambda h: h),
    "like": ("`notes` LIKE %s", lambda h: h),
    "in": ("`notes` IN (%s, %s)", lambda h: [h, "ok"]),
    "not in": ("`notes` NOT IN (%s, %s)", lambda h: [h, "ok"]),
    "between": ("`notes` BETWEEN %s AND %s", lambda h: [h, h + "~"]),
}


@pytest.fixture(scope="module")
def lab(dm_conn, pipeline_prefix):
    schema = dm.Schema(pipeline_prefix + "queryinject", connection=dm_conn)
    ns = query_pipeline.declare(dm, schema)
    if not len(ns.Species()):  # pytest-django runs the API tests first: set up twice per session
        query_pipeline.load(ns, query_pipeline.rows())

    @schema
    class X(dm.Manual):  # the canary the hostile strings try to drop
        definition = """
        x_id: int32
        ---
        x_note: varchar(40)
        """

    X.insert([{"x_id": 1, "x_note": "still here"}], skip_duplicates=True)
    ns.X = X
    ns.database = ns.Subject.database
    return ns


@pytest.fixture(scope="module")
def raw(dj_params):
    """An independent PyMySQL connection (for the hand-sent predicates and the snapshot)."""
    from tests.conftest import connect_pipeline_server

    conn = connect_pipeline_server(dj_params)
    yield conn
    conn.close()


def snapshot(raw, database: str) -> dict:
    """Every table of the database (hidden ones included) with its row count."""
    with raw.cursor() as cur:
        cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [database]
        )
        names = sorted(name for (name,) in cur.fetchall())
        counts = {}
        for name in names:
            cur.execute("SELECT COUNT(*) FROM `{}`.`{}`".format(database, name.replace("`", "``")))
            counts[name] = cur.fetchone()[0]
    return counts


@pytest.fixture(scope="module")
def before(lab, raw):
    counts = snapshot(raw, lab.database)
    assert counts["x"] == 1 and counts["subject"] == 14 and "~lineage" in counts
    return counts


def hand_count(raw, database: str, predicate: str, params: list) -> int:
    with raw.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM `{database}`.`subject` WHERE {predicate}", params)
        return cur.fetchone()[0]


def table(lab, name="subject"):
    return {"schema": lab.database, "table": name}


def value_descriptions(lab):
    """(description, expected row count or None for 'must be refused') for every hostile value
    with every operator, on text, integer, date, enum and float attributes."""
    cases = []
    for h in HOSTILE:
        for op, (predicate, value) in TEXT_OPERATORS.items():
            params = value(h) if isinstance(value(h), list) else [value(h)]
            cases.append(
                (
                    {
                        "from": table(lab),
                        "where": {"attribute": "notes", "operator": op, "value": value(h)},
                    },
                    ("notes", predicate, params),
                )
            )
        cases.append(
            (
                {"from": table(lab), "where": {"attribute": "sex", "operator": "=", "value": h}},
                ("sex", "`sex` = %s", [h]),
            )
        )
        cases.append(
            (
                {
                    "from": table(lab),
                    "where": {"attribute": "notes", "operator": "is null", "value": h},
                },
                None,
            )
        )
        for attribute in ("subject_id", "dob", "weight"):
            for op in ("=", "in", "between"):
                value = h if op == "=" else [h, h]
                cases.append(
                    (
                        {
                            "from": table(lab),
                            "where": {"attribute": attribute, "operator": op, "value": value},
                        },
                        None,
                    )
                )
    return cases


def test_hostile_values_compare_literally_or_are_refused(lab, dm_conn, raw, before):
    checked = refused = 0
    for description, expected in value_descriptions(lab):
        if expected is None:
            with pytest.raises(QueryDescriptionError) as info:
                to_query(description, dm_conn)
            assert info.value.path in ("where.value", "where.value[0]"), info.value
            refused += 1
            continue
        _attribute, predicate, params = expected
        query = to_query(description, dm_conn)
        sql, _sql_params = query.expression.make_sql()
        for param in params:
            assert param not in sql or param in (
                "%s",
                "%",
                "_",
                "\\",
            )  # short ones occur in any SQL
        assert len(query.expression.to_dicts()) == hand_count(
            raw, lab.database, predicate, params
        ), description
        checked += 1
    assert checked == len(HOSTILE) * (len(TEXT_OPERATORS) + 1) and refused == len(HOSTILE) * 10
    assert snapshot(raw, lab.database) == before


def test_hostile_equality_matches_nothing(lab, dm_conn, before, raw):
    for h in HOSTILE:
        for attribute in ("notes", "species", "sex"):
            rows = to_query(
                {
                    "from": table(lab),
                    "where": {"attribute": attribute, "operator": "=", "value": h},
                },
                dm_conn,
            ).expression.to_dicts()
            assert rows == [], (attribute, h)
    assert snapshot(raw, lab.database) == before


def name_descriptions(lab, h):
    """Descriptions with the hostile string ``h`` as every kind of name, and the path of the
    error each must raise."""
    agg = {"over": table(lab, "session"), "compute": {"n": {"function": "count"}}}
    return [
        ({"from": {"schema": h, "table": "subject"}}, "from.schema"),
        ({"from": {"schema": lab.database + h, "table": "subject"}}, "from.schema"),
        ({"from": table(lab, h)}, "from.table"),
        ({"from": table(lab, "subject" + h)}, "from.table"),
        (
            {"from": table(lab), "where": {"attribute": h, "operator": "=", "value": 1}},
            "where.attribute",
        ),
        (
            {"from": table(lab), "where": {"attribute": "notes", "operator": h, "value": 1}},
            "where.operator",
        ),
        ({"from": table(lab), "where": {"matching": table(lab, h)}}, "where.matching.table"),
        ({"from": table(lab), "join": [table(lab, h)]}, "join[0].table"),
        ({"from": table(lab), "proj": {"keep": [h]}}, "proj.keep[0]"),
        (
            {"from": table(lab), "proj": {"rename": {h: "notes"}}},
            f"proj.rename.{h[:63] + '…' if len(h) > 64 else h}",
        ),
        ({"from": table(lab), "proj": {"rename": {"n": h}}}, "proj.rename.n"),
        (
            {"from": table(lab), "aggr": dict(agg, compute={h: {"function": "count"}})},
            f"aggr.compute.{h[:63] + '…' if len(h) > 64 else h}",
        ),
        (
            {"from": table(lab), "aggr": dict(agg, compute={"n": {"function": h}})},
            "aggr.compute.n.function",
        ),
        (
            {
                "from": table(lab),
                "aggr": dict(agg, compute={"n": {"function": "max", "attribute": h}}),
            },
            "aggr.compute.n.attribute",
        ),
        ({"from": table(lab), "aggr": dict(agg, keep=[h])}, "aggr.keep[0]"),
        ({"from": table(lab), "group": {"by": [h]}}, "group.by[0]"),
        ({"from": table(lab), "order": [{"attribute": h}]}, "order[0].attribute"),
        ({"from": table(lab), "after": {h: 1}}, "after." + (h[:63] + "…" if len(h) > 64 else h)),
    ]


def test_hostile_names_are_refused_with_path(lab, dm_conn, raw, before):
    for h in HOSTILE:
        for description, path in name_descriptions(lab, h):
            with pytest.raises(QueryDescriptionError) as info:
                to_query(description, dm_conn)
            assert info.value.path == path, (description, str(info.value))
    assert snapshot(raw, lab.database) == before


# --- the same through the API ---------------------------------------------------------------------
@pytest.fixture
def api(client, lab_user):
    client.force_login(lab_user)

    def post(description):
        return client.post(
            "/api/v1/query/", data=json.dumps(description), content_type="application/json"
        )

    return post


def test_hostile_values_through_api(lab, api, raw, before):
    for description, expected in value_descriptions(lab):
        response = api(description)
        if expected is None:
            assert response.status_code == 400, response.content
            body = response.json()
            assert body["path"] in ("where.value", "where.value[0]") and body["error"].startswith(
                body["path"]
            )
            continue
        assert response.status_code == 200, response.content
        _attribute, predicate, params = expected
        assert len(response.json()["rows"]) == min(
            100, hand_count(raw, lab.database, predicate, params)
        )
    assert snapshot(raw, lab.database) == before


def test_hostile_names_through_api(lab, api, raw, before):
    for h in HOSTILE:
        for description, path in name_descriptions(lab, h):
            response = api(description)
            body = response.json()
            if path == "from.schema" and response.status_code == 404:
                continue  # a well-formed name outside the visible schemas
            assert response.status_code == 400, (description, body)
            assert body["path"] == path and body["error"].startswith(path), body
    assert snapshot(raw, lab.database) == before


def test_hostile_bodies_through_api(lab, api, client, raw, before):
    for body in [
        "'; DROP TABLE x; --",
        "[" * 100_000 + "]" * 100_000,
        '{"from": NaN}',
        "\x00",
        "{}",
        "[]",
        "null",
    ]:
        response = client.post("/api/v1/query/", data=body, content_type="application/json")
        assert response.status_code == 400, (body[:20], response.content[:200])
        assert "error" in response.json() and response.json()["path"] in ("", "from")
    deep = {"attribute": "notes", "operator": "=", "value": "x"}
    for _ in range(500):
        deep = {"not": deep}
    response = api({"from": table(lab), "where": deep})
    assert response.status_code == 400 and "nested too deeply" in response.json()["error"]
    assert snapshot(raw, lab.database) == before


# --- the same through the Python builder (the operators the JSON description stands on) -------
def test_hostile_values_through_the_builder(lab, raw, before):
    """As values (restriction by dict, Comparison, numpy record, keyset cursor) hostile
    strings are compared literally: the same row count as the hand-sent predicate, and the
    string never appears in the SQL; on numeric and date attributes they are refused."""
    import numpy as np

    from pipeline_core.datamodel.paging import page

    S = lab.Subject
    for h in HOSTILE:
        expected = hand_count(raw, lab.database, "`notes` = %s", [h])
        record = np.array([(h,)], dtype=[("notes", object)])[0]  # object: numpy strips NULs of U
        for expr in (
            S & {"notes": h},
            S & dm.Comparison("notes", "=", h),
            S & record,
            S & [{"notes": h}, {"notes": h + "~"}] & {"notes": h},
            S - dm.Not({"notes": h}),
        ):
            sql, params = expr.make_sql()
            assert h in params and (h not in sql or h in ("%s", "%", "_", "\\")), h
            assert len(expr) == len(expr.to_dicts()) == expected, h
        after = hand_count(
            raw, lab.database, "`notes` > %s OR (`notes` = %s AND `subject_id` > 1)", [h, h]
        )
        rows, _ = page(S, ["notes"], {"notes": h, "subject_id": 1}, 100)
        assert len(rows) == after, h
        for attribute in ("subject_id", "dob", "weight"):
            with pytest.raises(dm.InvalidValueError, match=f"`{attribute}`"):
                (S & {attribute: h}).to_dicts()
            with pytest.raises(dm.InvalidValueError, match=f"`{attribute}`"):
                page(S, [attribute], {"subject_id": 1, attribute: h}, 5)
    assert snapshot(raw, lab.database) == before


def builder_names(lab, h):
    """Builder calls with the hostile string ``h`` as every kind of name."""
    S, Session = lab.Subject, lab.Session
    return [
        lambda: S & dm.Comparison(h, "=", 1),
        lambda: S & dm.Comparison("notes", h, "x"),
        lambda: S.proj(h),
        lambda: S.proj("-" + h),
        lambda: S.proj(**{h: "notes"}),
        lambda: S.proj(**{h: "(notes)"}),
        lambda: S.aggr(Session, **{h: dm.Aggregate("count")}),
        lambda: S.aggr(Session, n=dm.Aggregate("max", h)),
        lambda: S.aggr(Session, h, n=dm.Aggregate("count")),
        lambda: dm.U(h) & S,
        lambda: dm.U(h).aggr(S, n=dm.Aggregate("count")),
        lambda: S & dm.Top(3, h),
        lambda: S.to_dicts(order_by=[h]),
        lambda: S.to_dicts(order_by="notes " + h),
        lambda: S.fetch(h),
        lambda: S.to_arrays(h),
        lambda: S.fetch1(h),
        lambda: (S & {"subject_id": 1}).fetch1(h),
    ]


def _call_and_run(call):
    """``call()``, then the query it returns (if any) run."""
    result = call()
    if isinstance(result, dm.QueryExpression):
        result.to_dicts()


def test_hostile_names_through_the_builder(lab, raw, before):
    """As attribute names, operators, orderings or new names hostile strings are refused
    with a DataJointError that names them, before any SQL runs."""
    for h in HOSTILE:
        if h == "_":
            continue  # a valid name
        for i, call in enumerate(builder_names(lab, h)):
            with pytest.raises(dm.DataJointError) as info:
                _call_and_run(call)
            assert not isinstance(info.value, QuerySyntaxError), (i, h, info.value)
    assert snapshot(raw, lab.database) == before
