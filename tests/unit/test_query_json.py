"""JSON query descriptions without a database: validation errors name the path, the attribute
or operator for many bad descriptions; canonical descriptions round-trip; values become
parameters. Headings are built here (``resolve`` stands for the catalog)."""

from __future__ import annotations

import copy

import pytest

from pipeline_core.datamodel import MissingTableError
from pipeline_core.datamodel.errors import QueryDescriptionError, QueryError
from pipeline_core.datamodel.heading import Attribute, Heading, TableInfo
from pipeline_core.datamodel.query_json import (
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_LIMIT,
    MAX_LIST,
    MAX_STRING,
    MAX_TABLES,
    to_description,
    to_query,
    validate,
)


def attr(name, type_="int32", key=False, lineage=None, nullable=False, **extra):
    return Attribute(
        name=name,
        type=type_,
        sql_type=extra.pop("sql_type", type_),
        in_key=key,
        nullable=nullable,
        default=None,
        default_is_expression=False,
        comment="",
        lineage=lineage,
        **extra,
    )


def info(table, *attrs, legacy=False):
    return TableInfo("lab", table, "", Heading(list(attrs)), (), (), 0, legacy)


SUBJECT_ID = dict(key=True, lineage="lab.subject.subject_id")
TABLES = [
    info(
        "#species",
        attr("species", "varchar(16)", key=True, lineage="lab.#species.species"),
        attr("common_name", "varchar(32)"),
    ),
    info(
        "subject",
        attr("subject_id", **SUBJECT_ID),
        attr("species", "varchar(16)", lineage="lab.#species.species"),
        attr("dob", "date", nullable=True),
        attr("weight", "float64", nullable=True),
        attr("notes", "varchar(200)"),
        attr("sex", "enum('F','M','U')"),
        attr("signal", "<blob>", sql_type="longblob", codec="blob", is_blob=True),
        attr("meta", "json", nullable=True),
    ),
    info(
        "session",
        attr("subject_id", **SUBJECT_ID),
        attr("session_id", "int16", key=True, lineage="lab.session.session_id"),
        attr("session_date", "date"),
        attr("rig", "varchar(8)"),
    ),
    info(
        "session__trial",
        attr("subject_id", **SUBJECT_ID),
        attr("session_id", "int16", key=True, lineage="lab.session.session_id"),
        attr("trial_id", "int16", key=True, lineage="lab.session__trial.trial_id"),
        attr("rt", "float64", nullable=True),
        attr("correct", "bool"),
    ),
    info(
        "stimulus",
        attr("stim_id", "int16", key=True, lineage="lab.stimulus.stim_id"),
        attr("stim_name", "varchar(20)"),
    ),
    info(
        "note", attr("note_id", key=True, lineage="lab.note.note_id"), attr("notes", "varchar(200)")
    ),
]


def resolve(schema, name):
    if schema != "lab":
        raise MissingTableError(f"no schema `{schema}`")
    for table in TABLES:
        if name in (table.table_name, table.class_name):
            return table
    raise MissingTableError(
        f"no table or class `{name}` in schema `{schema}`", table=f"`{schema}`.`{name}`"
    )


def T(name):
    return {"schema": "lab", "table": name}


def parse(description):
    return to_query(description, resolve=resolve)


def error(description) -> QueryDescriptionError:
    with pytest.raises(QueryDescriptionError) as info_:
        parse(description)
    return info_.value


def cmp(attribute, operator, *value):
    d = {"attribute": attribute, "operator": operator}
    if value:
        d["value"] = value[0]
    return d


def where(condition, table="subject"):
    return {"from": T(table), "where": condition}


# --- bad descriptions: (description, path, words the message must contain) ----------------------
BAD = {
    "not_an_object": (["subject"], "", ["query", "object", "array"]),
    "missing_from": ({"where": cmp("weight", ">", 1)}, "from", ["from"]),
    "unknown_top_key": (
        {"from": T("subject"), "select": ["x"]},
        "select",
        ["unknown key", "'select'"],
    ),
    "unknown_schema": ({"from": {"schema": "nolab", "table": "subject"}}, "from.schema", ["nolab"]),
    "unknown_table": ({"from": T("nope")}, "from.table", ["`nope`"]),
    "unknown_class": ({"from": T("Session.Nope")}, "from.table", ["Session.Nope"]),
    "table_not_string": (
        {"from": {"schema": "lab", "table": 3}},
        "from.table",
        ["invalid table name"],
    ),
    "table_backquote": (  # a name the server accepts, quoted: no such table
        {"from": T("subject`; DROP TABLE x; --")},
        "from.table",
        ["no table or class", "subject`; DROP TABLE x; --"],
    ),
    "table_nul": ({"from": T("subject\x00")}, "from.table", ["invalid table name"]),
    "schema_injection": (
        {"from": {"schema": "lab`.`x", "table": "subject"}},
        "from.schema",
        ["no schema", "lab`.`x"],
    ),
    "schema_trailing_space": (
        {"from": {"schema": "lab ", "table": "subject"}},
        "from.schema",
        ["invalid schema name"],
    ),
    "table_extra_key": (
        {"from": {"schema": "lab", "table": "subject", "alias": "s"}},
        "from.alias",
        ["unknown key"],
    ),
    "cross_in_from": ({"from": {**T("subject"), "cross": True}}, "from.cross", ["unknown key"]),
    "unknown_attribute": (where(cmp("wieght", ">", 1)), "where.attribute", ["'wieght'", "weight"]),
    "attribute_backquote": (
        where(cmp("weight` > 0 OR 1=1 -- ", ">", 1)),
        "where.attribute",
        ["unknown attribute"],
    ),
    "attribute_not_string": (
        where(cmp(["weight"], ">", 1)),
        "where.attribute",
        ["attribute name", "array"],
    ),
    "unknown_operator": (where(cmp("weight", "=>", 1)), "where.operator", ["'=>'", "between"]),
    "operator_sql": (
        where(cmp("weight", "> 0 OR 1=1 --", 1)),
        "where.operator",
        ["unknown operator"],
    ),
    "operator_case": (where(cmp("weight", "IS NULL")), "where.operator", ["unknown operator"]),
    "nested_unknown_attribute": (
        where(
            {"and": [cmp("weight", ">", 1), {"or": [cmp("sex", "=", "F"), cmp("bogus", "=", 1)]}]}
        ),
        "where.and[1].or[1].attribute",
        ["'bogus'"],
    ),
    "in_scalar": (where(cmp("subject_id", "in", 3)), "where.value", ["array", "number"]),
    "in_empty": (where(cmp("subject_id", "in", [])), "where.value", ["at least 1"]),
    "in_nested_list": (where(cmp("subject_id", "in", [1, [2]])), "where.value[1]", ["array"]),
    "in_null": (where(cmp("subject_id", "in", [1, None])), "where.value[1]", ["is null"]),
    "between_three": (where(cmp("weight", "between", [1, 2, 3])), "where.value", ["[low, high]"]),
    "between_scalar": (where(cmp("weight", "between", 1)), "where.value", ["array"]),
    "eq_list": (
        where(cmp("weight", "=", [1])),
        "where.value",
        ["string, number or boolean", "array"],
    ),
    "eq_object": (where(cmp("weight", "=", {"$gt": 1})), "where.value", ["object"]),
    "eq_null": (where(cmp("weight", "=", None)), "where.value", ["is null"]),
    "missing_value": (where(cmp("weight", ">")), "where.value", ["needs a value"]),
    "null_with_value": (where(cmp("weight", "is null", 1)), "where.value", ["takes no value"]),
    "bad_int": (where(cmp("subject_id", "=", "1 OR 1=1")), "where.value", ["subject_id", "int32"]),
    "bad_date": (where(cmp("dob", ">", "yesterday")), "where.value", ["dob", "date"]),
    "bad_in_item": (where(cmp("subject_id", "in", [1, "x"])), "where.value[1]", ["subject_id"]),
    "empty_int": (where(cmp("subject_id", "=", "")), "where.value", ["empty", "is null"]),
    "nan": (where(cmp("weight", ">", float("nan"))), "where.value", ["finite"]),
    "huge_int": (where(cmp("subject_id", "=", 10**30)), "where.value", ["out of range"]),
    "long_string": (where(cmp("notes", "=", "x" * (MAX_STRING + 1))), "where.value", ["longer"]),
    "like_number": (where(cmp("notes", "like", 5)), "where.value", ["like"]),
    "like_on_number": (where(cmp("weight", "like", "1%")), "where.attribute", ["like", "text"]),
    "blob_compare": (where(cmp("signal", "=", "x")), "where.attribute", ["signal", "compare"]),
    "json_compare": (where(cmp("meta", "is null")), "where.attribute", ["meta", "compare"]),
    "empty_and": (where({"and": []}), "where.and", ["at least 1"]),
    "or_not_list": (where({"or": cmp("weight", ">", 1)}), "where.or", ["array", "object"]),
    "condition_string": (where("weight > 1"), "where", ["condition", "string"]),
    "condition_unknown": (where({"xor": [cmp("weight", ">", 1)]}), "where", ["condition", "xor"]),
    "condition_mixed": (where({**cmp("weight", ">", 1), "or": []}), "where.or", ["unknown key"]),
    "not_bad": (where({"not": 1}), "where.not", ["condition", "number"]),
    "matching_bad_table": (where({"matching": T("nope")}), "where.matching.table", ["nope"]),
    "matching_lineage": (
        where({"matching": T("note")}),
        "where.matching",
        ["`notes`", "origin", "proj"],
    ),
    "join_no_common": ({"from": T("subject"), "join": [T("stimulus")]}, "join[0]", ["cross"]),
    "join_cross_shared": (
        {"from": T("subject"), "join": [{**T("session"), "cross": True}]},
        "join[0].cross",
        ["subject_id"],
    ),
    "join_cross_not_bool": (
        {"from": T("subject"), "join": [{**T("stimulus"), "cross": 1}]},
        "join[0].cross",
        ["true or false"],
    ),
    "join_lineage": ({"from": T("subject"), "join": [T("note")]}, "join[0]", ["`notes`", "origin"]),
    "join_not_list": ({"from": T("subject"), "join": T("session")}, "join", ["array"]),
    "join_empty": ({"from": T("subject"), "join": []}, "join", ["at least 1"]),
    "proj_unknown": (
        {"from": T("subject"), "proj": {"keep": ["nope"]}},
        "proj.keep[0]",
        ["'nope'"],
    ),
    "proj_key": (
        {"from": T("subject"), "proj": {"keep": ["subject_id"]}},
        "proj.keep[0]",
        ["primary key"],
    ),
    "proj_twice": (
        {"from": T("subject"), "proj": {"keep": ["sex", "sex"]}},
        "proj.keep[1]",
        ["twice"],
    ),
    "proj_expression": (
        {"from": T("subject"), "proj": {"rename": {"w2": "weight * 2"}}},
        "proj.rename.w2",
        ["unknown attribute", "weight * 2"],
    ),
    "proj_sql_name": (
        {"from": T("subject"), "proj": {"rename": {"x` FROM y; --": "weight"}}},
        "proj.rename.x` FROM y; --",
        ["invalid new attribute name"],
    ),
    "proj_reserved": (
        {"from": T("subject"), "proj": {"rename": {"self": "weight"}}},
        "proj.rename.self",
        ["invalid new attribute name"],
    ),
    "proj_clash": (
        {"from": T("subject"), "proj": {"keep": ["sex"], "rename": {"sex": "notes"}}},
        "proj.rename.sex",
        ["already exists"],
    ),
    "proj_same": (
        {"from": T("subject"), "proj": {"rename": {"sex": "sex"}}},
        "proj.rename.sex",
        ["rename"],
    ),
    "proj_free_key": (
        {"from": T("subject"), "proj": {"expressions": {"a": "1"}}},
        "proj.expressions",
        ["unknown key"],
    ),
    "aggr_unknown_function": (
        {
            "from": T("subject"),
            "aggr": {
                "over": T("session"),
                "compute": {"n": {"function": "group_concat", "attribute": "rig"}},
            },
        },
        "aggr.compute.n.function",
        ["group_concat", "count"],
    ),
    "aggr_sql_function": (
        {
            "from": T("subject"),
            "aggr": {
                "over": T("session"),
                "compute": {"n": {"function": "count(*)); DROP TABLE x; --"}},
            },
        },
        "aggr.compute.n.function",
        ["unknown aggregate"],
    ),
    "aggr_unknown_attribute": (
        {
            "from": T("subject"),
            "aggr": {
                "over": T("session"),
                "compute": {"n": {"function": "max", "attribute": "nope"}},
            },
        },
        "aggr.compute.n.attribute",
        ["'nope'"],
    ),
    "aggr_sum_text": (
        {
            "from": T("subject"),
            "aggr": {
                "over": T("session"),
                "compute": {"n": {"function": "sum", "attribute": "rig"}},
            },
        },
        "aggr.compute.n.attribute",
        ["numeric", "rig"],
    ),
    "aggr_max_no_attribute": (
        {
            "from": T("subject"),
            "aggr": {"over": T("session"), "compute": {"n": {"function": "max"}}},
        },
        "aggr.compute.n.attribute",
        ["needs an attribute"],
    ),
    "aggr_name": (
        {
            "from": T("subject"),
            "aggr": {"over": T("session"), "compute": {"N-1": {"function": "count"}}},
        },
        "aggr.compute.N-1",
        ["invalid new attribute name"],
    ),
    "aggr_name_reserved": (
        {
            "from": T("subject"),
            "aggr": {"over": T("session"), "compute": {"group": {"function": "count"}}},
        },
        "aggr.compute.group",
        ["invalid new attribute name"],
    ),
    "aggr_name_taken": (
        {
            "from": T("subject"),
            "aggr": {"over": T("session"), "compute": {"subject_id": {"function": "count"}}},
        },
        "aggr.compute.subject_id",
        ["already exists"],
    ),
    "aggr_missing_key": (
        {
            "from": T("session"),
            "aggr": {"over": T("subject"), "compute": {"n": {"function": "count"}}},
        },
        "aggr.over",
        ["session_id"],
    ),
    "aggr_empty": (
        {"from": T("subject"), "aggr": {"over": T("session"), "compute": {}}},
        "aggr.compute",
        ["at least one"],
    ),
    "aggr_distinct_type": (
        {
            "from": T("subject"),
            "aggr": {
                "over": T("session"),
                "compute": {"n": {"function": "count", "attribute": "rig", "distinct": "yes"}},
            },
        },
        "aggr.compute.n.distinct",
        ["true or false"],
    ),
    "aggr_and_group": (
        {
            "from": T("session"),
            "aggr": {"over": T("session__trial"), "compute": {"n": {"function": "count"}}},
            "group": {"by": ["rig"]},
        },
        "group",
        ["either"],
    ),
    "group_unknown": ({"from": T("session"), "group": {"by": ["nope"]}}, "group.by[0]", ["'nope'"]),
    "group_blob": ({"from": T("subject"), "group": {"by": ["signal"]}}, "group.by[0]", ["signal"]),
    "group_empty": ({"from": T("session"), "group": {}}, "group.compute", ["at least one"]),
    "order_unknown": (
        {"from": T("subject"), "order": [{"attribute": "nope"}]},
        "order[0].attribute",
        ["'nope'"],
    ),
    "order_sql": (
        {"from": T("subject"), "order": [{"attribute": "weight DESC, (SELECT 1)"}]},
        "order[0].attribute",
        ["unknown attribute"],
    ),
    "order_string": (
        {"from": T("subject"), "order": ["weight"]},
        "order[0]",
        ["order item", "string"],
    ),
    "order_descending_type": (
        {"from": T("subject"), "order": [{"attribute": "weight", "descending": "yes"}]},
        "order[0].descending",
        ["true or false"],
    ),
    "order_twice": (
        {"from": T("subject"), "order": [{"attribute": "sex"}, {"attribute": "sex"}]},
        "order[1]",
        ["twice"],
    ),
    "order_blob": (
        {"from": T("subject"), "order": [{"attribute": "signal"}]},
        "order[0].attribute",
        ["order"],
    ),
    "order_after_proj": (
        {"from": T("subject"), "proj": {}, "order": [{"attribute": "weight"}]},
        "order[0].attribute",
        ["'weight'"],
    ),
    "limit_zero": ({"from": T("subject"), "limit": 0}, "limit", ["1"]),
    "limit_big": ({"from": T("subject"), "limit": MAX_LIMIT + 1}, "limit", [str(MAX_LIMIT)]),
    "limit_string": ({"from": T("subject"), "limit": "10; DROP TABLE x"}, "limit", ["integer"]),
    "limit_bool": ({"from": T("subject"), "limit": True}, "limit", ["integer"]),
    "nested_limit": ({"from": {"from": T("subject"), "limit": 3}}, "from.limit", ["top level"]),
    "after_missing": (
        {"from": T("subject"), "order": [{"attribute": "weight"}], "after": {"subject_id": 1}},
        "after.weight",
        ["needs"],
    ),
    "after_extra": (
        {"from": T("subject"), "after": {"subject_id": 1, "x": 2}},
        "after.x",
        ["unknown key"],
    ),
    "after_bad_value": (
        {"from": T("subject"), "after": {"subject_id": "one"}},
        "after.subject_id",
        ["subject_id"],
    ),
    "after_not_object": ({"from": T("subject"), "after": [1]}, "after", ["cursor", "array"]),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_description_names_path_and_culprit(name):
    description, path, words = BAD[name]
    exc = error(description)
    assert exc.path == path, (exc.path, str(exc))
    assert isinstance(exc, QueryError)  # front doors map it to 400
    for word in words:
        assert word.lower() in str(exc).lower(), (word, str(exc))
    assert str(exc).startswith(f"{path or 'query'}: ")


def test_unknown_attribute_error_names_attribute():
    exc = error(where({"not": cmp("wieght", "<", 3)}))
    assert exc.path == "where.not.attribute" and exc.attribute == "wieght"


def chain(depth):
    condition = cmp("weight", ">", 1)
    for _ in range(depth):
        condition = {"not": condition}
    return condition


def test_depth_limit():
    parse(where(chain(MAX_DEPTH - 2)))
    exc = error(where(chain(MAX_DEPTH + 5)))
    assert "nested too deeply" in str(exc) and exc.path.startswith("where.not.not")
    nested = T("subject")
    for _ in range(MAX_DEPTH):
        nested = {"from": nested}
    parse(nested)
    assert "nested too deeply" in str(error({"from": {"from": nested}}))


def test_hostile_recursion_is_bounded():
    condition = cmp("weight", ">", 1)
    for _ in range(5000):  # deeper than Python's recursion limit
        condition = {"and": [condition]}
    assert "nested too deeply" in str(error(where(condition)))


def test_size_limits():
    exc = error(where(cmp("subject_id", "in", list(range(MAX_LIST + 1)))))
    assert exc.path == "where.value" and "too many" in str(exc)
    many = {
        "or": [{"and": [cmp("subject_id", "=", i)] * 10} for i in range(MAX_CONDITIONS // 10 + 1)]
    }
    exc = error(where(many))
    assert "too many conditions" in str(exc)
    parse(where({"and": [{"matching": T("session")}] * (MAX_TABLES - 1)}))
    exc = error(where({"and": [{"matching": T("session")}] * MAX_TABLES}))
    assert "too many tables" in str(exc) and exc.path == f"where.and[{MAX_TABLES - 1}].matching"
    exc = error(
        {"from": T("subject"), "proj": {"rename": {f"a{i}": "weight" for i in range(MAX_LIST + 1)}}}
    )
    assert exc.path == "proj.rename" and "too many" in str(exc)


def test_wrong_types_everywhere():
    for description, path in [
        ({"from": "subject"}, "from"),
        ({"from": None}, "from"),
        ({"from": T("subject"), "where": None}, "where"),
        ({"from": T("subject"), "proj": ["sex"]}, "proj"),
        ({"from": T("subject"), "proj": {"keep": "sex"}}, "proj.keep"),
        ({"from": T("subject"), "proj": {"rename": [["a", "sex"]]}}, "proj.rename"),
        (
            {
                "from": T("subject"),
                "aggr": {"over": T("session"), "compute": [{"function": "count"}]},
            },
            "aggr.compute",
        ),
        (
            {"from": T("subject"), "aggr": {"over": T("session"), "compute": {"n": "count(*)"}}},
            "aggr.compute.n",
        ),
        ({"from": T("subject"), "order": {"attribute": "sex"}}, "order"),
        ({"from": T("subject"), "limit": 1.5}, "limit"),
    ]:
        assert error(description).path == path, description


def test_description_not_modified():
    description = where(
        {"and": [cmp("subject_id", "in", [1, 2]), {"not": cmp("weight", "is null")}]}
    )
    before = copy.deepcopy(description)
    parse(description)
    assert description == before


# --- round trips and SQL --------------------------------------------------------------------------
CANONICAL = [
    {"from": T("subject")},
    {"from": T("session__trial"), "where": cmp("rt", "between", [0.2, 0.5])},
    where(
        {
            "and": [
                cmp("species", "in", ["mouse", "rat"]),
                {"or": [cmp("dob", ">=", "2025-01-01"), cmp("dob", "is null")]},
                {"not": cmp("notes", "like", "%quiet%")},
                cmp("sex", "!=", "U"),
            ]
        }
    ),
    where({"matching": {"from": T("session"), "where": cmp("rig", "=", "rigA")}}),
    where({"not": {"matching": T("session")}}),
    {
        "from": T("session"),
        "join": [
            T("subject"),
            {"from": T("#species"), "where": cmp("common_name", "like", "%mouse")},
        ],
        "where": cmp("weight", "<", 30),
        "proj": {"keep": ["session_date", "weight"], "rename": {"animal": "species"}},
    },
    {
        "from": T("subject"),
        "join": [{**T("stimulus"), "cross": True}],
        "proj": {"keep": ["stim_name"]},
    },
    {
        "from": T("subject"),
        "aggr": {
            "over": T("session__trial"),
            "compute": {
                "n": {"function": "count"},
                "trials": {"function": "count", "attribute": "trial_id", "distinct": True},
                "mean_rt": {"function": "avg", "attribute": "rt"},
            },
            "keep": ["sex"],
            "exclude_nonmatching": True,
        },
    },
    {
        "from": {
            "from": T("subject"),
            "aggr": {"over": T("session"), "compute": {"n": {"function": "count"}}},
        },
        "where": cmp("n", ">", 1),
        "proj": {"rename": {"sessions": "n"}},
    },
    {
        "from": T("session"),
        "group": {
            "by": ["rig"],
            "compute": {"first": {"function": "min", "attribute": "session_date"}},
        },
    },
    {"from": T("session"), "group": {"by": ["rig"]}},
    {
        "from": T("session__trial"),
        "group": {"compute": {"total": {"function": "sum", "attribute": "rt"}}},
    },
    {
        "from": T("subject"),
        "proj": {"rename": {"sid": "subject_id"}},
        "order": [{"attribute": "sid", "descending": True}],
        "limit": 5,
        "after": {"sid": 3},
    },
    {
        "from": T("subject"),
        "order": [{"attribute": "dob"}, {"attribute": "sex", "descending": True}],
        "limit": 10,
        "after": {"dob": None, "sex": "F", "subject_id": 4},
    },
]


@pytest.mark.parametrize("index", range(len(CANONICAL)))
def test_canonical_descriptions_round_trip(index):
    description = CANONICAL[index]
    query = parse(description)
    assert to_description(query) == description
    assert validate(description, resolve=resolve) == description
    assert to_description(parse(to_description(query))) == description


def test_class_names_and_nesting_become_canonical():
    described = {
        "from": {"from": {"from": T("Session")}, "join": [T("Subject")]},
        "join": [T("Session.Trial")],
        "proj": {"keep": ["weight", "rig"]},
    }
    assert validate(described, resolve=resolve) == {
        "from": T("session"),
        "join": [T("subject"), T("session__trial")],
        "proj": {"keep": ["rig", "weight"]},
    }


def test_values_are_parameters_and_names_quoted():
    hostile = "'; DROP TABLE subject; --"
    query = parse(
        where(
            {
                "or": [
                    cmp("notes", "=", hostile),
                    cmp("notes", "in", [hostile, "%s"]),
                    cmp("notes", "like", hostile + "%"),
                    cmp("dob", "between", ["2025-01-01", "2025-12-31"]),
                ]
            }
        )
    )
    sql, params = query.expression.make_sql()
    assert hostile not in sql and "2025" not in sql and "%s" in sql
    assert params == [hostile, hostile, "%s", hostile + "%", "2025-01-01", "2025-12-31"]
    assert "`notes` = %s" in sql and "`dob` BETWEEN %s AND %s" in sql


def test_expression_not_describable():
    from pipeline_core.datamodel import Top

    base = parse({"from": T("subject")}).expression
    for expr, path in [
        (base & "weight > 1", "where"),
        (base & {"sex": "F"}, "where"),
        (base.proj(w2="weight * 2"), "proj.w2"),
        (base & Top(3), ""),
        (base.aggr(parse({"from": T("session")}).expression, n="count(*)"), "aggr.compute.n"),
        (parse({"from": T("session")}).expression.extend(base), "join"),
        (base & [{"matching": 1}], "where.or[0]"),
    ]:
        with pytest.raises(QueryDescriptionError) as info_:
            to_description(expr)
        assert info_.value.path == path, (path, info_.value)
        assert "cannot be described" in str(info_.value)


def test_matching_needs_a_shared_attribute():
    e = error({"from": T("subject"), "where": {"matching": T("stimulus")}})
    assert e.path == "where.matching" and "shares no attribute" in str(e)
    assert parse({"from": T("subject"), "where": {"matching": T("session")}}).expression is not None


def test_a_rename_of_an_unusual_column_name_is_quoted():
    """A legacy column named ``a-b`` (valid to the server) is renamed as a column, never
    spliced into SQL as text."""
    odd = info("odd", attr("odd_id", key=True, lineage="lab.odd.odd_id"), attr("a-b", "int32"))
    query = to_query(
        {"from": T("odd"), "proj": {"rename": {"x": "a-b"}}}, resolve=lambda schema, name: odd
    )
    sql, params = query.expression.make_sql()
    assert "`a-b` AS `x`" in sql and params == []
