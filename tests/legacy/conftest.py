"""Fixtures for the legacy DataJoint 0.14 tests: the fixture made by ``make_dj014_dump.py``
(``dj014.sql`` and ``dj014_expected.json``) loaded into a fresh database under the
session's ``pipeline_prefix`` (dropped with the other prefixed databases at session end).

The dump is executed statement by statement through LabBook's own connection
(``pipeline_core.datamodel.connect``); the placeholder that stands for the database name
in the dump (in table comments and ``~log`` events) is replaced by the new name first.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline_core import datamodel as dm

HERE = Path(__file__).resolve().parent
DUMP = HERE / "dj014.sql"
EXPECTED = HERE / "dj014_expected.json"


def split_dump(text: str) -> list[str]:
    """Statements of a ``mariadb-dump`` file: a statement ends with a line ending in ``;``.

    Safe for such dumps: string values never contain a raw newline (the dump escapes it as
    ``\\n``), extended-insert rows end in ``),`` and column lines of a CREATE TABLE in ``,``.
    """
    statements, current = [], []
    for line in text.splitlines():
        if not current and (not line.strip() or line.startswith("--")):
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            statements.append("\n".join(current))
            current = []
    if current:
        raise ValueError(f"unterminated statement at the end of the dump: {current[0][:80]}")
    return statements


def load_dump(dj_params: dict, database: str, text: str) -> None:
    """Create ``database`` and run the dump in it, on a LabBook connection of its own."""
    conn = dm.connect(
        dj_params["host"], dj_params["user"], dj_params["password"], port=int(dj_params["port"])
    )
    try:
        conn.query(f"CREATE DATABASE `{database}`")
        conn.query(f"USE `{database}`")
        for statement in split_dump(text):
            conn.query(statement)
    finally:
        conn.close()


@pytest.fixture(scope="session")
def dj014_expected() -> dict:
    """What DataJoint 0.14 reported for the fixture's tables (``dj014_expected.json``)."""
    return json.loads(EXPECTED.read_text())


@pytest.fixture(scope="session")
def legacy014_db(pipeline_prefix, dj_params, dj014_expected) -> str:
    """Name of a fresh database holding the 0.14 fixture."""
    database = f"{pipeline_prefix}legacy014"
    text = DUMP.read_text().replace(dj014_expected["database_placeholder"], database)
    load_dump(dj_params, database, text)
    return database
