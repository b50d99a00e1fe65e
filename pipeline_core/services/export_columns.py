"""The columns of an export (:mod:`.export`): how the rows of a query are fetched (in-table
blobs and attachments as their first bytes and length, never whole) and turned into JSON
values, with each column's kind (:data:`.export_format.KINDS`) and, for attachments and
stored files of a table the query names, their download URLs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeline_core.datamodel.codecs import blob
from pipeline_core.datamodel.codecs.blob_peek import PEEK_BYTES
from pipeline_core.datamodel.heading import Attribute, TableInfo
from pipeline_core.datamodel.sql import fragments as sql
from pipeline_core.datamodel.types import type_family

from . import export_format as fmt
from .files import is_downloadable
from .query import json_value

#: Rows per batch read from the server and written as one chunk.
BATCH_ROWS = 2000
#: Rows per batch when the result has in-table blobs or attachments (their first bytes).
BLOB_BATCH_ROWS = 200
#: Bytes of an in-table attachment read for its file name.
ATTACH_NAME_BYTES = 1024

#: ``download_url(table, attribute, key) -> URL`` of the front door, for attachments and
#: stored files (``key``: the row's primary key, values as fetched).
DownloadURL = Callable[[TableInfo, str, dict], str]


class Plan:
    """How the rows of ``expr`` are fetched and turned into JSON values.

    Args:
        expr: the query expression exported.
        sources: tables whose attachments and stored files may be linked (those the query
            names in ``from``/``join``; a table export: the table).
        download_url: the front door's URL maker, or None (no URLs).
    Attributes:
        fetched: ``expr`` with each in-table blob and attachment replaced by its first
            bytes (``_peek<i>``) and length (``_size<i>``), raw bytes by their length.
        has_blobs: whether ``fetched`` reads such first bytes (smaller batches then).
        names: the exported columns (``expr``'s heading). kinds: one of
            :data:`.export_format.KINDS` per column.
        convert: ``convert(rows of fetched, as tuples) -> rows of JSON values``.
    """

    def __init__(self, expr, sources: list[TableInfo], download_url: DownloadURL | None):
        heading = expr.heading
        computed, keep = {}, []
        for i, attr in enumerate(heading):
            if attr.in_key:
                continue
            if attr.is_blob:
                computed[f"_peek{i}"] = sql.prefix(attr.name, PEEK_BYTES)
                computed[f"_size{i}"] = sql.byte_length(attr.name)
            elif attr.codec == "attach" and attr.store is None:
                computed[f"_peek{i}"] = sql.prefix(attr.name, ATTACH_NAME_BYTES)
                computed[f"_size{i}"] = sql.byte_length(attr.name)
            elif attr.is_bytes:
                computed[f"_size{i}"] = sql.byte_length(attr.name)
            else:
                keep.append(attr.name)
        self.fetched = expr.proj(*keep, **computed) if computed else expr
        self.has_blobs = bool(computed)
        position = {n: j for j, n in enumerate(self.fetched.heading.names)}
        self.names = heading.names
        self.kinds, getters = [], []
        for i, attr in enumerate(heading):
            source = _source_of(attr, heading, sources) if download_url else None
            kind, getter = _column(attr, i, position, source, download_url)
            self.kinds.append(kind)
            getters.append(getter)
        plain = all(g is None for g in getters) and list(position) == self.names
        if plain:
            self.convert = _unchanged
        else:
            self._getters = [
                (lambda row, j=position[attr.name]: row[j]) if g is None else g
                for attr, g in zip(heading, getters)
            ]
            self.convert = self._rows

    def _rows(self, rows: list) -> list:
        getters = self._getters
        return [tuple([get(row) for get in getters]) for row in rows]


def _unchanged(rows: list) -> list:
    return rows


def _source_of(attr: Attribute, heading, sources: list[TableInfo]):
    """``(table, {key attribute: position name})`` where ``attr``'s files can be downloaded
    from: the one table of ``sources`` that has this very attribute, whose primary key is
    in the result under the same names; else None."""
    if not is_downloadable(attr):
        return None
    found = [
        info
        for info in sources
        if attr.name in info.heading
        and _same(info.heading[attr.name], attr)
        and all(k in heading for k in info.heading.primary_key)
    ]
    return found[0] if len(found) == 1 else None


def _same(a: Attribute, b: Attribute) -> bool:
    return (a.name, a.type, a.codec, a.store, a.database) == (
        b.name,
        b.type,
        b.codec,
        b.store,
        b.database,
    )


def _column(attr: Attribute, i: int, position: dict, source: TableInfo | None, url_of):
    """``(kind, getter)`` of one column: ``getter(row) -> JSON value`` (None: the fetched
    value as it is); ``url_of(source, attribute, key)`` makes download URLs."""
    if attr.is_blob and not attr.in_key:
        peek, size = position[f"_peek{i}"], position[f"_size{i}"]
        legacy = attr.codec is None
        return fmt.SUMMARY, lambda row: _blob_summary(row[peek], row[size], legacy)
    if attr.codec == "attach" and attr.store is None and not attr.in_key:
        peek, size = position[f"_peek{i}"], position[f"_size{i}"]
        return fmt.SUMMARY, _Attachment(attr, peek, size, position, source, url_of)
    if attr.is_bytes and not attr.in_key:
        size = position[f"_size{i}"]
        return (
            fmt.SUMMARY,
            lambda row: (
                None
                if row[size] is None
                else {
                    "kind": "bytes",
                    "size": int(row[size]),
                }
            ),
        )
    j = position[attr.name]
    if attr.store is not None:
        return fmt.SUMMARY, _Stored(attr, j, position, source, url_of)
    if attr.is_json:
        return fmt.JSON, None
    family = type_family(attr.type)
    if attr.base_type == "bool":
        return fmt.BOOL, lambda row: None if row[j] is None else bool(row[j])
    if family in ("integer", "float"):
        return fmt.NUMBER, None
    if family == "text":
        return fmt.TEXT, None
    if attr.is_uuid or family in ("decimal", "date", "datetime"):
        return fmt.TEXT, lambda row: json_value(attr, row[j])
    return fmt.VALUE, lambda row: json_value(attr, row[j])


def _blob_summary(prefix, size, legacy: bool) -> dict | None:
    """The summary of an in-table blob from its first bytes and length: ``{"kind":
    "blob", "dtype", "shape", "size"}`` for an array; ``{"kind": "blob", "type", "shape" or
    "length", "size"}`` otherwise; ``{"kind": "bytes", "size"}`` for raw bytes in an
    unmarked 0.14 blob column; ``{"kind": "blob", "error", "size"}`` when unreadable."""
    if size is None:
        return None
    size = int(size)
    try:
        peeked = blob.peek(bytes(prefix), size)
    except blob.BlobError as exc:
        if legacy:
            return {"kind": "bytes", "size": size}
        return {"kind": "blob", "error": str(exc), "size": size}
    out: dict[str, Any] = {"kind": "blob"}
    if peeked.kind == "array" and peeked.dtype is not None:
        out["dtype"] = peeked.dtype
    elif peeked.kind != "unknown":
        out["type"] = {"recarray": "struct", "none": "None", "sparse": "sparse matrix"}.get(
            peeked.kind, peeked.dtype if peeked.kind == "scalar" else peeked.kind
        )
    if peeked.shape is not None and peeked.kind in ("array", "recarray", "struct", "cell"):
        out["shape"] = list(peeked.shape)
    elif peeked.length is not None:
        out["length"] = peeked.length
    out["size"] = size
    return out


class _Download:
    """Base of columns whose values may carry a download URL: the row's key in the source
    table, read from the fetched row."""

    def __init__(self, attr: Attribute, position: dict, source: TableInfo | None, url_of):
        self.attr = attr
        self.source = source
        self.url_of = url_of
        self.key = (
            [(k, position[k]) for k in source.heading.primary_key] if source is not None else []
        )

    def url(self, row) -> str | None:
        if self.source is None or self.url_of is None:
            return None
        try:
            return self.url_of(self.source, self.attr.name, {k: row[j] for k, j in self.key})
        except TypeError:  # a key value no URL can carry (a time of day)
            return None


class _Attachment(_Download):
    """An in-table attachment: name and size from the first bytes and the length."""

    def __init__(self, attr, peek: int, size: int, position, source, url_of):
        super().__init__(attr, position, source, url_of)
        self.peek, self.size = peek, size

    def __call__(self, row) -> dict | None:
        size = row[self.size]
        if size is None:
            return None
        name, found, _ = bytes(row[self.peek]).partition(b"\0")
        out = {
            "kind": "attachment",
            "name": name.decode("utf-8", "replace") if found else None,
            "size": int(size) - len(name) - 1 if found else None,
        }
        url = self.url(row)
        if url:
            out["url"] = url
        return out


class _Stored(_Download):
    """A stored value (2.x ``<codec@store>`` or a 0.14 reference), fetched lazily: its
    :func:`.query.json_value` summary, with a URL for a file that can be downloaded."""

    def __init__(self, attr, j: int, position, source, url_of):
        super().__init__(attr, position, source, url_of)
        self.j = j

    def __call__(self, row) -> Any:
        value = json_value(self.attr, row[self.j])
        if (
            isinstance(value, dict)
            and value.get("kind") in ("attachment", "object")
            and not value.get("folder")
        ):
            url = self.url(row)
            if url:
                value["url"] = url
        return value
