"""JSON query descriptions on the real server (tests/oracle/query_pipeline.py declared with
LabBook): every feature gives the rows of the equivalent hand-written expression; canonical
descriptions round-trip; keyset paging through descriptions (and JSON) visits every row
once; values never appear in the SQL."""

from __future__ import annotations

import json

import pytest

from pipeline_core import datamodel as dm
from pipeline_core import services
from pipeline_core.datamodel.query_json import to_description, to_query, validate
from pipeline_core.datamodel.query_json.schema import VALIDATOR
from tests.oracle import query_pipeline


def _admin():
    """An unsaved superuser: admin on every schema, no database needed."""
    from django.contrib.auth import get_user_model

    return get_user_model()(username="query-tests", is_superuser=True)


pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab(dm_conn, pipeline_prefix):
    ns = query_pipeline.declare(dm, dm.Schema(pipeline_prefix + "queryjson", connection=dm_conn))
    if not len(ns.Species()):  # a module fixture may be set up twice when tests are reordered
        query_pipeline.load(ns, query_pipeline.rows())
    ns.database = ns.Subject.database
    return ns


def t(name: str) -> dict:
    """A table reference in schema "S" (replaced by the test database by :func:`bind`)."""
    return {"schema": "S", "table": name}


def bind(value, database: str):
    if isinstance(value, dict):
        return {
            k: database if k == "schema" and v == "S" else bind(v, database)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [bind(v, database) for v in value]
    return value


def c(attribute, operator, *value) -> dict:
    d = {"attribute": attribute, "operator": operator}
    if value:
        d["value"] = value[0]
    return d


def count(name, attribute=None, distinct=False) -> dict:
    return {
        "function": "count",
        **({"attribute": attribute} if attribute else {}),
        **({"distinct": True} if distinct else {}),
    }


def agg(function, attribute) -> dict:
    return {"function": function, "attribute": attribute}


#: name -> (canonical description, hand-written expression over the namespace m)
CASES = {
    "table": ({"from": t("subject")}, lambda m: m.Subject),
    "part_table": ({"from": t("session__trial")}, lambda m: m.Session.Trial),
    "eq_quote": (
        {"from": t("subject"), "where": c("notes", "=", "it's quiet")},
        lambda m: m.Subject & {"notes": "it's quiet"},
    ),
    "ne_enum": (
        {"from": t("subject"), "where": c("sex", "!=", "F")},
        lambda m: m.Subject & "sex != 'F'",
    ),
    "lt_date": (
        {"from": t("subject"), "where": c("dob", "<", "2025-06-01")},
        lambda m: m.Subject & "dob < '2025-06-01'",
    ),
    "le_float": (
        {"from": t("subject"), "where": c("weight", "<=", 25.5)},
        lambda m: m.Subject & "weight <= 25.5",
    ),
    "gt_decimal": (
        {"from": t("#lab"), "where": c("budget", ">", 100)},
        lambda m: m.Lab & "budget > 100",
    ),
    "ge_int": (
        {"from": t("session"), "where": c("session_id", ">=", 2)},
        lambda m: m.Session & "session_id >= 2",
    ),
    "in_enum": (
        {"from": t("session__trial"), "where": c("side", "in", ["left", "none"])},
        lambda m: m.Session.Trial & "side in ('left', 'none')",
    ),
    "not_in": (
        {"from": t("subject"), "where": c("species", "not in", ["mouse"])},
        lambda m: m.Subject & "species not in ('mouse')",
    ),
    "like_escaped_percent": (
        {"from": t("subject"), "where": c("notes", "like", "100\\%%")},
        lambda m: m.Subject & "notes like '100\\\\%%'",
    ),
    "like_underscore": (
        {"from": t("subject"), "where": c("notes", "like", "a_b")},
        lambda m: m.Subject & "notes like 'a_b'",
    ),
    "is_null": (
        {"from": t("subject"), "where": c("dob", "is null")},
        lambda m: m.Subject & "dob is null",
    ),
    "is_not_null": (
        {"from": t("session"), "where": c("duration", "is not null")},
        lambda m: m.Session & "duration is not null",
    ),
    "between_dates": (
        {"from": t("session"), "where": c("session_date", "between", ["2026-02-01", "2026-03-15"])},
        lambda m: m.Session & "session_date between '2026-02-01' and '2026-03-15'",
    ),
    "bool": (
        {"from": t("session__trial"), "where": c("correct", "=", True)},
        lambda m: m.Session.Trial & "correct = 1",
    ),
    "and_or_not": (
        {
            "from": t("subject"),
            "where": {
                "and": [
                    {"or": [c("sex", "=", "F"), c("weight", ">", 30)]},
                    {"not": c("dob", "is null")},
                    c("species", "!=", "rat"),
                ]
            },
        },
        lambda m: (
            m.Subject
            & dm.AndList([["sex = 'F'", "weight > 30"], dm.Not("dob is null"), "species != 'rat'"])
        ),
    ),
    "semijoin": (
        {
            "from": t("subject"),
            "where": {"matching": {"from": t("session"), "where": c("rig", "=", "rigA")}},
        },
        lambda m: m.Subject & (m.Session & "rig = 'rigA'"),
    ),
    "antijoin": (
        {"from": t("session"), "where": {"not": {"matching": t("session__trial")}}},
        lambda m: m.Session - m.Session.Trial,
    ),
    "join": (
        {"from": t("session"), "join": [t("subject")], "where": c("species", "=", "mouse")},
        lambda m: (m.Session * m.Subject) & "species = 'mouse'",
    ),
    "join_three": (
        {"from": t("session__trial"), "join": [t("trial_stim"), t("#stimulus")]},
        lambda m: m.Session.Trial * m.TrialStim * m.Stimulus,
    ),
    "cross": (
        {"from": t("#species"), "join": [{**t("#stimulus"), "cross": True}]},
        lambda m: m.Species * m.Stimulus,
    ),
    "proj": (
        {
            "from": t("subject"),
            "proj": {"keep": ["sex", "weight"], "rename": {"animal": "species"}},
        },
        lambda m: m.Subject.proj("sex", "weight", animal="species"),
    ),
    "renamed_join": (
        {
            "from": {
                "from": t("pairing"),
                "proj": {"rename": {"subject_id": "first_subject", "session_id": "first_session"}},
            },
            "join": [t("session")],
        },
        lambda m: (
            m.Pairing.proj(subject_id="first_subject", session_id="first_session") * m.Session
        ),
    ),
    "aggr_count": (
        {"from": t("subject"), "aggr": {"over": t("session"), "compute": {"n": count("n")}}},
        lambda m: m.Subject.aggr(m.Session, n="count(*)"),
    ),
    "aggr_functions": (
        {
            "from": t("session"),
            "aggr": {
                "over": t("session__trial"),
                "compute": {
                    "n": count("n", "trial_id"),
                    "sides": count("sides", "side", distinct=True),
                    "mean_rt": agg("avg", "reaction_time"),
                    "total": agg("sum", "reaction_time"),
                    "fastest": agg("min", "reaction_time"),
                    "slowest": agg("max", "reaction_time"),
                },
                "keep": ["rig"],
            },
        },
        lambda m: m.Session.aggr(
            m.Session.Trial,
            "rig",
            n="count(trial_id)",
            sides="count(distinct side)",
            mean_rt="avg(reaction_time)",
            total="sum(reaction_time)",
            fastest="min(reaction_time)",
            slowest="max(reaction_time)",
        ),
    ),
    "aggr_exclude": (
        {
            "from": t("subject"),
            "aggr": {
                "over": t("session__trial"),
                "compute": {"n": count("n")},
                "exclude_nonmatching": True,
            },
        },
        lambda m: m.Subject.aggr(m.Session.Trial, exclude_nonmatching=True, n="count(*)"),
    ),
    "group": (
        {
            "from": t("session"),
            "group": {
                "by": ["rig"],
                "compute": {"n": count("n"), "first": agg("min", "session_date")},
            },
        },
        lambda m: dm.U("rig").aggr(m.Session, n="count(*)", first="min(session_date)"),
    ),
    "distinct": (
        {"from": t("subject"), "group": {"by": ["species"]}},
        lambda m: dm.U("species") & m.Subject,
    ),
    "group_everything": (
        {"from": t("session__trial"), "group": {"compute": {"n": count("n")}}},
        lambda m: dm.U().aggr(m.Session.Trial, n="count(*)"),
    ),
    "having": (
        {
            "from": {
                "from": t("subject"),
                "aggr": {"over": t("session"), "compute": {"n": count("n")}},
            },
            "where": c("n", ">", 2),
        },
        lambda m: m.Subject.aggr(m.Session, n="count(*)") & "n > 2",
    ),
    "join_aggregation": (
        {
            "from": t("subject"),
            "join": [
                {
                    "from": t("session"),
                    "aggr": {"over": t("session__trial"), "compute": {"trials": count("trials")}},
                }
            ],
            "where": c("trials", ">=", 5),
            "proj": {"keep": ["trials", "species"]},
        },
        lambda m: (
            (m.Subject * m.Session.aggr(m.Session.Trial, trials="count(*)")) & "trials >= 5"
        ).proj("species", "trials"),
    ),
    "blob_table": (
        {"from": t("recording"), "where": c("fs", ">", 1500)},
        lambda m: m.Recording & "fs > 1500",
    ),
    "union": (
        {
            "from": t("subject"),
            "where": c("sex", "=", "F"),
            "proj": {"keep": ["weight"]},
            "union": [
                {
                    "from": t("subject"),
                    "where": c("species", "=", "rat"),
                    "proj": {"rename": {"animal": "species"}},
                }
            ],
        },
        lambda m: (
            (m.Subject & "sex = 'F'").proj("weight")
            + (m.Subject & "species = 'rat'").proj(animal="species")
        ),
    ),
    "union_of_keys": (
        {
            "from": t("session"),
            "proj": {},
            "union": [{"from": t("session__trial"), "group": {"by": ["subject_id", "session_id"]}}],
        },
        lambda m: m.Session.proj() + (dm.U("subject_id", "session_id") & m.Session.Trial),
    ),
    "compute": (
        {
            "from": t("session__trial"),
            "where": c("reaction_time", "is not null"),
            "proj": {
                "compute": {
                    "rt_ms": {
                        "function": "round",
                        "args": [
                            {
                                "function": "*",
                                "args": [{"attribute": "reaction_time"}, {"value": 1000}],
                            },
                            {"value": 1},
                        ],
                    },
                    "label": {
                        "function": "concat",
                        "args": [{"attribute": "side"}, {"attribute": "trial_id"}],
                    },
                }
            },
        },
        lambda m: (m.Session.Trial & "reaction_time is not null").proj(
            rt_ms="round(reaction_time * 1000, 1)", label="concat(side, trial_id)"
        ),
    ),
    "compute_dates": (
        {
            "from": t("subject"),
            "proj": {
                "compute": {
                    "born": {"function": "year", "args": [{"attribute": "dob"}]},
                    "letters": {
                        "function": "length",
                        "args": [{"function": "upper", "args": [{"attribute": "notes"}]}],
                    },
                    "w": {
                        "function": "coalesce",
                        "args": [{"attribute": "weight"}, {"value": -1}],
                    },
                }
            },
        },
        lambda m: m.Subject.proj(
            born="year(dob)", letters="char_length(upper(notes))", w="coalesce(weight, -1)"
        ),
    ),
}


def normal(rows, names):
    def plain(v):
        return v.tolist() if hasattr(v, "tolist") else v

    return sorted(repr(tuple(plain(r[n]) for n in names)) for r in rows)


@pytest.mark.parametrize("name", sorted(CASES))
def test_feature_gives_rows_of_hand_written_expression(lab, dm_conn, name):
    description, hand = CASES[name]
    query = to_query(bind(description, lab.database), dm_conn)
    expected = hand(lab)
    assert query.expression.heading.names == expected.heading.names
    assert query.expression.primary_key == expected.primary_key
    rows = query.expression.to_dicts()
    assert rows, "every case selects something"
    assert normal(rows, expected.heading.names) == normal(
        expected.to_dicts(), expected.heading.names
    )


def test_restrictions_restrict(lab, dm_conn):
    """Guard against a vacuous comparison: the restricted cases select fewer rows."""
    for name in (
        "eq_quote",
        "ne_enum",
        "lt_date",
        "like_escaped_percent",
        "is_null",
        "bool",
        "and_or_not",
        "semijoin",
        "antijoin",
        "having",
    ):
        description, _ = CASES[name]
        restricted = to_query(bind(description, lab.database), dm_conn).expression
        unrestricted = to_query(
            bind({k: v for k, v in description.items() if k != "where"}, lab.database), dm_conn
        ).expression
        assert 0 < len(restricted) < len(unrestricted), name


@pytest.mark.parametrize("name", sorted(CASES))
def test_description_round_trips(lab, dm_conn, name):
    description = bind(CASES[name][0], lab.database)
    query = to_query(description, dm_conn)
    assert to_description(query) == description
    assert json.loads(json.dumps(to_description(query))) == description
    assert list(VALIDATOR.iter_errors(to_description(query))) == []  # the schema's structure
    again = to_query(to_description(query), dm_conn)
    assert again.expression.make_sql() == query.expression.make_sql()


def test_class_names_become_raw_names(lab, dm_conn):
    described = bind(
        {"from": t("Session.Trial"), "join": [t("TrialStim"), t("Stimulus")]}, lab.database
    )
    assert validate(described, dm_conn) == bind(CASES["join_three"][0], lab.database)


PAGED = {
    "nullable_desc": (
        {
            "from": t("session__trial"),
            "order": [{"attribute": "reaction_time", "descending": True}],
        },
        7,
    ),
    "date_and_text": (
        {
            "from": t("session"),
            "order": [{"attribute": "session_date", "descending": True}, {"attribute": "rig"}],
        },
        5,
    ),
    "enum": ({"from": t("session__trial"), "order": [{"attribute": "side"}]}, 13),
    "aggregate": (
        {
            "from": t("subject"),
            "aggr": {"over": t("session"), "compute": {"n": count("n")}},
            "order": [{"attribute": "n", "descending": True}],
        },
        3,
    ),
    "join": (
        {
            "from": t("session"),
            "join": [t("subject")],
            "order": [{"attribute": "species"}, {"attribute": "weight", "descending": True}],
        },
        10,
    ),
    "renamed": (
        {
            "from": t("subject"),
            "proj": {"rename": {"animal": "species"}},
            "order": [{"attribute": "animal"}],
        },
        4,
    ),
    "key_only": ({"from": t("session__trial"), "where": c("correct", "=", False)}, 9),
    "blobs": ({"from": t("recording")}, 6),
}


@pytest.mark.parametrize("name", sorted(PAGED))
def test_keyset_paging_through_descriptions_visits_every_row_once(lab, dm_conn, name):
    description, limit = PAGED[name]
    description = bind(description, lab.database)
    expr = to_query(description, dm_conn).expression
    names = expr.heading.names
    order = [
        f"{o['attribute']} DESC" if o.get("descending") else o["attribute"]
        for o in description.get("order", [])
    ]
    expected = [
        {n: services.json_value(expr.heading[n], r[n]) for n in names}
        for r in expr.to_dicts(order_by=[*order, "KEY"])
    ]
    seen, cursor, pages = [], None, 0
    while True:
        page = dict(description, limit=limit, **({"after": cursor} if cursor else {}))
        result = json.loads(json.dumps(services.run_query(json.loads(json.dumps(page)), _admin())))
        assert result["primary_key"] == expr.primary_key
        assert [h["name"] for h in result["heading"]] == names
        assert result["query"] == page
        assert list(VALIDATOR.iter_errors(result["query"])) == []  # cursors included
        assert len(result["rows"]) <= limit
        seen += result["rows"]
        pages += 1
        cursor = result["cursor"]
        if cursor is None:
            break
        assert pages <= len(expected)
    assert seen == expected  # every row once, in order
    assert pages == max(1, -(-len(expected) // limit))


def test_values_are_parameters_not_sql(lab, dm_conn):
    values = [
        "it's quiet",
        "2025-06-01",
        25.5,
        "rigA",
        1234567,
        "a_b",
        "2026-03-15",
        "left",
        "none",
    ]
    description = bind(
        {
            "from": t("session__trial"),
            "join": [t("session"), t("subject")],
            "where": {
                "or": [
                    c("notes", "=", values[0]),
                    c("dob", ">", values[1]),
                    c("weight", "between", [values[2], 99.25]),
                    {
                        "matching": {
                            "from": t("session"),
                            "where": c("rig", "!=", values[3]),
                            "proj": {},
                        }
                    },
                    c("subject_id", "not in", [values[4], 7654321]),
                    c("notes", "like", values[5]),
                    c("session_date", "<=", values[6]),
                    c("side", "in", [values[7], values[8]]),
                ]
            },
        },
        lab.database,
    )
    query = to_query(description, dm_conn)
    sql, params = query.expression.make_sql()
    for value in [*values[:7], 99.25, 7654321]:
        assert str(value) not in sql, value
    assert sql.count("%s") == len(params) == 11
    assert all(value in params for value in values)
    assert query.expression.to_dicts() is not None  # runs
