"""A tiny pipeline for tests whose make() fails for one key (registered through
LABBOOK_PIPELINES as ``tests.web.failing_pipeline:declare``)."""

from __future__ import annotations

import types

from pipeline_core import datamodel as dm

UNLUCKY = 3


def declare(connection, prefix: str = "") -> types.SimpleNamespace:
    """Declare ``{prefix}webfail`` with Number (Lookup 1..4) and Square (Computed)."""
    schema = dm.Schema(prefix + "webfail", connection=connection)

    @schema
    class Number(dm.Lookup):
        definition = """
        n: int16
        """
        contents = [(1,), (2,), (3,), (4,)]

    @schema
    class Square(dm.Computed):
        definition = """
        -> Number
        ---
        sq: int32
        """

        def make(self, key):
            if key["n"] == UNLUCKY:
                raise ValueError(f"{UNLUCKY} is unlucky")
            self.insert1(dict(key, sq=key["n"] ** 2))

    return types.SimpleNamespace(Number=Number, Square=Square)
