"""Text of exported rows: CSV, TSV and JSON Lines from rows of JSON values (pure: neither
Django nor the data model; :mod:`.export` turns fetched values into JSON values first).

Formats (see README, "Export"):

* ``csv``: RFC 4180: a header row of attribute names, ``,`` between fields, CRLF after
  every record, a field quoted (``"..."``, inner quotes doubled) when it holds ``,``, ``"``,
  CR or LF; UTF-8 without BOM.
* ``tsv``: a header row, a tab between fields, LF after every record, nothing quoted; in
  text, a backslash, tab, LF and CR are written ``\\\\``, ``\\t``, ``\\n``, ``\\r`` (the
  convention of MySQL's ``--batch`` output and PostgreSQL's ``COPY``), so every record is one
  line and every field is free of tabs.
* ``jsonl``: one JSON object per row (``{attribute: JSON value}``, heading order), LF after
  each, no header; UTF-8, non-ASCII characters as themselves.

The text of a value in CSV and TSV is that of its JSON value: NULL and the empty string
are both an empty field (JSON Lines tells them apart: ``null`` and ``""``), text as itself,
numbers as JSON writes them, booleans ``true``/``false``, ``json`` attributes as compact
JSON text, and the summary objects of blobs, bytes, attachments and stored values as
:func:`summary_text` says (the download URL where there is one).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

#: Kinds of exported columns, by the JSON values they hold (None always allowed):
#: numbers (int, float) and text (str) pass through unchanged; ``bool``: true/false;
#: ``json``: any JSON value of a json attribute; ``summary``: the summary object of a blob,
#: bytes, attachment or stored value; ``value``: any JSON value (computed attributes).
NUMBER, TEXT, BOOL, JSON, SUMMARY, VALUE = "number", "text", "bool", "json", "summary", "value"
KINDS = (NUMBER, TEXT, BOOL, JSON, SUMMARY, VALUE)


@dataclass(frozen=True)
class Format:
    """An export format.

    Attributes:
        name: ``csv``, ``tsv`` or ``jsonl`` (also the file extension).
        content_type: the response's ``Content-Type``.
        label: what the web's Export menu calls it.
    """

    name: str
    content_type: str
    label: str


FORMATS = {
    "csv": Format("csv", "text/csv; charset=utf-8; header=present", "CSV"),
    "tsv": Format("tsv", "text/tab-separated-values; charset=utf-8", "TSV"),
    "jsonl": Format("jsonl", "application/jsonl; charset=utf-8", "JSON Lines"),
}

_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_TSV_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def tsv_escape(text: str) -> str:
    """``text`` with backslash, tab, LF and CR written ``\\\\``, ``\\t``, ``\\n``, ``\\r``."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.translate(_TSV_ESCAPES)
    return text


def tsv_unescape(field: str) -> str:
    """The inverse of :func:`tsv_escape` (for readers of exported TSV, and tests)."""
    if "\\" not in field:
        return field
    out, chars = [], iter(field)
    for char in chars:
        if char == "\\":
            nxt = next(chars, "")
            out.append({"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}.get(nxt, "\\" + nxt))
        else:
            out.append(char)
    return "".join(out)


def _shape(shape: Sequence[int]) -> str:
    """A shape as a Python tuple: ``(3, 100)``, ``(5,)``, ``()``."""
    return str(tuple(shape))


def _blob_text(obj: dict) -> str:
    if "error" in obj:
        return f"<not a blob, {obj.get('size')} bytes>"
    if "dtype" in obj:
        shape = obj.get("shape")
        return f"<blob {obj['dtype']}{'' if shape is None else ' ' + _shape(shape)}>"
    kind = obj.get("type")
    if kind is None:
        return "<blob>"
    if "shape" in obj:
        return f"<blob {kind} {_shape(obj['shape'])}>"
    if "length" in obj:
        unit = {"dict": "keys", "str": "bytes", "bytes": "bytes"}.get(kind, "items")
        return f"<blob {kind} {obj['length']} {unit}>"
    return f"<blob {kind}>"


def summary_text(obj: Any) -> str | None:
    """The CSV/TSV text of a summary object (see :mod:`.export`), None for None:

    * any object with a ``url``: the URL (attachments and stored files that can be
      downloaded);
    * ``blob`` (in-table, from its header): ``<blob float64 (3, 100)>`` (an array: dtype
      and shape as a Python tuple), ``<blob struct (1, 1)>``, ``<blob dict 3 keys>``,
      ``<blob list 4 items>``, ``<blob str 12 bytes>``, ``<blob float>`` (a scalar),
      ``<blob None>``, ``<blob>`` (its first bytes do not say more), ``<not a blob, 120
      bytes>`` (unreadable);
    * ``bytes``: ``<120 bytes>``;
    * ``stored`` (a blob in a store): ``<blob@raw 4096 bytes>``;
    * ``npy``: ``<npy@raw float64 (3, 100)>``;
    * ``attachment`` (no URL): ``<attachment notes.txt 12 bytes>``;
    * ``object`` (no URL): ``<object@raw path/in/store 1234 bytes>``, a folder
      ``<folder@raw path/in/store>``.
    """
    if obj is None:
        return None
    if not isinstance(obj, dict):
        return str(obj)
    if obj.get("url"):
        return obj["url"]
    kind = obj.get("kind")
    if kind == "blob":
        return _blob_text(obj)
    if kind == "bytes":
        return f"<{obj.get('size')} bytes>"
    if kind == "stored":
        return f"<blob@{obj.get('store')} {obj.get('size')} bytes>"
    if kind == "npy":
        return f"<npy@{obj.get('store')} {obj.get('dtype')} {_shape(obj.get('shape') or ())}>"
    if kind == "attachment":
        size = obj.get("size")
        return f"<attachment {obj.get('name') or '?'}{'' if size is None else f' {size} bytes'}>"
    if kind == "object":
        if obj.get("folder"):
            return f"<folder@{obj.get('store')} {obj.get('path')}>"
        size = obj.get("size")
        return f"<object@{obj.get('store')} {obj.get('path')}" + (
            ">" if size is None else f" {size} bytes>"
        )
    return f"<{kind}>"


def value_text(value: Any) -> Any:
    """The CSV/TSV field of any JSON value: None, text and numbers unchanged (the CSV
    writer writes None as an empty field), booleans ``true``/``false``, objects and lists
    as compact JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return value
    return _COMPACT.encode(value)


def _bool_text(value: Any) -> Any:
    return None if value is None else ("true" if value else "false")


def _json_text(value: Any) -> Any:
    return None if value is None else _COMPACT.encode(value)


_TEXT_OF: dict[str, Callable[[Any], Any] | None] = {
    NUMBER: None,
    TEXT: None,
    BOOL: _bool_text,
    JSON: _json_text,
    SUMMARY: summary_text,
    VALUE: value_text,
}


def _tsv_of(kind: str) -> Callable[[Any], Any] | None:
    if kind == NUMBER:
        return None
    text_of = _TEXT_OF[kind]
    if text_of is None:
        return lambda v: None if v is None else tsv_escape(v)

    def escaped(value: Any) -> Any:
        text = text_of(value)
        return tsv_escape(text) if isinstance(text, str) else text

    return escaped


class RowWriter:
    """Writes rows of JSON values (tuples, one value per column) as text in one format.

    Args:
        fmt: ``csv``, ``tsv`` or ``jsonl``.
        names: the column names (attribute names, heading order).
        kinds: one of :data:`KINDS` per column.
    Raises:
        KeyError: an unknown format or kind.
    """

    def __init__(self, fmt: str, names: Sequence[str], kinds: Sequence[str]):
        self.format = FORMATS[fmt]
        self.names = list(names)
        if len(kinds) != len(self.names):
            raise ValueError(f"{len(self.names)} columns but {len(kinds)} kinds")
        self._buffer = io.StringIO()
        if fmt == "jsonl":
            self._writer = None
            self._convert = []
            return
        if fmt == "csv":
            self._writer = csv.writer(self._buffer, lineterminator="\r\n")
            converters = [_TEXT_OF[k] for k in kinds]
        else:
            self._writer = csv.writer(
                self._buffer,
                delimiter="\t",
                quoting=csv.QUOTE_NONE,
                quotechar=None,
                lineterminator="\n",
            )
            converters = [_tsv_of(k) for k in kinds]
        self._convert = [(i, f) for i, f in enumerate(converters) if f is not None]

    def header(self) -> str:
        """The header line (CSV, TSV; names escaped as text), or ``""`` (JSON Lines)."""
        if self._writer is None:
            return ""
        if self.format.name == "tsv":
            return self._text([tuple(tsv_escape(n) for n in self.names)])
        return self._text([tuple(self.names)])

    def rows(self, rows: Sequence[Sequence[Any]]) -> str:
        """The text of ``rows`` (each a sequence of JSON values, one per column)."""
        if self._writer is None:
            encode, names = _COMPACT.encode, self.names
            return "".join([encode(dict(zip(names, row))) + "\n" for row in rows])
        if self._convert:
            convert = self._convert
            converted = []
            for row in rows:
                row = list(row)
                for i, f in convert:
                    row[i] = f(row[i])
                converted.append(row)
            rows = converted
        return self._text(rows)

    def _text(self, rows) -> str:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerows(rows)
        return self._buffer.getvalue()
