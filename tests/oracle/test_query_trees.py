"""Hypothesis-generated expression trees (depth <= 5) evaluated by LabBook and by
``datajoint==2.3.5``: equal headings and equal rows as multisets; when datajoint refuses a
tree, LabBook refuses it too.

A tree is a list of drawn integers replayed by :func:`build` against either library's
namespace, so both sides build the same query. Attributes are picked from the sorted
heading (the two libraries may order a join's heading differently). Steps avoid the
documented datajoint deviations (tests/oracle/query_corpus.py: Not(AndList), a Top inside
a join, restricted operands of a left-join aggregation) and three more datajoint faults:
a Top of a union (invalid SQL); ``U(...) & q`` whose DISTINCT is lost when the result is
joined, projected or aggregated, or when ``q`` is a union (duplicate rows); and restricting
an aggregation by an expression with no shared attribute (TypeError). So a Top or a U ends
a tree; the corpus holds LabBook's answers to those cases.
"""

from __future__ import annotations

import collections

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline_core import datamodel as dm

from .query_compare import evaluate_expression

pytestmark = pytest.mark.oracle

LEAVES = [
    "Subject",
    "Session",
    "Session.Trial",
    "Stimulus",
    "TrialStim",
    "Recording",
    "Experimenter",
    "Lab",
    "Species",
    "Pairing",
    "Analysis",
]
VALUES = {
    "subject_id": [1, 2, 3, 5, 8, 13],
    "session_id": [1, 2, 3],
    "trial_id": [1, 2, 5],
    "sex": ["F", "M", "U"],
    "species": ["mouse", "rat", "zebrafish"],
    "rig": ["rigA", "rigB"],
    "side": ["left", "right", "none"],
    "correct": [0, 1],
    "stim_id": [1, 2, 3],
    "lab_id": ["L001", "L002", None],
    "experimenter": ["alice", "bob", None],
    "rec_id": [1, 2],
    "stim_name": ["grating", "dots"],
}
NUMERIC = {
    "weight": [20, 30],
    "duration": [40, 50],
    "reaction_time": [0.5, 0.9],
    "contrast": [0.3, 0.6],
    "fs": [1500, 5000],
    "response": [0.2, 0.7],
    "mean_value": [0.0],
}
STEPS = [
    "restrict_dict",
    "restrict_or",
    "restrict_not",
    "restrict_string",
    "semijoin",
    "antijoin",
    "join",
    "proj",
    "proj_rename",
    "aggr",
    "u",
    "union",
    "top",
]


class Chooser:
    """Replays drawn integers as choices."""

    def __init__(self, numbers):
        self.numbers = list(numbers)
        self.index = 0

    def pick(self, options):
        options = list(options)
        number = self.numbers[self.index % len(self.numbers)] if self.numbers else 0
        self.index += 1
        return options[number % len(options)]


def leaf(m, name):
    obj = m
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def build(m, numbers, depth):
    """The expression the choices describe, over namespace ``m``."""
    c = Chooser(numbers)
    expr = leaf(m, c.pick(LEAVES))
    if isinstance(expr, type):
        expr = expr()
    united = False
    for _ in range(depth):
        names = sorted(expr.heading.names)
        step = c.pick(STEPS)
        valued = [n for n in names if n in VALUES]
        numeric = [n for n in names if n in NUMERIC]
        if step == "restrict_dict" and valued:
            name = c.pick(valued)
            expr = expr & {name: c.pick(VALUES[name])}
        elif step == "restrict_or" and valued:
            first, second = c.pick(valued), c.pick(valued)
            expr = expr & [{first: c.pick(VALUES[first])}, {second: c.pick(VALUES[second])}]
        elif step == "restrict_not" and valued:
            name = c.pick(valued)
            expr = expr - {name: c.pick(VALUES[name])}
        elif step == "restrict_string" and numeric:
            name = c.pick(numeric)
            expr = expr & f"{name} > {c.pick(NUMERIC[name])}"
        elif step in ("semijoin", "antijoin"):
            other = leaf(m, c.pick(LEAVES))
            other = other() if isinstance(other, type) else other
            if not set(other.heading.names) & set(names):
                continue  # datajoint fails (TypeError) restricting an aggregation this way
            if valued and c.pick([True, False]):
                name = c.pick(valued)
                if name in other.heading.names:
                    other = other & {name: c.pick(VALUES[name])}
            expr = expr & other if step == "semijoin" else expr - other
        elif step == "join":
            expr = expr * leaf(m, c.pick(LEAVES))
        elif step == "proj":
            secondary = sorted(set(expr.heading.names) - set(expr.primary_key))
            keep = [n for n in secondary if c.pick([True, False])]
            expr = expr.proj(*keep)
        elif step == "proj_rename":
            secondary = sorted(set(expr.heading.names) - set(expr.primary_key))
            if secondary:
                expr = expr.proj(..., renamed_attr=c.pick(secondary))
        elif step == "aggr":
            grouping = [n for n in LEAVES if set(leaf(m, n).primary_key) <= set(names)]
            if grouping:
                target = leaf(m, c.pick(grouping))
                expr = target.aggr(expr, n="count(*)", exclude_nonmatching=True)
        elif step == "u" and not united:
            chosen = [n for n in names if c.pick([True, False])] or [c.pick(names)]
            expr = m.U(*chosen) & expr
            # datajoint loses the DISTINCT of U(...) & q in later joins, projections, aggregations
            break
        elif step == "union" and valued:
            name = c.pick(valued)
            expr = expr.proj() + (expr & {name: c.pick(VALUES[name])}).proj()
            united = True
        elif step == "top" and not united:  # datajoint writes broken SQL for a Top of a union
            expr = expr & m.Top(c.pick([1, 3, 10]), "KEY", offset=c.pick([0, 2]))
            break  # a Top ends the tree (datajoint drops a Top inside a join)
    return expr


@pytest.fixture(scope="module")
def spaces(query_spaces):
    return query_spaces


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    numbers=st.lists(st.integers(min_value=0, max_value=10_000), min_size=4, max_size=40),
    depth=st.integers(min_value=1, max_value=5),
)
def test_random_trees_match_datajoint(spaces, numbers, depth):
    theirs, ours = spaces
    expected = evaluate_expression(lambda: build(theirs, numbers, depth))
    got = evaluate_expression(lambda: build(ours, numbers, depth))
    if expected[0] == "error":
        assert got[0] == "error", f"datajoint refuses ({expected[1]!r}); LabBook answered"
        assert isinstance(got[1], dm.DataJointError), got[1]
        return
    assert got[0] == "ok", f"LabBook raised {got[1]!r}"
    assert set(got[1]) == set(expected[1])
    assert sorted(got[2]) == sorted(expected[2])
    assert collections.Counter(got[3]) == collections.Counter(expected[3])
