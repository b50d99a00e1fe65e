"""``fetch.stream_batches`` (the rows of an export) on the DataJoint 0.14 fixture: the
``~external_<store>`` rows of each batch's references are read per batch, and every value
equals what ``to_dicts`` gives (external blobs, attachments and filepaths, in-table blobs
and attachments, lazily and not)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.fetch import stream_batches
from pipeline_core.datamodel.stores import Attachment, BlobRef, ObjectRef

from .test_dj014 import EXPECTED, VISIBLE, db, stores_conn  # noqa: F401  (fixtures)

pytestmark = pytest.mark.integration

WITH_EXTERNALS = [n for n in VISIBLE if EXPECTED["tables"][n]["external_values"]]


def comparable(value):
    """A value in a form that compares by contents."""
    if isinstance(value, Attachment):
        return ("attachment", value.name, value.contents)
    if isinstance(value, ObjectRef):
        return ("object", value.store, value.path, value.read())
    if isinstance(value, BlobRef):
        return ("stored", comparable(value.load()))
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [comparable(v) for v in value]
    return value


def test_the_fixture_has_tables_with_externals():
    assert WITH_EXTERNALS


@pytest.mark.parametrize("lazy", [True, False])
@pytest.mark.parametrize("name", WITH_EXTERNALS)
def test_batches_equal_to_dicts(stores_conn, db, name, lazy, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.chdir(tmp_path)  # attachments fetched without lazy are saved into "."
    table = dm.FreeTable(stores_conn, f"`{db}`.`{name}`")
    expected = table.to_dicts(order_by="KEY", lazy=lazy)
    names = table.heading.names
    got = [row for batch in stream_batches(table, 2, "KEY", lazy=lazy) for row in batch]
    assert len(got) == len(expected) > 0
    for row, want in zip(got, expected):
        assert [comparable(v) for v in row] == [comparable(want[n]) for n in names]
