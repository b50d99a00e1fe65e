"""The JSON Schema of query descriptions (query_json.schema): it is a valid draft 2020-12
schema; every structural rule is enforced by the schema itself (a valid description and the
same description broken in one place: the schema takes the first and refuses the second
with the path and reason a user sees); nested errors are named by their path; of several
errors the one highest up wins; the nesting and size guards run before validation; and
what to_description() writes validates."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from pipeline_core.datamodel.condition import OPERATORS
from pipeline_core.datamodel.errors import DataJointError, QueryDescriptionError
from pipeline_core.datamodel.query_json import (
    MAX_DEPTH,
    MAX_LIMIT,
    MAX_LIST,
    MAX_STRING,
    to_description,
)
from pipeline_core.datamodel.query_json import schema as schema_module
from pipeline_core.datamodel.query_json.schema import (
    LIST_OPERATORS,
    NULL_OPERATORS,
    SCALAR_OPERATORS,
    SCHEMA,
    VALIDATOR,
)
from pipeline_core.datamodel.query_json.structure import MAX_NESTING, MAX_VALUES, check_structure
from pipeline_core.datamodel.sql.quoting import check_identifier
from tests.unit.test_query_json import CANONICAL, T, cmp, parse, where


def structure_error(description) -> QueryDescriptionError:
    """The error of the schema check alone (no tables involved)."""
    assert not VALIDATOR.is_valid(description)
    with pytest.raises(QueryDescriptionError) as info:
        check_structure(description)
    return info.value


def test_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    broken = copy.deepcopy(SCHEMA)
    broken["$defs"]["limit"]["minimum"] = "one"
    with pytest.raises(Exception, match="is not of type 'number'"):
        Draft202012Validator.check_schema(broken)


def test_operator_groups_cover_the_operators():
    groups = (SCALAR_OPERATORS, LIST_OPERATORS, ("like", "between"), NULL_OPERATORS)
    assert sorted(op for group in groups for op in group) == sorted(OPERATORS)


def test_the_validator_is_compiled_once(monkeypatch):
    def no_new_validators(*args, **kwargs):
        raise AssertionError("a validator compiled per call")

    monkeypatch.setattr(schema_module, "_Validator", no_new_validators)
    check_structure(CANONICAL[5])
    assert VALIDATOR.schema is SCHEMA


# --- every structural rule: (valid, broken, path, words of the reason) ----------------------------
S = T("subject")
AGG = {"over": T("session"), "compute": {"n": {"function": "count"}}}


def agg(**spec):
    return {"from": S, "aggr": {"over": T("session"), "compute": {"n": spec}}}


RULES = {
    # the query object
    "query_type": ({"from": S}, [S], "", ["expected a query (an object), not an array"]),
    "query_requires_from": ({"from": S}, {}, "from", ["missing required key 'from' in a query"]),
    "query_unknown_key": (
        {"from": S, "where": cmp("a", "is null")},
        {"from": S, "wher": cmp("a", "is null")},
        "wher",
        ["unknown key 'wher' in a query", "did you mean 'where'?", "expected from, join"],
    ),
    "top_only_order": (
        {"from": {"from": S}, "order": []},
        {"from": {"from": S, "order": []}},
        "from.order",
        ["order is allowed only at the top level"],
    ),
    "top_only_after": (
        {"from": S, "join": [{"from": T("session")}], "after": {}},
        {"from": S, "join": [{"from": T("session"), "after": {}}]},
        "join[0].after",
        ["after is allowed only at the top level"],
    ),
    "aggr_or_group": (
        {"from": S, "aggr": AGG},
        {"from": S, "aggr": AGG, "group": {"by": ["a"]}},
        "group",
        ["use either aggr or group"],
    ),
    # tables and sources
    "source_type": (
        {"from": S},
        {"from": "subject"},
        "from",
        ["a table {schema, table}", "string"],
    ),
    "table_requires_table": (
        {"from": S},
        {"from": {"schema": "lab"}},
        "from.table",
        ["missing required key 'table' in a table {schema, table}"],
    ),
    "table_unknown_key": (
        {"from": S},
        {"from": {**S, "alias": "s"}},
        "from.alias",
        ["unknown key 'alias'", "expected schema, table"],
    ),
    "cross_only_in_join": (
        {"from": T("session"), "join": [{**S, "cross": True}]},
        {"from": {**S, "cross": True}},
        "from.cross",
        ["unknown key 'cross'"],
    ),
    "cross_of_a_joined_query": (
        {"from": T("session"), "join": [{"from": S, "cross": True}]},
        {"from": {"from": S, "cross": True}},
        "from.cross",
        ["unknown key 'cross' in a query"],
    ),
    "cross_is_boolean": (
        {"from": S, "join": [{**S, "cross": True}]},
        {"from": S, "join": [{**S, "cross": "yes"}]},
        "join[0].cross",
        ["expected true or false, not a string"],
    ),
    "schema_name_characters": (
        {"from": {"schema": "lab_2-x$", "table": "t"}},
        {"from": {"schema": "lab\x002", "table": "t"}},
        "from.schema",
        ["invalid schema name 'lab\\x002'"],
    ),
    "schema_name_length": (
        {"from": {"schema": "a" * 64, "table": "t"}},
        {"from": {"schema": "a" * 65, "table": "t"}},
        "from.schema",
        ["invalid schema name"],
    ),
    "schema_name_trailing_space": (  # the server refuses names ending in a space
        {"from": {"schema": "lab 2\n", "table": "t"}},
        {"from": {"schema": "lab 2 ", "table": "t"}},
        "from.schema",
        ["invalid schema name"],
    ),
    "schema_name_type": (
        {"from": {"schema": "lab", "table": "t"}},
        {"from": {"schema": ["lab"], "table": "t"}},
        "from.schema",
        ["invalid schema name ['lab']"],
    ),
    "table_name_class": (
        {"from": T("Session.Trial")},
        {"from": T("Session.Trial\x00")},
        "from.table",
        ["invalid table name 'Session.Trial\\x00': a raw table name or a class name"],
    ),
    "table_name_tier_prefix": (
        {"from": T("#species`")},
        {"from": T("#species ")},
        "from.table",
        [],
    ),
    "join_type": ({"from": S, "join": [S]}, {"from": S, "join": S}, "join", ["(an array)"]),
    "join_not_empty": (
        {"from": S, "join": [S]},
        {"from": S, "join": []},
        "join",
        ["expected at least 1 item(s) in a list of sources"],
    ),
    "join_size": (
        {"from": S, "join": [S] * MAX_LIST},
        {"from": S, "join": [S] * (MAX_LIST + 1)},
        "join",
        [f"too many items (at most {MAX_LIST})"],
    ),
    # conditions
    "condition_type": (
        where(cmp("a", "is null")),
        where("a > 1"),
        "where",
        ["a condition", "string"],
    ),
    "condition_form": (
        where({"or": [cmp("a", "is null")]}),
        where({"xor": [cmp("a", "is null")]}),
        "where",
        ["expected a condition: {attribute, operator, value}", "with keys xor"],
    ),
    "condition_empty": (
        where({"not": cmp("a", "is null")}),
        where({}),
        "where",
        ["not an empty object"],
    ),
    "group_one_key": (
        where({"and": [cmp("a", "is null")]}),
        where({"and": [cmp("a", "is null")], "or": []}),
        "where.or",
        ["unknown key 'or' in a condition {and: [...]}"],
    ),
    "group_list": (
        where({"and": [cmp("a", "is null")]}),
        where({"and": cmp("a", "is null")}),
        "where.and",
        ["a list of conditions (an array), not an object"],
    ),
    "group_not_empty": (
        where({"or": [cmp("a", "is null")]}),
        where({"or": []}),
        "where.or",
        ["at least 1"],
    ),
    "not_condition": (
        where({"not": cmp("a", "is null")}),
        where({"not": [cmp("a", "is null")]}),
        "where.not",
        ["expected a condition (an object), not an array"],
    ),
    "matching_source": (
        where({"matching": S}),
        where({"matching": "subject"}),
        "where.matching",
        ["a table {schema, table} or a query"],
    ),
    "comparison_requires_attribute": (
        where(cmp("a", "=", 1)),
        where({"operator": "=", "value": 1}),
        "where.attribute",
        ["missing required key 'attribute' in a comparison"],
    ),
    "comparison_requires_operator": (
        where(cmp("a", "=", 1)),
        where({"attribute": "a", "value": 1}),
        "where.operator",
        ["missing required key 'operator'"],
    ),
    "comparison_unknown_key": (
        where(cmp("a", "in", [1])),
        where({**cmp("a", "in"), "values": [1]}),
        "where.values",
        ["unknown key 'values'", "did you mean 'value'?"],
    ),
    "attribute_type": (
        where(cmp("a", "=", 1)),
        where(cmp(None, "=", 1)),
        "where.attribute",
        ["expected an attribute name (a string), not null"],
    ),
    "operator_enum": (
        where(cmp("a", "<=", 1)),
        where(cmp("a", "=<", 1)),
        "where.operator",
        ["unknown operator '=<'; must be one of =, !=, <, <=", "between"],
    ),
    "scalar_needs_value": (
        where(cmp("a", ">", 1)),
        where(cmp("a", ">")),
        "where.value",
        ["'>' needs a value"],
    ),
    "scalar_type": (
        where(cmp("a", "=", True)),
        where(cmp("a", "=", {"$gt": 1})),
        "where.value",
        ["expected a string, number or boolean, not an object"],
    ),
    "scalar_not_null": (
        where(cmp("a", "!=", 0)),
        where(cmp("a", "!=", None)),
        "where.value",
        ["not null; use the operator 'is null'"],
    ),
    "scalar_string_length": (
        where(cmp("a", "=", "x" * MAX_STRING)),
        where(cmp("a", "=", "x" * (MAX_STRING + 1))),
        "where.value",
        [f"string longer than {MAX_STRING} characters"],
    ),
    "scalar_integer_range": (
        where(cmp("a", "=", -(2**64) + 1)),
        where(cmp("a", "=", -(2**64))),
        "where.value",
        ["integer out of range"],
    ),
    "like_string": (
        where(cmp("a", "like", "x%")),
        where(cmp("a", "like", 5)),
        "where.value",
        ["like takes a string pattern, not a number"],
    ),
    "in_needs_value": (where(cmp("a", "in", [1])), where(cmp("a", "in")), "where.value", ["'in'"]),
    "in_list": (
        where(cmp("a", "not in", [1])),
        where(cmp("a", "not in", 1)),
        "where.value",
        ["expected a list of values (an array), not a number"],
    ),
    "in_not_empty": (
        where(cmp("a", "in", [1])),
        where(cmp("a", "in", [])),
        "where.value",
        ["expected at least 1 item(s) in a list of values"],
    ),
    "in_size": (
        where(cmp("a", "in", [1] * MAX_LIST)),
        where(cmp("a", "in", [1] * (MAX_LIST + 1))),
        "where.value",
        ["too many items"],
    ),
    "in_items": (
        where(cmp("a", "in", [1, "b"])),
        where(cmp("a", "in", [1, ["b"]])),
        "where.value[1]",
        ["expected a string, number or boolean, not an array"],
    ),
    "between_two": (
        where(cmp("a", "between", [1, 2])),
        where(cmp("a", "between", [1])),
        "where.value",
        ["between takes [low, high]"],
    ),
    "between_not_three": (
        where(cmp("a", "between", [1, 2])),
        where(cmp("a", "between", [1, 2, 3])),
        "where.value",
        ["between takes [low, high]"],
    ),
    "is_null_no_value": (
        where(cmp("a", "is not null")),
        where(cmp("a", "is not null", 1)),
        "where.value",
        ["'is not null' takes no value"],
    ),
    # projection
    "proj_type": ({"from": S, "proj": {}}, {"from": S, "proj": ["a"]}, "proj", ["a projection"]),
    "proj_unknown_key": (
        {"from": S, "proj": {"keep": ["a"]}},
        {"from": S, "proj": {"kep": ["a"]}},
        "proj.kep",
        ["unknown key 'kep' in a projection {keep, rename}", "did you mean 'keep'?"],
    ),
    "keep_list": (
        {"from": S, "proj": {"keep": ["a"]}},
        {"from": S, "proj": {"keep": "a"}},
        "proj.keep",
        ["a list of attributes (an array)"],
    ),
    "keep_names": (
        {"from": S, "proj": {"keep": ["a"]}},
        {"from": S, "proj": {"keep": ["a", 1]}},
        "proj.keep[1]",
        ["an attribute name (a string), not a number"],
    ),
    "keep_unique": (
        {"from": S, "proj": {"keep": ["a", "b"]}},
        {"from": S, "proj": {"keep": ["a", "b", "a"]}},
        "proj.keep[2]",
        ["`a` is named twice"],
    ),
    "rename_object": (
        {"from": S, "proj": {"rename": {"x": "a"}}},
        {"from": S, "proj": {"rename": [["x", "a"]]}},
        "proj.rename",
        ["renames {new name: attribute} (an object)"],
    ),
    "rename_new_name": (
        {"from": S, "proj": {"rename": {"x_1": "a"}}},
        {"from": S, "proj": {"rename": {"1x": "a"}}},
        "proj.rename.1x",
        ["invalid new attribute name '1x'", "lower-case"],
    ),
    "rename_reserved": (
        {"from": S, "proj": {"rename": {"selfish": "a"}}},
        {"from": S, "proj": {"rename": {"self": "a"}}},
        "proj.rename.self",
        ["invalid new attribute name 'self'"],
    ),
    "rename_long_name": (
        {"from": S, "proj": {"rename": {"x" * 64: "a"}}},
        {"from": S, "proj": {"rename": {"x" * 65: "a"}}},
        "proj.rename." + "x" * 63 + "…",
        ["at most 64 characters"],
    ),
    "rename_source": (
        {"from": S, "proj": {"rename": {"x": "a"}}},
        {"from": S, "proj": {"rename": {"x": 1}}},
        "proj.rename.x",
        ["an attribute name (a string)"],
    ),
    "rename_size": (
        {"from": S, "proj": {"rename": {f"a{i}": "a" for i in range(MAX_LIST)}}},
        {"from": S, "proj": {"rename": {f"a{i}": "a" for i in range(MAX_LIST + 1)}}},
        "proj.rename",
        ["too many keys"],
    ),
    # aggregation and grouping
    "aggr_requires_over": (
        {"from": S, "aggr": AGG},
        {"from": S, "aggr": {"compute": AGG["compute"]}},
        "aggr.over",
        ["missing required key 'over' in an aggregation"],
    ),
    "aggr_requires_compute": (
        {"from": S, "aggr": AGG},
        {"from": S, "aggr": {"over": S}},
        "aggr.compute",
        ["missing required key 'compute'"],
    ),
    "aggr_compute_not_empty": (
        {"from": S, "aggr": AGG},
        {"from": S, "aggr": {"over": S, "compute": {}}},
        "aggr.compute",
        ["expected at least one aggregate"],
    ),
    "aggr_flag": (
        {"from": S, "aggr": {**AGG, "exclude_nonmatching": True}},
        {"from": S, "aggr": {**AGG, "exclude_nonmatching": 1}},
        "aggr.exclude_nonmatching",
        ["true or false"],
    ),
    "aggregate_type": (
        agg(function="count"),
        {"from": S, "aggr": {**AGG, "compute": {"n": "count(*)"}}},
        "aggr.compute.n",
        ["expected an aggregate {function, attribute, distinct} (an object), not a string"],
    ),
    "aggregate_name": (
        agg(function="count"),
        {"from": S, "aggr": {**AGG, "compute": {"N": {"function": "count"}}}},
        "aggr.compute.N",
        ["invalid new attribute name 'N'"],
    ),
    "aggregate_function": (
        agg(function="max", attribute="a"),
        agg(function="median", attribute="a"),
        "aggr.compute.n.function",
        ["unknown aggregate function 'median'; must be one of count, sum, avg, min, max"],
    ),
    "aggregate_needs_function": (
        agg(function="count"),
        agg(attribute="a"),
        "aggr.compute.n.function",
        ["missing required key 'function' in an aggregate"],
    ),
    "aggregate_needs_attribute": (
        agg(function="count"),
        agg(function="avg"),
        "aggr.compute.n.attribute",
        ["avg needs an attribute"],
    ),
    "count_distinct_needs_attribute": (
        agg(function="count", attribute="a", distinct=True),
        agg(function="count", distinct=True),
        "aggr.compute.n.attribute",
        ["count distinct needs an attribute"],
    ),
    "aggregate_distinct": (
        agg(function="count", attribute="a", distinct=False),
        agg(function="count", attribute="a", distinct="no"),
        "aggr.compute.n.distinct",
        ["true or false"],
    ),
    "group_needs_by_or_compute": (
        {"from": S, "group": {"by": ["a"]}},
        {"from": S, "group": {"by": []}},
        "group.compute",
        ["expected at least one aggregate (or attributes to group by)"],
    ),
    "group_compute_not_empty": (
        {"from": S, "group": {"by": ["a"], "compute": {}}},
        {"from": S, "group": {"compute": {}}},
        "group.compute",
        ["expected at least one aggregate"],
    ),
    "group_unknown_key": (
        {"from": S, "group": {"by": ["a"]}},
        {"from": S, "group": {"by": ["a"], "having": {}}},
        "group.having",
        ["unknown key 'having' in a grouping {by, compute}"],
    ),
    # top level
    "order_list": (
        {"from": S, "order": [{"attribute": "a"}]},
        {"from": S, "order": {"attribute": "a"}},
        "order",
        ["expected an order (an array)"],
    ),
    "order_item": (
        {"from": S, "order": [{"attribute": "a"}]},
        {"from": S, "order": [{"attribute": "a"}, "b"]},
        "order[1]",
        ["an order item {attribute, descending} (an object), not a string"],
    ),
    "order_item_keys": (
        {"from": S, "order": [{"attribute": "a", "descending": True}]},
        {"from": S, "order": [{"attribute": "a", "desc": True}]},
        "order[0].desc",
        ["unknown key 'desc'", "did you mean 'descending'?"],
    ),
    "order_item_attribute": (
        {"from": S, "order": [{"attribute": "a"}]},
        {"from": S, "order": [{"descending": True}]},
        "order[0].attribute",
        ["missing required key 'attribute' in an order item"],
    ),
    "limit_range": (
        {"from": S, "limit": MAX_LIMIT},
        {"from": S, "limit": MAX_LIMIT + 1},
        "limit",
        [f"limit must be an integer from 1 to {MAX_LIMIT}"],
    ),
    "limit_positive": ({"from": S, "limit": 1}, {"from": S, "limit": 0}, "limit", ["from 1"]),
    "limit_integer_not_float": ({"from": S, "limit": 5}, {"from": S, "limit": 5.0}, "limit", []),
    "limit_not_boolean": ({"from": S, "limit": None}, {"from": S, "limit": True}, "limit", []),
    "after_object": (
        {"from": S, "after": None},
        {"from": S, "after": [1]},
        "after",
        ["expected a cursor {attribute: value} (an object or null), not an array"],
    ),
    "after_values": (
        {"from": S, "after": {"a": None, "b": 1.5, "c": "x"}},
        {"from": S, "after": {"a": None, "b": [1]}},
        "after.b",
        ["expected a string, number, boolean or null, not an array"],
    ),
}


def test_the_is_null_hint_only_where_a_value_is_expected():
    assert "is null" in structure_error(where(cmp("a", "in", [None]))).reason
    assert "is null" not in structure_error(where(cmp(None, "=", 1))).reason
    assert "is null" not in structure_error({"from": S, "order": [None]}).reason


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_structural_rule_is_enforced_by_the_schema(rule):
    valid, broken, path, words = RULES[rule]
    assert list(VALIDATOR.iter_errors(valid)) == []
    exc = structure_error(broken)
    assert exc.path == path, (exc.path, exc.reason)
    for word in words:
        assert word in exc.reason, (word, exc.reason)
    assert "$" not in exc.reason.replace("$gt", "")  # every template field filled in
    assert str(exc) == f"{path or 'query'}: {exc.reason}"


# --- paths of nested errors ---------------------------------------------------------------------
def nest(condition):
    """The condition as the third item of an and, inside an or, inside a not."""
    return {"and": [cmp("a", "is null"), cmp("b", "=", 1), {"or": [{"not": condition}]}]}


NESTED = {
    "where.and[2].or[0].not.value[1]": where(nest(cmp("a", "in", [1, None]))),
    "where.and[2].or[0].not.attribute": where(nest({"operator": "=", "value": 1})),
    "where.and[2].or[0].not.wher": where(nest({**cmp("a", "=", 1), "wher": 1})),
    "join[1].where.and[0].operator": {
        "from": S,
        "join": [S, {"from": S, "where": {"and": [cmp("a", "~", 1)]}}],
    },
    "aggr.over.from.where.matching.table": {
        "from": S,
        "aggr": {
            "over": {"from": {"from": S, "where": {"matching": T("no such ")}}},
            "compute": {"n": {"function": "count"}},
        },
    },
    "from.from.proj.rename.Bad": {"from": {"from": {"from": S, "proj": {"rename": {"Bad": "a"}}}}},
    "join[0].aggr.compute.n.attribute": {
        "from": S,
        "join": [{"from": S, "aggr": {"over": S, "compute": {"n": {"function": "sum"}}}}],
    },
    "join[0].from.limit": {"from": S, "join": [{"from": {"from": S, "limit": 1}}]},
    "where.matching.where.not.or[1]": where(
        {"matching": {"from": S, "where": {"not": {"or": [cmp("a", "is null"), []]}}}}
    ),
    "group.by[1]": {"from": S, "group": {"by": ["a", 2]}},
}


@pytest.mark.parametrize("path", sorted(NESTED))
def test_nested_errors_are_named_by_their_path(path):
    assert structure_error(NESTED[path]).path == path


def test_the_error_highest_up_wins_then_the_first():
    # a missing key of the query before anything inside a value
    assert structure_error({"where": {}}).path == "from"
    # shallower before deeper, whatever the order in the document
    broken_table = {"schema": "lab lab ", "table": "t"}
    assert structure_error({"from": broken_table, "limit": 0}).path == "limit"
    # siblings in the schema's order (from before limit), not in the document's
    assert structure_error({"limit": 0, "from": "x"}).path == "from"
    # an unknown key before a missing one
    assert structure_error({"wher": 1}).path == "wher"


# --- guards before validation -------------------------------------------------------------------
def deepest_descriptions(depth=MAX_DEPTH):
    """Descriptions nested ``depth`` levels (MAX_DEPTH: as deep as allowed) in the shapes that
    take the most JSON nesting per level."""
    condition = cmp("subject_id", "in", [1])
    for _ in range(depth - 1):  # {"and": [...]}: two levels of JSON each
        condition = {"and": [condition]}
    query = {"from": S, "aggr": {"over": T("session"), "compute": {"n": {"function": "count"}}}}
    key = {"from": T("session"), "proj": {}}  # joins on attributes of one origin only
    joined = {**key, "aggr": {"over": T("session__trial"), "compute": {"n": {"function": "count"}}}}
    for _ in range(depth):  # join items: two levels each
        joined = {**key, "join": [joined]}
    over = query
    for _ in range(depth):  # aggr.over: two levels each
        over = {"from": S, "aggr": {"over": over, "compute": {"m": {"function": "count"}}}}
    return [where(condition), joined, over]


def json_depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(json_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(json_depth, value), default=0)
    return 0


def test_nesting_guard_lets_every_description_within_max_depth_through():
    for description in deepest_descriptions():
        assert json_depth(description) <= MAX_NESTING
        parse(description)
    for description in deepest_descriptions(MAX_DEPTH + 1):  # the shapes are the deepest
        assert json_depth(description) <= MAX_NESTING
        check_structure(description)
        with pytest.raises(QueryDescriptionError, match="nested too deeply"):
            parse(description)


def test_nesting_guard_refuses_deeper_json_before_validation():
    condition = cmp("a", "=", 1)
    for _ in range(100_000):  # far beyond Python's recursion limit
        condition = {"not": condition}
    exc = structure_error_without_validator(where(condition))
    assert "nested too deeply" in exc.reason
    assert exc.path == "where" + ".not" * (MAX_NESTING - 1)


def structure_error_without_validator(description) -> QueryDescriptionError:
    with pytest.raises(QueryDescriptionError) as info:
        check_structure(description)
    return info.value


def test_size_guard_refuses_huge_descriptions_before_validation():
    def conditions(groups):  # each group: 2 + 250 * 4 JSON values
        return where({"or": [{"and": [cmp("subject_id", "=", 1)] * 250}] * groups})

    check_structure(conditions((MAX_VALUES - 10) // 1002))
    exc = structure_error_without_validator(conditions(400))
    assert exc.path == "" and f"more than {MAX_VALUES}" in exc.reason


def test_null_limit_and_cursor_mean_none():
    """A client may pass back the cursor of the last page, which is null."""
    query = parse({"from": T("subject"), "limit": None, "after": None})
    assert query.limit is None and query.after is None


# --- names: the schema's patterns agree with the identifier check ------------------------------
NAME_CHARACTERS = st.sampled_from(list("aZ09_$#~-.` '\"\n\x00é;"))


@given(st.text(NAME_CHARACTERS, max_size=70) | st.text(max_size=70))
def test_schema_names_are_sql_identifiers(name):
    try:
        check_identifier(name)
        identifier = True
    except DataJointError:
        identifier = False
    assert VALIDATOR.is_valid({"from": {"schema": name, "table": "t"}}) == identifier


@given(st.text(st.sampled_from(list("az09_A.\n-")), max_size=70))
def test_new_names(name):
    import re

    expected = bool(re.fullmatch(r"[a-z][a-z0-9_]{0,63}", name)) and name not in (
        "self",
        "group",
        "exclude_nonmatching",
    )
    assert VALIDATOR.is_valid({"from": S, "proj": {"rename": {name: "a"}}}) == expected


# --- the other direction --------------------------------------------------------------------------
@pytest.mark.parametrize("index", range(len(CANONICAL)))
def test_described_queries_validate_against_the_schema(index):
    description = to_description(parse(CANONICAL[index]))
    assert list(VALIDATOR.iter_errors(description)) == []
    assert list(VALIDATOR.iter_errors(to_description(parse(CANONICAL[index]).expression))) == []
