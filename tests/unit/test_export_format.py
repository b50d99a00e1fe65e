"""The text of exported rows (``services/export_format.py``, no database): CSV read back by
Python's ``csv`` module, TSV escapes undone, JSON Lines read back by ``json``, for values
of every kind; summary texts of blobs and stored values; the module imports neither Django
nor the data model."""

from __future__ import annotations

import ast
import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline_core.services import export_format as fmt

TRICKY = [
    "plain",
    "a,b",
    'say "hi"',
    "two\nlines",
    "cr\r\nlf",
    "tab\there",
    "back\\slash",
    "ü表😀",
    "",
]
KINDS = [fmt.NUMBER, fmt.TEXT, fmt.BOOL, fmt.JSON, fmt.SUMMARY, fmt.VALUE]
NAMES = ["n", "t", "b", "j", "s", "v"]


def sample_rows() -> list[tuple]:
    summaries = [
        {"kind": "blob", "dtype": "float64", "shape": [3, 100], "size": 2448},
        {"kind": "attachment", "name": "a,b.txt", "size": 3, "url": "/x/download/doc/?key=e30"},
        None,
    ]
    rows = []
    for i, text in enumerate(TRICKY):
        rows.append(
            (
                [i, -(2**62), 0.1 + 0.2, None][i % 4],
                text,
                [True, False, None][i % 3],
                [{"a": [1, None, text]}, [text], text, 3, None][i % 5],
                summaries[i % 3],
                [None, "x", 1.5, True, {"k": text}][i % 5],
            )
        )
    return rows


def field_text(kind: str, value) -> str:
    """The expected CSV/TSV text of one value (independent of the module's helpers)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if kind == fmt.JSON or (isinstance(value, (dict, list)) and kind != fmt.SUMMARY):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if kind == fmt.SUMMARY:
        return value.get("url", "<blob float64 (3, 100)>")
    return str(value)


def test_csv_reads_back_with_the_csv_module():
    rows = sample_rows()
    writer = fmt.RowWriter("csv", NAMES, KINDS)
    text = writer.header() + writer.rows(rows[:4]) + writer.rows(rows[4:])
    assert text.count("\r\n") >= len(rows) + 1 and text.endswith("\r\n")
    records = list(csv.reader(io.StringIO(text, newline="")))
    assert records[0] == NAMES
    assert records[1:] == [[field_text(k, v) for k, v in zip(KINDS, row)] for row in rows]


def test_tsv_lines_hold_no_tab_or_newline_inside_a_field():
    rows = sample_rows()
    writer = fmt.RowWriter("tsv", NAMES, KINDS)
    text = writer.header() + writer.rows(rows)
    lines = text.split("\n")
    assert lines[-1] == "" and len(lines) == len(rows) + 2 and "\r" not in text
    records = [[fmt.tsv_unescape(f) for f in line.split("\t")] for line in lines[:-1]]
    assert all(len(r) == len(NAMES) for r in records)
    assert records[1:] == [[field_text(k, v) for k, v in zip(KINDS, row)] for row in rows]


def test_json_lines_read_back_as_the_values():
    rows = sample_rows()
    writer = fmt.RowWriter("jsonl", NAMES, KINDS)
    assert writer.header() == ""
    text = writer.rows(rows)
    assert "😀" in text  # not \\u escapes
    objects = [json.loads(line) for line in text.splitlines()]
    assert objects == [dict(zip(NAMES, row)) for row in rows]
    assert text.count("\n") == len(rows)


@given(st.text())
def test_tsv_escape_round_trips_and_leaves_no_separator(text):
    escaped = fmt.tsv_escape(text)
    assert not set("\t\n\r") & set(escaped)
    assert fmt.tsv_unescape(escaped) == text


@pytest.mark.parametrize(
    "obj, text",
    [
        (
            {"kind": "blob", "dtype": "float64", "shape": [3, 100], "size": 1},
            "<blob float64 (3, 100)>",
        ),
        ({"kind": "blob", "dtype": "int16", "shape": [5], "size": 1}, "<blob int16 (5,)>"),
        ({"kind": "blob", "dtype": "float64", "shape": [], "size": 1}, "<blob float64 ()>"),
        ({"kind": "blob", "type": "struct", "shape": [1, 1], "size": 1}, "<blob struct (1, 1)>"),
        ({"kind": "blob", "type": "dict", "length": 3, "size": 1}, "<blob dict 3 keys>"),
        ({"kind": "blob", "type": "list", "length": 4, "size": 1}, "<blob list 4 items>"),
        ({"kind": "blob", "type": "str", "length": 12, "size": 1}, "<blob str 12 bytes>"),
        ({"kind": "blob", "type": "float", "size": 1}, "<blob float>"),
        ({"kind": "blob", "size": 1}, "<blob>"),
        ({"kind": "blob", "error": "corrupt", "size": 120}, "<not a blob, 120 bytes>"),
        ({"kind": "bytes", "size": 120}, "<120 bytes>"),
        ({"kind": "stored", "store": "raw", "size": 4096}, "<blob@raw 4096 bytes>"),
        (
            {"kind": "npy", "store": "raw", "dtype": "float64", "shape": [3, 100]},
            "<npy@raw float64 (3, 100)>",
        ),
        ({"kind": "attachment", "name": "n.txt", "size": 12}, "<attachment n.txt 12 bytes>"),
        ({"kind": "attachment", "name": None, "size": 20, "url": "/d?key=x"}, "/d?key=x"),
        (
            {"kind": "object", "store": "raw", "path": "a/b.csv", "size": 9, "folder": False},
            "<object@raw a/b.csv 9 bytes>",
        ),
        (
            {"kind": "object", "store": "raw", "path": "a/dir", "size": None, "folder": True},
            "<folder@raw a/dir>",
        ),
        (None, None),
    ],
)
def test_summary_texts(obj, text):
    assert fmt.summary_text(obj) == text


def test_a_row_writer_needs_one_kind_per_column_and_a_known_format():
    with pytest.raises(ValueError, match="2 columns but 1 kinds"):
        fmt.RowWriter("csv", ["a", "b"], [fmt.TEXT])
    with pytest.raises(KeyError):
        fmt.RowWriter("xlsx", ["a"], [fmt.TEXT])


def test_the_module_is_pure():
    tree = ast.parse(Path(fmt.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
    }
    assert not imported & {"django", "pipeline_core", "numpy"}
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level > 0]
