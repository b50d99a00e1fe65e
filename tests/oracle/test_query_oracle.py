"""The query corpus (query_corpus.py) evaluated by LabBook and by ``datajoint==2.3.5`` on
the same data: equal headings (names, primary key) and equal rows as multisets, in order
for ordered queries; a query datajoint refuses, LabBook refuses too (spec §9)."""

from __future__ import annotations

import collections

import pytest

from pipeline_core import datamodel as dm

from .query_compare import evaluate_expression
from .query_corpus import CORPUS, DATAJOINT_DEVIATIONS, ORDERED

pytestmark = pytest.mark.oracle


def evaluate(space, name, build=None):
    """``("ok", names, primary key, rows)`` or ``("error", exception)``."""
    return evaluate_expression(lambda: (build or CORPUS[name])(space))


@pytest.fixture(scope="module")
def spaces(query_spaces):
    return query_spaces


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 150
    assert set(DATAJOINT_DEVIATIONS) <= set(CORPUS)


@pytest.mark.parametrize("name", sorted(DATAJOINT_DEVIATIONS))
def test_datajoint_deviation_is_real(spaces, name):
    """Each documented deviation: datajoint's own answer to the original query differs
    from (or fails where) its answer to the equivalent one."""
    theirs, _ = spaces
    original = evaluate(theirs, name)
    equivalent = evaluate(theirs, name, DATAJOINT_DEVIATIONS[name][1])
    assert equivalent[0] == "ok"
    assert original[0] == "error" or collections.Counter(original[3]) != collections.Counter(
        equivalent[3]
    )


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_query_matches_datajoint(spaces, name):
    theirs, ours = spaces
    deviation = DATAJOINT_DEVIATIONS.get(name)
    expected = evaluate(theirs, name, deviation[1] if deviation else None)
    got = evaluate(ours, name)
    if expected[0] == "error":
        assert got[0] == "error", f"datajoint refuses ({expected[1]!r}); LabBook answered"
        assert isinstance(got[1], dm.DataJointError) or type(got[1]) is type(expected[1]), got[1]
        return
    assert got[0] == "ok", f"LabBook raised {got[1]!r}"
    _, names, key, rows = expected
    assert set(got[1]) == set(names), "heading"
    assert sorted(got[2]) == sorted(key), "primary key"
    if name in ORDERED:
        assert got[3] == rows
    else:
        assert collections.Counter(got[3]) == collections.Counter(rows)
