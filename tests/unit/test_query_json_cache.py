"""Descriptions found valid are remembered by their JSON text (a table page walked page by
page sends the same ``where`` again): a remembered text skips the schema, anything else is
validated as before, and invalid descriptions are refused every time."""

from __future__ import annotations

import pytest

from pipeline_core.datamodel.errors import QueryDescriptionError
from pipeline_core.datamodel.query_json import structure

VALID = {
    "from": {"schema": "lab", "table": "Session"},
    "where": {"and": [{"attribute": "n", "operator": ">=", "value": 3}]},
}


def test_a_valid_description_is_remembered_by_its_text(monkeypatch):
    structure._valid.clear()
    structure.check_structure(VALID)
    assert len(structure._valid) == 1
    calls = []
    validate = structure.best_match
    monkeypatch.setattr(
        structure, "best_match", lambda *a, **k: calls.append(1) or validate(*a, **k)
    )
    structure.check_structure({"where": VALID["where"], "from": VALID["from"]})  # keys moved
    assert calls == []
    structure.check_structure({**VALID, "limit": 5})  # another text: validated
    assert len(calls) == 1


def test_invalid_descriptions_are_refused_every_time():
    structure._valid.clear()
    bad = {"from": {"schema": "lab", "table": "Session"}, "where": {"attribute": "n"}}
    for _ in range(2):
        with pytest.raises(QueryDescriptionError, match="operator"):
            structure.check_structure(bad)
    assert not structure._valid


@pytest.mark.parametrize(
    "odd",
    [
        {"from": {"schema": "lab", "table": "Session"}, "order": ()},  # a tuple is no array
        {"from": {"schema": "lab", "table": "Session"}, "limit": float("nan")},
        {"from": {"schema": "lab", "table": "Session", 1: "x"}},
    ],
)
def test_what_is_not_plain_json_is_never_remembered(odd):
    structure._valid.clear()
    structure.check_structure(VALID)
    with pytest.raises(QueryDescriptionError):
        structure.check_structure(odd)
    assert len(structure._valid) == 1
