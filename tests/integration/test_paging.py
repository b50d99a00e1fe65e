"""Keyset pagination of any expression (paging.page): every row exactly once, in order,
for orderings with descending and nullable attributes, joins, aggregations and computed
attributes; the SQL uses no OFFSET."""

from __future__ import annotations

import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.paging import ordering, page, window
from tests.oracle import query_pipeline

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab(dm_conn, pipeline_prefix):
    ns = query_pipeline.declare(dm, dm.Schema(pipeline_prefix + "paging", connection=dm_conn))
    query_pipeline.load(ns, query_pipeline.rows())
    return ns


def walk(expr, order_by, limit):
    """Every page of ``expr``; fails (rather than loops) when the cursor stops advancing."""
    rows, cursor, pages = [], None, 0
    bound = len(expr) // limit + 2
    while True:
        batch, cursor = page(expr, order_by, cursor, limit)
        rows += batch
        pages += 1
        if cursor is None:
            return rows, pages
        assert pages <= bound, f"paging did not end after {pages} pages (cursor {cursor})"


def key(row, names):
    return tuple(row[n] for n in names)


CASES = {
    "pk": lambda m: (m.Session.Trial, None),
    "nullable_asc": lambda m: (m.Session.Trial, ["reaction_time"]),
    "nullable_desc": lambda m: (m.Session.Trial, ["reaction_time DESC", "side"]),
    "key_desc": lambda m: (m.Session, ["KEY DESC"]),
    "float32": lambda m: (m.Session, ["duration"]),
    "float32_desc": lambda m: (m.Session, ["duration DESC"]),
    "join": lambda m: (m.Session * m.Subject, ["species", "weight DESC"]),
    "aggregation": lambda m: (m.Subject.aggr(m.Session, n="count(*)"), ["n DESC"]),
    "aggregated_float32": lambda m: (
        m.Subject.aggr(m.Session, d=dm.Aggregate("min", "duration")),
        ["d"],
    ),
    "computed": lambda m: (
        m.Session.Trial.proj(rt="reaction_time * 1000", c="correct"),
        ["c", "rt"],
    ),
    "union_enum": lambda m: (
        (m.Subject & "subject_id < 9").proj("sex") + (m.Subject & "subject_id > 6").proj(),
        ["sex DESC"],
    ),
    "union": lambda m: (
        (m.Subject & "subject_id < 5").proj() + (m.Subject & "subject_id > 9").proj(),
        None,
    ),
}


@pytest.mark.parametrize("limit", [1, 7, 100])
@pytest.mark.parametrize("case", sorted(CASES))
def test_pages_visit_every_row_once_in_order(lab, case, limit):
    expr, order_by = CASES[case](lab)
    everything = expr.to_dicts()
    rows, pages = walk(expr, order_by, limit)
    names = expr.heading.names
    assert sorted(key(r, names) for r in rows) == sorted(key(r, names) for r in everything)
    assert len({key(r, expr.primary_key) for r in rows}) == len(rows)
    assert pages == max(1, -(-len(everything) // limit))
    ordered = expr.to_dicts(order_by=[*(order_by or []), "KEY"])
    assert [key(r, names) for r in rows] == [key(r, names) for r in ordered]


def test_page_sql_has_no_offset_and_values_are_parameters(lab):
    expr = lab.Session.Trial
    _, cursor = page(expr, ["reaction_time DESC"], None, 5)
    from pipeline_core.datamodel.sql.keyset import keyset_after

    after = keyset_after(
        ordering(expr, ["reaction_time DESC"]), list(cursor.values()), expr.heading
    )
    sql, params = after.sql, after.params
    assert "OFFSET" not in sql.upper() and all(str(v) not in sql for v in params if v is not None)
    assert len(page(expr & after, ["reaction_time DESC"], None, 5)[0]) == 5


def test_bad_cursor_and_limit(lab):
    with pytest.raises(dm.QueryError, match="lacks `trial_id`"):
        page(lab.Session.Trial, None, {"subject_id": 1, "session_id": 1}, 5)
    with pytest.raises(dm.QueryError, match="positive integer"):
        page(lab.Session.Trial, None, None, 0)
    with pytest.raises(dm.UnknownAttributeError):
        page(lab.Session.Trial, ["nope"], None, 5)


def walk_back(expr, order_by, limit):
    """Every page of ``expr`` from the end by ``window(before=...)`` (first page: from_end),
    in the ordering; fails when the cursor stops moving."""
    found = window(expr, order_by, from_end=True, limit=limit)
    pages = [found.rows]
    while found.more_before:
        found = window(expr, order_by, before=found.first, limit=limit)
        pages.insert(0, found.rows)
        assert len(pages) <= len(expr) // limit + 2, "backwards paging did not end"
    return [row for rows in pages for row in rows], len(pages)


@pytest.mark.parametrize("limit", [1, 7, 100])
@pytest.mark.parametrize("case", sorted(CASES))
def test_backwards_pages_from_the_end_mirror_the_forward_ones(lab, case, limit):
    """Reversing every direction (NULLs mirrored, enums by rank, float32 exactly) reads the
    same rows in the same order, a page at a time from the end."""
    expr, order_by = CASES[case](lab)
    names = expr.heading.names
    ordered = expr.to_dicts(order_by=[*(order_by or []), "KEY"])
    rows, pages = walk_back(expr, order_by, limit)
    assert [key(r, names) for r in rows] == [key(r, names) for r in ordered]
    assert pages == max(1, -(-len(ordered) // limit))


def test_window_ends_and_more_flags(lab):
    expr, order_by = lab.Session.Trial, ["reaction_time DESC", "side"]
    ordered = expr.to_dicts(order_by=[*order_by, "KEY"])
    names = [n for n, _ in ordering(expr, order_by)]
    first = window(expr, order_by, limit=5)
    assert not first.more_before and first.more_after and first.rows == ordered[:5]
    second = window(expr, order_by, after=first.last, limit=5)
    assert second.rows == ordered[5:10] and second.more_before and second.more_after
    back = window(expr, order_by, before=second.first, limit=5)
    assert back.rows == ordered[:5] and not back.more_before and back.more_after
    assert list(back.last) == names and back.last == first.last
    end = window(expr, order_by, from_end=True, limit=5)
    assert end.rows == ordered[-5:] and end.more_before and not end.more_after
    everything = window(expr, order_by, from_end=True, limit=len(ordered))
    assert everything.rows == ordered and not everything.more_before
    with pytest.raises(dm.QueryError, match="one of them"):
        window(expr, order_by, after=first.last, from_end=True)
