"""The query corpus (query_corpus.py) evaluated by LabBook and by ``datajoint==2.3.5`` on
the same data: equal headings (names, primary key) and equal rows as multisets, in order
for ordered queries; a query datajoint refuses, LabBook refuses too (spec §9)."""

from __future__ import annotations

import collections
import datetime
import decimal
import types
import warnings

import numpy as np
import pytest

from pipeline_core import datamodel as dm

from . import query_pipeline
from .query_corpus import CORPUS, DATAJOINT_DEVIATIONS, ORDERED

pytestmark = pytest.mark.oracle


@pytest.fixture(scope="module")
def spaces(dj, dj_conn, dm_conn, new_db_module):
    """``(datajoint namespace, LabBook namespace)`` over one database declared and filled
    by datajoint."""
    database = new_db_module("query")
    schema = dj.Schema(database, connection=dj_conn)
    classes = query_pipeline.declare(dj, schema)
    query_pipeline.load(classes, query_pipeline.rows())
    theirs = types.SimpleNamespace(**vars(classes), U=dj.U, Top=dj.Top, AndList=dj.AndList, Not=dj.Not)
    module = dm.VirtualModule("query_oracle", database, connection=dm_conn)
    ours = types.SimpleNamespace(**{name: getattr(module, name) for name in query_pipeline.ORDER},
                                 U=dm.U, Top=dm.Top, AndList=dm.AndList, Not=dm.Not)
    return theirs, ours


@pytest.fixture(scope="module")
def new_db_module(pipeline_prefix):
    import itertools
    counter = itertools.count()
    return lambda label: f"{pipeline_prefix}{label}m{next(counter)}"


def canonical(value):
    """A hashable, library-independent form of a fetched value."""
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, (np.generic,)):
        return canonical(value.item())
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, decimal.Decimal):
        return ("decimal", str(value.normalize()) if value == value.to_integral() else str(value))
    if isinstance(value, (list, tuple)):
        return tuple(canonical(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, canonical(v)) for k, v in value.items()))
    if isinstance(value, (datetime.date, str, int, bytes, type(None))):
        return value
    return repr(value)


def rows_of(expr) -> list[tuple]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [tuple(sorted((k, canonical(v)) for k, v in row.items())) for row in expr.to_dicts()]


def evaluate(space, name, build=None):
    """``("ok", names, primary key, rows)`` or ``("error", exception)``."""
    try:
        expr = (build or CORPUS[name])(space)
        if isinstance(expr, type):
            expr = expr()
        return "ok", list(expr.heading.names), list(expr.primary_key), rows_of(expr)
    except Exception as exc:  # noqa: BLE001 - datajoint's refusals are part of the corpus
        return "error", exc


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
    assert original[0] == "error" or collections.Counter(original[3]) != collections.Counter(equivalent[3])


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_query_matches_datajoint(spaces, name):
    theirs, ours = spaces
    deviation = DATAJOINT_DEVIATIONS.get(name)
    expected = evaluate(theirs, name, deviation[1] if deviation else None)
    got = evaluate(ours, name)
    if expected[0] == "error":
        assert got[0] == "error", f"datajoint refuses ({expected[1]!r}); LabBook answered"
        assert isinstance(got[1], (dm.DataJointError, TypeError)), got[1]
        return
    assert got[0] == "ok", f"LabBook raised {got[1]!r}"
    _, names, key, rows = expected
    assert set(got[1]) == set(names), "heading"
    assert sorted(got[2]) == sorted(key) or deviation, "primary key"
    if name in ORDERED:
        assert got[3] == rows
    else:
        assert collections.Counter(got[3]) == collections.Counter(rows)
