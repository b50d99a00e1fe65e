"""Unions and computed attributes in JSON query descriptions, without a database: errors name
the path of the part at fault, canonical descriptions round-trip, computations compile to
quoted attributes and numbers only (headings and ``resolve`` from test_query_json)."""

from __future__ import annotations

import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.errors import QueryError
from pipeline_core.datamodel.query_json import to_description, validate
from tests.unit.test_query_json import T, cmp, error, parse, resolve


def fn(function, *args):
    return {"function": function, "args": list(args)}


def a(name):
    return {"attribute": name}


def v(number):
    return {"value": number}


def keys_of(table, where=None):
    """The primary key of ``table`` only (a union's operands share no secondary attribute)."""
    d = {"from": T(table), "proj": {}}
    if where is not None:
        d["where"] = where
    return d


CANONICAL = [
    {
        "from": T("subject"),
        "where": cmp("sex", "=", "F"),
        "proj": {},
        "union": [{"from": T("subject"), "where": cmp("weight", ">", 30), "proj": {}}],
    },
    {  # different secondary attributes: the other operand's are NULL
        "from": T("subject"),
        "proj": {"keep": ["sex"]},
        "union": [
            {"from": T("subject"), "proj": {"rename": {"w": "weight"}}},
            {"from": T("subject"), "proj": {"compute": {"w2": fn("*", a("weight"), v(2))}}},
        ],
    },
    {
        "from": {
            "from": T("session"),
            "proj": {},
            "union": [{"from": T("session__trial"), "group": {"by": ["subject_id", "session_id"]}}],
        },
        "where": cmp("session_id", ">", 1),
    },
    {
        "from": T("session__trial"),
        "proj": {
            "keep": ["rt"],
            "rename": {"ok": "correct"},
            "compute": {
                "rt_ms": fn("round", fn("*", a("rt"), v(1000)), v(1)),
                "half": fn("/", a("trial_id"), v(2.5)),
                "rt_or_zero": fn("coalesce", a("rt"), v(0)),
            },
        },
    },
    {
        "from": T("subject"),
        "proj": {
            "compute": {
                "shout": fn("upper", a("notes")),
                "label": fn("concat", a("notes"), a("sex"), a("subject_id")),
                "born": fn("year", a("dob")),
                "letters": fn("length", fn("lower", a("notes"))),
            }
        },
        "where": cmp("sex", "!=", "U"),
    },
    {  # restrict by a computed attribute: nest
        "from": {
            "from": T("session__trial"),
            "proj": {"compute": {"slow": fn("-", a("rt"), v(-0.5))}},
        },
        "where": cmp("slow", ">", 1),
        "order": [{"attribute": "slow", "descending": True}],
    },
]


@pytest.mark.parametrize("index", range(len(CANONICAL)))
def test_canonical_descriptions_round_trip(index):
    description = CANONICAL[index]
    query = parse(description)
    canonical = to_description(query)
    assert validate(canonical, resolve=resolve) == canonical
    assert to_description(parse(canonical)) == canonical


def test_the_canonical_order_of_stages():
    described = CANONICAL[4]
    assert list(to_description(parse(described))) == ["from", "where", "proj"]
    assert to_description(parse(CANONICAL[0])) == CANONICAL[0]
    assert to_description(parse(CANONICAL[3])) == CANONICAL[3]


def test_nested_unions_flatten():
    d = {
        "from": {"from": T("subject"), "proj": {}, "union": [keys_of("subject")]},
        "union": [keys_of("subject", cmp("sex", "=", "M"))],
    }
    assert validate(d, resolve=resolve) == {
        "from": T("subject"),
        "proj": {},
        "union": [keys_of("subject"), keys_of("subject", cmp("sex", "=", "M"))],
    }


BAD = {
    "union_keys": (
        {"from": T("subject"), "proj": {}, "union": [keys_of("session")]},
        "union[0]",
        ["same primary key", "(subject_id)", "(subject_id, session_id)"],
    ),
    "union_shared_secondary": (
        {"from": T("subject"), "union": [keys_of("note"), T("subject")]},
        "union[0]",
        ["same primary key"],
    ),
    "union_common_attribute": (
        {"from": T("subject"), "union": [T("subject")]},
        "union[0]",
        ["common secondary", "species"],
    ),
    "union_not_a_list": ({"from": T("subject"), "union": T("subject")}, "union", ["array"]),
    "union_empty": ({"from": T("subject"), "union": []}, "union", ["at least 1"]),
    "union_bad_table": (
        {"from": T("subject"), "union": [keys_of("subject"), T("nope")]},
        "union[1].table",
        ["nope"],
    ),
    "compute_unknown_function": (
        {"from": T("subject"), "proj": {"compute": {"x": fn("sleep", v(5))}}},
        "proj.compute.x.function",
        ["'sleep'", "concat"],
    ),
    "compute_sql_text": (
        {"from": T("subject"), "proj": {"compute": {"x": "weight * 2"}}},
        "proj.compute.x",
        ["computation", "string"],
    ),
    "compute_unknown_attribute": (
        {"from": T("subject"), "proj": {"compute": {"x": fn("+", a("wieght"), v(1))}}},
        "proj.compute.x.args[0].attribute",
        ["'wieght'"],
    ),
    "compute_injection": (
        {"from": T("subject"), "proj": {"compute": {"x": fn("abs", a("weight`) -- "))}}},
        "proj.compute.x.args[0].attribute",
        ["unknown attribute"],
    ),
    "compute_arity": (
        {"from": T("subject"), "proj": {"compute": {"x": fn("-", a("weight"))}}},
        "proj.compute.x.args",
        ["- takes 2 argument(s), not 1"],
    ),
    "compute_kind": (
        {"from": T("subject"), "proj": {"compute": {"x": fn("upper", a("weight"))}}},
        "proj.compute.x.args[0]",
        ["upper takes text", "`weight`"],
    ),
    "compute_nested_kind": (
        {
            "from": T("subject"),
            "proj": {"compute": {"x": fn("+", v(1), fn("lower", a("notes")))}},
        },
        "proj.compute.x.args[1]",
        ["+ takes a number", "text"],
    ),
    "compute_date_kind": (
        {"from": T("subject"), "proj": {"compute": {"x": fn("year", a("notes"))}}},
        "proj.compute.x.args[0]",
        ["a date or datetime"],
    ),
    "compute_blob": (
        {"from": T("subject"), "proj": {"compute": {"x": fn("length", a("signal"))}}},
        "proj.compute.x.args[0].attribute",
        ["cannot compute", "signal"],
    ),
    "compute_round_digits": (
        {"from": T("subject"), "proj": {"compute": {"x": fn("round", a("weight"), v(1.5))}}},
        "proj.compute.x.args[1]",
        ["digits"],
    ),
    "compute_bare_attribute": (
        {"from": T("subject"), "proj": {"compute": {"x": a("weight")}}},
        "proj.compute.x",
        ["rename"],
    ),
    "compute_name_taken": (
        {
            "from": T("subject"),
            "proj": {"keep": ["weight"], "compute": {"weight": fn("abs", a("weight"))}},
        },
        "proj.compute.weight",
        ["already exists"],
    ),
    "compute_name_key": (
        {"from": T("subject"), "proj": {"compute": {"subject_id": fn("abs", a("weight"))}}},
        "proj.compute.subject_id",
        ["already exists"],
    ),
    "compute_bad_name": (
        {"from": T("subject"), "proj": {"compute": {"X y": fn("abs", a("weight"))}}},
        "proj.compute.X y",
        ["invalid new attribute name"],
    ),
    "compute_string_value": (
        {"from": T("subject"), "proj": {"compute": {"x": fn("concat", a("notes"), v("'"))}}},
        "proj.compute.x.args[1].value",
        ["number", "string"],
    ),
    "compute_unknown_key": (
        {"from": T("subject"), "proj": {"compute": {"x": {"function": "abs", "arg": []}}}},
        "proj.compute.x.arg",
        ["unknown key", "args"],
    ),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_description_names_path_and_culprit(name):
    description, path, words = BAD[name]
    e = error(description)
    assert e.path == path, (e.path, str(e))
    for word in words:
        assert word in str(e), (word, str(e))


def test_computations_compile_to_quoted_attributes_and_numbers():
    query = parse(CANONICAL[3])
    sql, params = query.expression.make_sql()
    assert "ROUND((`rt` * (1000)), (1)) AS `rt_ms`" in sql
    assert "(`trial_id` / (2.5)) AS `half`" in sql
    assert "COALESCE(`rt`, (0)) AS `rt_or_zero`" in sql
    assert params == []


def test_a_union_compiles_with_its_values_as_parameters():
    sql, params = parse(CANONICAL[0]).expression.make_sql()
    assert "UNION" in sql and params == ["F", 30]


def test_computation_values_are_checked():
    for bad in [
        lambda: dm.Computation("exec", ("a",)),
        lambda: dm.Computation("-", ("a",)),
        lambda: dm.Computation("abs", ("a", "b")),
        lambda: dm.Computation("abs", (float("nan"),)),
        lambda: dm.Computation("abs", (True,)),
        lambda: dm.Computation("abs", (b"x",)),
    ]:
        with pytest.raises(QueryError):
            bad()
    c = dm.Computation("CONCAT", ["a", dm.Computation("lower", ("b",)), 3])
    assert c.function == "concat" and c.args[2] == 3 and c.attributes() == ["a", "b"]


def test_a_computation_of_an_unknown_attribute_is_refused_when_built():
    base = parse({"from": T("subject")}).expression
    with pytest.raises(QueryError, match="nope"):
        base.proj(x=dm.Computation("abs", ("nope",)))
    expr = base.proj(x=dm.Computation("abs", ("weight",)))
    assert to_description(expr)["proj"] == {"compute": {"x": fn("abs", a("weight"))}}
