"""Golden ``(sql, params)`` of every expression node, and operands left unchanged by every
operator (no database: expressions over headings built here)."""

from __future__ import annotations

import pytest

from pipeline_core.datamodel import (
    Aggregate,
    AndList,
    Comparison,
    DataJointError,
    QueryError,
    TableRef,
    Top,
    U,
)
from pipeline_core.datamodel.expression import QueryExpression
from pipeline_core.datamodel.heading import Attribute, Heading
from pipeline_core.datamodel.nodes import TableNode


def attr(name, type_="int32", key=False, lineage=None, nullable=False):
    return Attribute(
        name=name,
        type=type_,
        sql_type=type_,
        in_key=key,
        nullable=nullable,
        default=None,
        default_is_expression=False,
        comment="",
        lineage=lineage,
    )


def table(name, *attrs):
    return QueryExpression(None, TableNode(TableRef("db", name), Heading(list(attrs))))


SUBJECT = table(
    "subject",
    attr("subject_id", key=True, lineage="db.subject.subject_id"),
    attr("species", "varchar(16)"),
    attr("weight", "float64", nullable=True),
)
SESSION = table(
    "session",
    attr("subject_id", key=True, lineage="db.subject.subject_id"),
    attr("session_id", "int16", key=True, lineage="db.session.session_id"),
    attr("rig", "varchar(8)"),
)
PAIR = table(
    "pair",
    attr("first", key=True, lineage="db.subject.subject_id"),
    attr("second", key=True, lineage="db.subject.subject_id"),
)

GOLDEN = {
    "table": (lambda: SUBJECT, "SELECT `subject_id`, `species`, `weight` FROM `db`.`subject`", []),
    "dict": (
        lambda: SUBJECT & {"subject_id": 3, "species": "mouse", "nope": 1},
        "SELECT `subject_id`, `species`, `weight` FROM `db`.`subject` WHERE "
        "(`subject_id` = %s AND `species` = %s)",
        [3, "mouse"],
    ),
    "dict_null": (
        lambda: SUBJECT & {"weight": None},
        "SELECT `subject_id`, `species`, `weight` FROM `db`.`subject` WHERE (`weight` IS NULL)",
        [],
    ),
    "or_list": (
        lambda: SUBJECT & [{"subject_id": 1}, "weight > 2"],
        "SELECT `subject_id`, `species`, `weight` FROM `db`.`subject` WHERE "
        "((`subject_id` = %s) OR (weight > 2))",
        [1],
    ),
    "empty_list": (
        lambda: SUBJECT & [],
        "SELECT `subject_id`, `species`, `weight` FROM `db`.`subject` WHERE (FALSE)",
        [],
    ),
    "andlist_not": (
        lambda: SUBJECT - AndList([{"species": "rat"}, "weight > 2"]),
        "SELECT `subject_id`, `species`, `weight` FROM `db`.`subject` WHERE "
        "(NOT ((`species` = %s) AND (weight > 2)))",
        ["rat"],
    ),
    "string_percent": (
        lambda: SUBJECT & "species like 'm%'",
        "SELECT `subject_id`, `species`, `weight` FROM `db`.`subject` WHERE (species like 'm%%')",
        [],
    ),
    "comparison": (
        lambda: (
            SUBJECT
            & Comparison("weight", "between", [1, 2])
            & Comparison("species", "in", ["a", "b"])
        ),
        "SELECT `subject_id`, `species`, `weight` FROM `db`.`subject` WHERE "
        "(`weight` BETWEEN %s AND %s) AND (`species` IN (%s, %s))",
        [1.0, 2.0, "a", "b"],
    ),
    "semijoin": (
        lambda: SUBJECT & (SESSION & {"rig": "A"}),
        "SELECT `subject_id`, `species`, `weight` FROM `db`.`subject` WHERE ((`subject_id`) IN "
        "(SELECT `subject_id` FROM `db`.`session` WHERE (`rig` = %s)))",
        ["A"],
    ),
    "antijoin": (
        lambda: SUBJECT - SESSION,
        "SELECT `subject_id`, `species`, `weight` FROM `db`.`subject` "
        "WHERE (NOT ((`subject_id`) IN "
        "(SELECT `subject_id` FROM `db`.`session`)))",
        [],
    ),
    "bool": (
        lambda: SUBJECT & False,
        "SELECT `subject_id`, `species`, `weight` FROM `db`.`subject` WHERE (FALSE)",
        [],
    ),
    "join": (
        lambda: SESSION * SUBJECT,
        "SELECT `subject_id`, `session_id`, `rig`, `species`, `weight` FROM `db`.`session` "
        "JOIN `db`.`subject` USING (`subject_id`)",
        [],
    ),
    "left_join": (
        lambda: SESSION.extend(SUBJECT),
        "SELECT `subject_id`, `session_id`, `rig`, `species`, `weight` FROM `db`.`session` "
        "LEFT JOIN `db`.`subject` USING (`subject_id`)",
        [],
    ),
    "join_restricted": (
        lambda: (SESSION & {"rig": "A"}) * SUBJECT,
        "SELECT `subject_id`, `session_id`, `rig`, `species`, `weight` FROM (SELECT "
        "`subject_id`, `session_id`, `rig` FROM `db`.`session` WHERE (`rig` = %s)) AS `$0` "
        "JOIN `db`.`subject` USING (`subject_id`)",
        ["A"],
    ),
    "proj_rename": (
        lambda: SUBJECT.proj(kind="species"),
        "SELECT `subject_id`, `species` AS `kind` FROM `db`.`subject`",
        [],
    ),
    "proj_computed": (
        lambda: SUBJECT.proj(w2="weight * 2"),
        "SELECT `subject_id`, weight * 2 AS `w2` FROM `db`.`subject`",
        [],
    ),
    "proj_then_restrict": (
        lambda: SUBJECT.proj(kind="species") & {"kind": "rat"},
        "SELECT `subject_id`, `kind` FROM (SELECT `subject_id`, `species` AS `kind` "
        "FROM `db`.`subject`) AS `$0` WHERE (`kind` = %s)",
        ["rat"],
    ),
    "aggr": (
        lambda: SUBJECT.aggr(SESSION, n="count(*)"),
        "SELECT `subject_id`, count(*) AS `n` FROM `db`.`subject` LEFT JOIN `db`.`session` "
        "USING (`subject_id`) GROUP BY `subject_id`",
        [],
    ),
    "aggr_keep_having": (
        lambda: (
            SUBJECT.aggr(
                SESSION,
                "species",
                n=Aggregate("count", "session_id", True),
                exclude_nonmatching=True,
            )
            & "n > 1"
        ),
        "SELECT `subject_id`, `species`, count(DISTINCT `session_id`) AS `n` FROM "
        "`db`.`subject` JOIN `db`.`session` USING (`subject_id`) GROUP BY `subject_id`, "
        "`species` HAVING (n > 1)",
        [],
    ),
    "u_distinct": (lambda: U("rig") & SESSION, "SELECT DISTINCT `rig` FROM `db`.`session`", []),
    "u_aggr": (
        lambda: U("rig").aggr(SESSION, n="count(*)"),
        "SELECT `rig`, count(*) AS `n` FROM `db`.`session` GROUP BY `rig`",
        [],
    ),
    "u_empty_aggr": (
        lambda: U().aggr(SESSION, n="count(*)"),
        "SELECT count(*) AS `n` FROM `db`.`session`",
        [],
    ),
    "union_keys": (
        lambda: (SUBJECT & {"subject_id": 1}).proj() + (SUBJECT & {"subject_id": 2}).proj(),
        "(SELECT `subject_id` FROM `db`.`subject` WHERE (`subject_id` = %s)) UNION "
        "(SELECT `subject_id` FROM `db`.`subject` WHERE (`subject_id` = %s))",
        [1, 2],
    ),
    "union_outer": (
        lambda: SUBJECT.proj("species") + SUBJECT.proj("weight"),
        "(SELECT `subject_id`, `species`, `weight` FROM (SELECT `subject_id`, `species` FROM "
        "`db`.`subject`) AS `$0` LEFT JOIN (SELECT `subject_id`, `weight` FROM `db`.`subject`) "
        "AS `$1` USING (`subject_id`)) UNION (SELECT `subject_id`, NULL AS `species`, `weight` "
        "FROM (SELECT `subject_id`, `weight` FROM `db`.`subject`) AS `$2` WHERE (`subject_id`) "
        "NOT IN (SELECT `subject_id` FROM (SELECT `subject_id`, `species` FROM `db`.`subject`) "
        "AS `$3`))",
        [],
    ),
    "top": (
        lambda: SUBJECT & Top(2, "weight DESC", offset=1),
        "SELECT `subject_id`, `species`, `weight` FROM `db`.`subject` ORDER BY `weight` DESC "
        "LIMIT 2 OFFSET 1",
        [],
    ),
    "top_merge": (
        lambda: SUBJECT & Top(5, "KEY") & Top(3),
        "SELECT `subject_id`, `species`, `weight` FROM `db`.`subject` "
        "ORDER BY `subject_id` LIMIT 3",
        [],
    ),
    "top_then_restrict": (
        lambda: (SUBJECT & Top(5)) & {"species": "rat"},
        "SELECT `subject_id`, `species`, `weight` FROM (SELECT `subject_id`, `species`, "
        "`weight` FROM `db`.`subject` ORDER BY `subject_id` LIMIT 5) AS `$0` WHERE "
        "(`species` = %s)",
        ["rat"],
    ),
    "renamed_join": (
        lambda: PAIR * SUBJECT.proj(first="subject_id"),
        "SELECT `first`, `second` FROM `db`.`pair` JOIN (SELECT `subject_id` AS `first` "
        "FROM `db`.`subject`) AS `$0` USING (`first`)",
        [],
    ),
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_sql(name):
    build, sql, params = GOLDEN[name]
    assert build().make_sql() == (sql, params)


def test_every_node_type_has_golden_sql():
    from pipeline_core.datamodel import expression

    kinds = {type(GOLDEN[n][0]().node).__name__ for n in GOLDEN}
    nodes = {
        c.__name__
        for c in vars(expression).values()
        if isinstance(c, type) and c.__name__.endswith("Node")
    }
    assert nodes <= kinds


OPERATIONS = {
    "restrict": lambda a, b: a & {"subject_id": 1},
    "restrict_query": lambda a, b: a & b,
    "antijoin": lambda a, b: a - b,
    "join": lambda a, b: a * b,
    "left_join": lambda a, b: b.extend(a),
    "proj": lambda a, b: a.proj(x="species"),
    "aggr": lambda a, b: a.aggr(b, n="count(*)"),
    "union": lambda a, b: a.proj() + a.proj(),
    "top": lambda a, b: a & Top(2),
    "u": lambda a, b: U("rig") & b,
}


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_operands_are_unchanged(name):
    a = SUBJECT & {"species": "mouse"}
    b = SESSION & "rig = 'A'"
    before = (a.make_sql(), b.make_sql(), a.node, b.node, a.heading.names, b.heading.names)
    result = OPERATIONS[name](a, b)
    assert result is not a and result is not b
    assert (a.make_sql(), b.make_sql(), a.node, b.node, a.heading.names, b.heading.names) == before


def test_semantic_check_and_bypass():
    other = table(
        "other",
        attr("subject_id", key=True, lineage="db.other.subject_id"),
        attr("species", "varchar(16)"),
    )
    with pytest.raises(
        DataJointError,
        match=r"`subject_id`: different lineages \(db.subject.subject_id vs db.other.subject_id\)",
    ):
        SUBJECT * other
    with pytest.raises(DataJointError, match="different lineages"):
        SUBJECT & other
    with pytest.raises(DataJointError, match=r"`species`: lineage missing on one side"):
        SUBJECT * other.proj(..., o="subject_id")
    joined = SUBJECT.join(other, semantic_check=False)
    assert "USING (`subject_id`, `species`)" in joined.make_sql()[0]
    assert (
        "(`subject_id`, `species`) IN"
        in SUBJECT.restrict(other, semantic_check=False).make_sql()[0]
    )


def test_operator_errors():
    with pytest.raises(DataJointError, match="must share the same primary key"):
        SUBJECT + SESSION
    with pytest.raises(DataJointError, match="must not share any secondary attributes"):
        SUBJECT + SUBJECT
    with pytest.raises(DataJointError, match="Left join requires the left operand to determine"):
        SUBJECT.extend(SESSION)
    with pytest.raises(DataJointError, match=r"Missing attributes: \['session_id'\]"):
        SESSION.aggr(SUBJECT, n="count(*)")
    with pytest.raises(DataJointError, match="not supported"):
        SUBJECT * U("species")
    with pytest.raises(DataJointError, match="infinite set"):
        U("species") - SUBJECT
    with pytest.raises(DataJointError, match="already exists"):
        SUBJECT.proj("species", species="weight")
    with pytest.raises(DataJointError, match="Cannot exclude primary key"):
        SUBJECT.proj("-subject_id")
    with pytest.raises(QueryError, match="Invalid restriction type None"):
        SUBJECT & None


def test_a_nested_union_lists_its_columns_in_the_outer_order():
    """``X + (Y + Y')`` with X keyed (a, b) and Y keyed (b, a): the inner union is wrapped so
    that both sides of the outer UNION list ``a, b`` in that order."""
    x = table("x", attr("a", key=True, lineage="db.x.a"), attr("b", key=True, lineage="db.x.b"))
    y = table("y", attr("b", key=True, lineage="db.x.b"), attr("a", key=True, lineage="db.x.a"))
    sql, _ = (x + (y + (y & {"a": 1}))).make_sql()
    first, _, second = sql.partition(") UNION (")
    assert first.startswith("(SELECT `a`, `b` FROM `db`.`x`")
    assert second.startswith("SELECT `a`, `b` FROM ((SELECT `b`, `a` FROM `db`.`y`"), sql
