"""DataJoint calls a ported pipeline makes, run with ``datajoint==2.3.5`` and with LabBook on
the same data (issue #10, item 7): ``fetch1('KEY')``, ``order_by`` strings with commas, the
retired ``^`` and ``@`` operators and restrictions by unsupported types."""

from __future__ import annotations

import warnings

import pytest

from pipeline_core import datamodel as dm

from .query_compare import canonical

pytestmark = pytest.mark.oracle


@pytest.fixture(scope="module")
def spaces(query_spaces):
    return query_spaces


def _quiet(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # datajoint's fetch() deprecation warning
        return call()


def _outcome(call):
    """``("ok", canonical value)`` or ``("error", exception)``."""
    try:
        return "ok", canonical(_quiet(call))
    except Exception as exc:
        return "error", exc


FETCH1_CALLS = {
    "key": lambda m: (m.Session & {"subject_id": 2, "session_id": 1}).fetch1("KEY"),
    "key_and_attr": lambda m: (m.Session & {"subject_id": 2, "session_id": 1}).fetch1("KEY", "rig"),
    "attr_and_key": lambda m: (m.Session & {"subject_id": 2, "session_id": 1}).fetch1(
        "session_date", "KEY"
    ),
    "part_key": lambda m: (
        m.Session.Trial & {"subject_id": 1, "session_id": 1, "trial_id": 2}
    ).fetch1("KEY"),
    "proj_key": lambda m: (m.Subject.proj("sex") & {"subject_id": 3}).fetch1("KEY", "sex"),
    "fetch_key": lambda m: (m.Session & {"subject_id": 2}).fetch("KEY", order_by="KEY"),
    "fetch_key_and_attr": lambda m: (m.Session & {"subject_id": 2}).fetch(
        "KEY", "rig", order_by="KEY"
    ),
}


@pytest.mark.parametrize("name", sorted(FETCH1_CALLS))
def test_fetch_with_key_as_datajoint(spaces, name):
    theirs, ours = spaces

    def call(m):
        value = FETCH1_CALLS[name](m)
        if name == "fetch_key_and_attr":  # datajoint gives an array where LabBook a list
            value = [list(v) for v in value]
        return value

    expected = _outcome(lambda: call(theirs))
    assert expected[0] == "ok", expected
    assert _outcome(lambda: call(ours)) == expected


FETCH1_ERRORS = {
    "none": lambda m: (m.Session & {"subject_id": -1}).fetch1(),
    "many": lambda m: m.Session.fetch1(),
    "none_attrs": lambda m: (m.Session & {"subject_id": -1}).fetch1("rig"),
    "many_attrs": lambda m: (m.Session & {"subject_id": 2}).fetch1("rig"),
    "many_keys": lambda m: m.Session.fetch1("KEY"),
}


@pytest.mark.parametrize("name", sorted(FETCH1_ERRORS))
def test_fetch1_refuses_zero_or_several_rows_in_datajoints_words(spaces, name):
    theirs, ours = spaces
    expected = _outcome(lambda: FETCH1_ERRORS[name](theirs))
    got = _outcome(lambda: FETCH1_ERRORS[name](ours))
    assert expected[0] == got[0] == "error"
    assert isinstance(got[1], dm.DataJointError)
    assert str(got[1]) == str(expected[1])


ORDER_BYS = [
    "rig DESC, session_date",
    "rig, duration DESC, subject_id, session_id",
    "KEY DESC",
    "session_date desc,subject_id",
    ["rig desc , duration", "KEY"],
]


@pytest.mark.parametrize("order_by", ORDER_BYS, ids=str)
def test_order_by_strings_with_commas_order_as_in_datajoint(spaces, order_by):
    theirs, ours = spaces

    def rows(m):
        return [canonical(r) for r in m.Session.to_dicts(order_by=order_by, limit=12)]

    expected = _outcome(lambda: rows(theirs))
    assert expected[0] == "ok", expected
    assert _outcome(lambda: rows(ours)) == expected


RETIRED = {
    "xor_instance": lambda m: m.Session() ^ m.Subject(),
    "xor_class": lambda m: m.Session ^ m.Subject,
    "matmul_instance": lambda m: m.Session() @ m.Subject(),
    "matmul_class": lambda m: m.Session @ m.Subject,
    "xor_expression": lambda m: (m.Session & "rig = 'A'") ^ m.Subject,
    "matmul_expression": lambda m: m.Session.proj() @ m.Subject,
}


@pytest.mark.parametrize("name", sorted(RETIRED))
def test_retired_operators_raise_datajoints_error(spaces, name):
    theirs, ours = spaces
    expected = _outcome(lambda: RETIRED[name](theirs))
    got = _outcome(lambda: RETIRED[name](ours))
    assert expected[0] == got[0] == "error"
    assert type(expected[1]).__name__ == "DataJointError"
    assert isinstance(got[1], dm.DataJointError)
    assert str(got[1]) == str(expected[1])


BAD_RESTRICTIONS = {
    "int": 5,
    "float": 2.5,
    "none": None,
    "object": object,
    "int_in_list": [{"subject_id": 1}, 7],
}


@pytest.mark.parametrize("name", sorted(BAD_RESTRICTIONS))
def test_restriction_by_an_unsupported_type_raises_datajoints_error(spaces, name):
    theirs, ours = spaces
    condition = BAD_RESTRICTIONS[name]

    def restrict(m):
        return (m.Subject & condition).to_dicts()

    expected = _outcome(lambda: restrict(theirs))
    got = _outcome(lambda: restrict(ours))
    assert expected[0] == "error", expected
    assert got[0] == "error", got
    assert type(expected[1]).__name__ == "DataJointError", expected[1]
    assert isinstance(got[1], dm.DataJointError), got[1]
    assert str(got[1]) == str(expected[1])
