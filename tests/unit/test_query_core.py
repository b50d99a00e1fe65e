"""The query core's parts on their own (issue #10): TableRef, frozen nodes, RawSQL, the
immutable SELECT of the compiler, the one order_by grammar and the type facts of types.py.
No database."""

from __future__ import annotations

import dataclasses

import pytest

from pipeline_core.datamodel import (
    DataJointError,
    InvalidValueError,
    QueryError,
    TableRef,
    Top,
    UnknownAttributeError,
)
from pipeline_core.datamodel.condition import RawSQL
from pipeline_core.datamodel.expression import QueryExpression
from pipeline_core.datamodel.heading import Attribute, Heading
from pipeline_core.datamodel.nodes import (
    ProjItem,
    RestrictNode,
    TableNode,
    TopNode,
    base_table,
    tables_read,
    with_top,
)
from pipeline_core.datamodel.order_by import items_of, order_item, parse_order_by, total_order
from pipeline_core.datamodel.paging import ordering
from pipeline_core.datamodel.sql import compiler
from pipeline_core.datamodel.types import (
    comparable,
    enum_values,
    is_numeric,
    numpy_dtype,
    type_family,
)
from pipeline_core.datamodel.values import DEFAULT, encode


def attr(name, type_="int32", key=False, nullable=False, **extra):
    return Attribute(
        name=name,
        type=type_,
        sql_type=extra.pop("sql_type", type_),
        in_key=key,
        nullable=nullable,
        default=None,
        default_is_expression=False,
        comment="",
        **extra,
    )


HEADING = Heading(
    [attr("a", key=True), attr("b", key=True), attr("points", "float64"), attr("grade")]
)


def node(name="t", heading=HEADING):
    return TableNode(TableRef("db", name), heading)


# --- TableRef --------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["`lab`.`#subject_type`", "lab.#subject_type"])
def test_table_ref_parses_both_forms(text):
    ref = TableRef.parse(text)
    assert (ref.database, ref.table) == ("lab", "#subject_type")
    assert ref.full_name == str(ref) == "`lab`.`#subject_type`"
    assert TableRef.parse(ref.full_name) == ref and hash(TableRef.parse(text)) == hash(ref)


@pytest.mark.parametrize(
    "text, parts",
    [
        ("`lab`.`a``b`", ("lab", "a`b")),
        ("`l.a`.`x.y`", ("l.a", "x.y")),
        ("`lab`.`bad name`", ("lab", "bad name")),
        ("lab.x y", ("lab", "x y")),
        ("`lab`.``````", ("lab", "``")),
        ("`ünï`.`<b>x`", ("ünï", "<b>x")),
    ],
)
def test_table_ref_parses_names_a_legacy_database_can_hold(text, parts):
    """Names DataJoint would not declare but the server accepts (issue #15 part 6); the
    quoted form doubles backquotes, as SQL reads them."""
    ref = TableRef.parse(text)
    assert (ref.database, ref.table) == parts
    assert TableRef.parse(ref.full_name) == ref == TableRef(*parts)


@pytest.mark.parametrize(
    "text", ["lab", "`lab`.`a`.`b`", "`la`b`.`x`", "lab.x ", "", "`lab`.``", "lab.", "`a`.`b``"]
)
def test_table_ref_refuses_what_is_not_a_full_table_name(text):
    with pytest.raises(DataJointError):
        TableRef.parse(text)


@pytest.mark.parametrize(
    "parts",
    [("db", "t "), ("db", "a\x00b"), ("db", "x" * 65), ("", "t"), ("db", "\U0001f600")],
)
def test_table_ref_validates_its_parts_once_when_made(parts):
    with pytest.raises(DataJointError, match="Invalid SQL identifier"):
        TableRef(*parts)


def test_table_ref_orders_as_the_full_names_do():
    """DataJoint sorts quoted full names; "`a_b`" sorts before "`a`" there ('_' < '`')."""
    refs = [TableRef("a", "x"), TableRef("a_b", "y"), TableRef("a", "#w"), TableRef("b", "_v")]
    assert [r.full_name for r in sorted(refs)] == sorted(r.full_name for r in refs)
    assert sorted(refs)[0] == TableRef("a_b", "y")


def test_table_ref_knows_tier_and_master():
    part = TableRef("lab", "__detection__blob")
    assert part.tier == "Part" and part.master == TableRef("lab", "__detection")
    assert part.master.tier == "Computed" and part.master.master is None
    assert part.sibling("~~detection") == TableRef("lab", "~~detection")
    assert dataclasses.is_dataclass(part)
    with pytest.raises(dataclasses.FrozenInstanceError):
        part.table = "other"


# --- nodes and conditions --------------------------------------------------------------------
def test_nodes_are_frozen_values():
    n = node()
    restricted = RestrictNode(n, {"a": 1})
    assert restricted == RestrictNode(node(), {"a": 1})
    for value, field in ((n, "heading"), (restricted, "child"), (ProjItem("x", "a"), "name")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, field, None)


def test_raw_sql_compiles_to_its_text_and_parameters():
    expr = QueryExpression(None, node()) & RawSQL("`points` > %s AND `grade` < %s", [1.5, 3])
    assert expr.make_sql() == (
        "SELECT `a`, `b`, `points`, `grade` FROM `db`.`t` WHERE (`points` > %s AND `grade` < %s)",
        [1.5, 3],
    )
    assert RawSQL("x", [1]).params == (1,)  # kept as a tuple: the value cannot change


def test_an_expression_condition_is_kept_as_its_tree():
    other = QueryExpression(None, node("u"))
    restricted = QueryExpression(None, node()).restrict(other, semantic_check=False)
    assert restricted.node.condition == other.node
    assert tables_read(restricted.node) == {TableRef("db", "t"), TableRef("db", "u")}
    assert base_table((restricted & Top(2)).node) == node()


def test_a_dict_changed_after_restricting_does_not_change_the_query():
    key = {"a": 1}
    restricted = QueryExpression(None, node()) & key
    before = restricted.make_sql()
    key["a"], key["b"] = 2, 3
    assert restricted.make_sql() == before and before[1] == [1]


def test_unknown_nodes_and_conditions_are_refused_by_the_compiler():
    with pytest.raises(DataJointError, match="Cannot compile node"):
        compiler.compile_select(object())
    with pytest.raises(QueryError, match="Invalid restriction type"):
        compiler.compile_select(RestrictNode(node(), 5))


def test_the_compilers_select_cannot_be_changed():
    select = compiler._Select(fields=(("`a`", "a"),), source="`db`.`t`")
    with pytest.raises(AttributeError):
        select.where = ("x",)
    assert isinstance(select.where, tuple) and isinstance(select.fields, tuple)
    wider = select.listing(["a", "a"])
    assert select.fields == (("`a`", "a"),) and len(wider.fields) == 2


def test_with_top_merges_a_top_that_keeps_the_order():
    first = with_top(node(), Top(8, "KEY"))
    merged = with_top(first, Top(3, None, offset=2))
    assert merged == TopNode(node(), Top(3, ("KEY",), 2))
    other = with_top(first, Top(3, "points"))
    assert other.child == first  # a new order: a Top over the Top


def test_compiling_twice_gives_the_same_sql_and_changes_no_node():
    expr = (QueryExpression(None, node()) & {"a": 1}).proj("points", double="points * 2")
    before = (expr.node, expr.make_sql())
    assert compiler.compile_select(expr.node, order_by="points DESC", limit=3)[0].endswith(
        "ORDER BY `points` DESC LIMIT 3"
    )
    assert (expr.node, expr.make_sql()) == before


# --- order_by ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "order_by, expected",
    [
        ("points DESC, grade", [("points", True), ("grade", False)]),
        (" points  desc ,grade ASC ", [("points", True), ("grade", False)]),
        ("KEY", [("a", False), ("b", False)]),
        ("key desc", [("a", True), ("b", True)]),
        (
            ["grade, KEY DESC", "points"],
            [("grade", False), ("a", True), ("b", True), ("points", False)],
        ),
        (None, []),
        ([], []),
    ],
)
def test_order_by_grammar(order_by, expected):
    assert parse_order_by(order_by, HEADING) == expected


def test_an_attribute_named_key_is_an_attribute():
    heading = Heading([attr("id", key=True), attr("key", "varchar(8)")])
    assert parse_order_by("key DESC", heading) == [("key", True)]
    assert parse_order_by("KEY", heading) == [("id", False)]


@pytest.mark.parametrize("order_by", ["points DESC x", "a,,b", ",", "points DES", ["a", 3]])
def test_malformed_order_by_is_refused(order_by):
    with pytest.raises(QueryError):
        parse_order_by(order_by, HEADING)


@pytest.mark.parametrize("order_by", ["nope", "RAND()", "grade, `nope`", "`x``y`"])
def test_order_by_names_an_unknown_attribute(order_by):
    with pytest.raises(UnknownAttributeError):
        parse_order_by(order_by, HEADING)


def test_order_by_reads_names_in_backquotes():
    """Legacy column names with blanks, commas or backquotes (issue #15 part 6), written in
    backquotes as in SQL; :func:`order_item` writes them so."""
    names = ["bad col", "a,b DESC", "x`y", "KEY", "desc"]
    heading = Heading([attr("id", key=True)] + [attr(n) for n in names])
    items = [order_item(n, i % 2 == 0) for i, n in enumerate(names)]
    assert items[:3] == ["`bad col` DESC", "`a,b DESC`", "`x``y` DESC"]
    assert parse_order_by(", ".join(items), heading) == [
        (n, i % 2 == 0) for i, n in enumerate(names)
    ]
    assert parse_order_by(["`a`, grade DESC", "`points`"], HEADING) == [
        ("a", False),
        ("grade", True),
        ("points", False),
    ]
    with pytest.raises(QueryError):
        parse_order_by("`bad col` DESC x", heading)


def test_compiler_and_paging_read_order_by_alike():
    """One grammar: the ORDER BY the compiler writes and the order paging completes."""
    order_by = "points DESC, grade"
    clause = compiler.order_clause(order_by, HEADING)
    assert clause == " ORDER BY `points` DESC, `grade`"
    expr = QueryExpression(None, node())
    assert ordering(expr, order_by) == total_order(order_by, HEADING)
    assert total_order(order_by, HEADING) == [
        ("points", True),
        ("grade", False),
        ("a", False),
        ("b", False),
    ]
    assert total_order("b DESC, b, a", HEADING) == [("b", True), ("a", False)]
    assert items_of(["x, y", "z"]) == ["x", " y", "z"]


# --- type facts -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "declared, family",
    [
        ("int32", "integer"),
        ("int unsigned", "integer"),
        ("BIGINT", "integer"),
        ("tinyint(1)", "integer"),
        ("float32", "float"),
        ("double", "float"),
        ("decimal(6,2)", "decimal"),
        ("numeric(4, 1)", "decimal"),
        ("varchar(20)", "text"),
        ("enum('a','b')", "text"),
        ("longtext", "text"),
        ("bool", "bool"),
        ("date", "date"),
        ("datetime(3)", "datetime"),
        ("uuid", "uuid"),
        ("json", "json"),
        ("<blob@raw>", "codec"),
        ("longblob", "other"),
        ("expression", "expression"),
    ],
)
def test_type_family(declared, family):
    assert type_family(declared) == family
    assert is_numeric(declared) == (family in ("integer", "float", "decimal"))


def test_numpy_dtypes_of_record_arrays():
    assert numpy_dtype(attr("x", "int16")) == "int16"
    assert numpy_dtype(attr("x", "float")) == "float32"
    assert numpy_dtype(attr("x", "int16", nullable=True)) is None
    assert numpy_dtype(attr("x", "int unsigned")) is None
    assert numpy_dtype(attr("x", "varchar(3)")) is None


def test_which_attributes_a_restriction_may_compare():
    plain = attr("x", "int32")
    blob = attr("x", "<blob>", sql_type="longblob", codec="blob", is_blob=True)
    stored = attr("x", "<blob@s>", sql_type="json", codec="blob", store="s")
    raw = attr("x", "bytes", sql_type="longblob")
    js = attr("x", "json")
    assert comparable(plain) and comparable(plain, ordered=False)
    assert not any(comparable(a, ordered=o) for a in (blob, stored, js) for o in (True, False))
    assert not comparable(raw) and comparable(raw, ordered=False)  # bytes: equality only


def test_enum_values_in_declaration_order():
    assert enum_values("enum('b', 'a', 'it''s', \"x,y\")") == ["b", "a", "it's", "x,y"]
    with pytest.raises(DataJointError):
        enum_values("varchar(3)")


@pytest.mark.parametrize("declared", ["int32", "int unsigned", "tinyint unsigned", "bigint"])
def test_every_integer_type_encodes_alike(declared):
    """One family for all integer types (signed and unsigned, core and native): a text
    number becomes an int, '' and NaN the column default, a fraction is refused."""
    column = attr("n", declared)
    assert encode(column, "7") == 7 and encode(column, 7.0) == 7
    assert encode(column, "") is DEFAULT and encode(column, float("nan")) is DEFAULT
    with pytest.raises(InvalidValueError, match="not an integer"):
        encode(column, 1.5)
