"""Export of a whole table or of a query's result as CSV, TSV or JSON Lines, streamed.

The rows come from one unbuffered SELECT (:func:`~pipeline_core.datamodel.fetch.
stream_batches`) on a connection of its own, :data:`.export_columns.BATCH_ROWS` at a time,
in the query's order completed by the primary key (a table: primary-key order), and are
written batch by batch (:mod:`.export_format`): memory stays flat whatever the number of
rows.
The description's ``limit`` and ``after`` (paging) do not apply: an export has every row.

* No time limit: ``LABBOOK_QUERY_TIMEOUT`` is not applied to the export's statements (it is
  a per-statement limit, so nothing is turned off for other queries), and the server waits
  up to :data:`WRITE_TIMEOUT` for a slow download to take more rows.
* ``LABBOOK_EXPORT_MAX_ROWS`` (:func:`max_rows`; None: no cap): at most that many rows.
  Whether rows are left out is found before the first byte is sent (one query: is there a
  row after the cap?), so the response can say so in ``X-LabBook-Truncated``.
* Errors (an invalid description, an unknown or hidden table, a query the server refuses)
  are raised by :func:`export_table` / :func:`export_query` before anything is streamed:
  the query is run and its first batch read before they return.
* Values (:mod:`.export_columns`): JSON values as the query API gives them
  (:func:`.query.json_value`), except that in-table blobs are described from their first
  bytes and their length (never fetched or unpacked whole), in-table attachments from their
  name and length, and attachments and stored files of a table named in the query carry a
  download ``url`` (made by the front door's ``download_url``). Their text in CSV and TSV:
  :func:`.export_format.summary_text`.

Reading is not audited (as browsing, queries and downloads are not).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from pipeline_core.datamodel import query_json
from pipeline_core.datamodel.errors import QueryDescriptionError, QueryError
from pipeline_core.datamodel.fetch import stream_batches, to_dicts
from pipeline_core.datamodel.heading import TableInfo
from pipeline_core.datamodel.order_by import order_item
from pipeline_core.datamodel.paging import ordering
from pipeline_core.display import shown
from pipeline_core.querystate import decode_description

from . import export_columns as columns
from . import export_format as fmt
from .access import NotFoundError, connection, table_info
from .export_columns import DownloadURL
from .query import viewable_resolver
from .table_rows import restricted

logger = logging.getLogger(__name__)

#: Seconds the server waits for a download to take more rows (``net_write_timeout``).
WRITE_TIMEOUT = 3600


def max_rows() -> int | None:
    """``settings.LABBOOK_EXPORT_MAX_ROWS``: the most rows an export holds (None or 0: no
    cap)."""
    return getattr(settings, "LABBOOK_EXPORT_MAX_ROWS", None) or None


def export_format(name: str) -> fmt.Format:
    """The :class:`~.export_format.Format` called ``name``.

    Raises:
        NotFoundError: not ``csv``, ``tsv`` or ``jsonl``.
    """
    try:
        return fmt.FORMATS[name]
    except KeyError:
        raise NotFoundError(f"no export format {shown(name)} (csv, tsv or jsonl)") from None


#: A ``q`` that is a querystate token (base64url), not JSON text.
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


def parse_description(text: str | None) -> Any:
    """The JSON query description of a ``?q=`` parameter: JSON text (URL-decoded) or the
    compact token of :mod:`pipeline_core.querystate` (what the query builder's links carry).

    Raises:
        QueryDescriptionError: missing, not JSON, or not a valid token (path ``""``).
    """
    if not text:
        raise QueryDescriptionError("the parameter q (a JSON query description) is required")
    stripped = text.strip()
    if _TOKEN.fullmatch(stripped) and stripped not in ("true", "false", "null"):
        try:
            return decode_description(stripped)
        except QueryError as exc:
            raise QueryDescriptionError(str(exc)) from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise QueryDescriptionError(f"q is not JSON: {exc}") from None


@dataclass
class Export:
    """A running export: iterate it (:meth:`chunks`, bytes) and send them with
    ``format.content_type`` as the file ``filename``; ``close()`` when done (or abandoned)
    ends the query.

    Attributes:
        filename: ``<schema>.<Class>.<ext>`` (a query: ``<schema>.<Class>.query.<ext>``,
            of the table its ``from`` names).
        format: the :class:`~.export_format.Format`.
        truncated: the number of rows sent when ``LABBOOK_EXPORT_MAX_ROWS`` left rows out,
            else None.
    """

    filename: str
    format: fmt.Format
    truncated: int | None
    _writer: fmt.RowWriter
    _first: list
    _batches: Iterator[list]
    _convert: Callable[[list], list]

    def __iter__(self) -> Iterator[bytes]:
        return self.chunks()

    def chunks(self) -> Iterator[bytes]:
        """The file, one chunk per batch: the header line, then the rows."""
        try:
            header = self._writer.header()
            if header:
                yield header.encode()
            batch = self._first
            while batch:
                yield self._writer.rows(self._convert(batch)).encode()
                batch = next(self._batches, None)
        except Exception:
            logger.exception("export %s stopped", self.filename)
            raise
        finally:
            self.close()

    def close(self) -> None:
        """End the query (the server stops sending what was not read)."""
        self._batches.close()


def export_table(
    schema: str,
    table: str,
    format_name: str,
    download_url: DownloadURL | None = None,
    *,
    where: Any = None,
    order: Sequence[tuple[str, bool]] = (),
    user=None,
) -> Export:
    """Export every row of a visible table, in primary-key order; or, as a table page shows
    them, the rows that match ``where`` (a condition of the JSON query description, tables
    it matches against viewable by ``user``) in ``order`` (``[(attribute, descending)]``,
    see :func:`.table_rows.sort_order`) completed by the primary key.

    Raises:
        NotFoundError: an unknown format, schema or table (or a hidden one).
        QueryDescriptionError: an invalid ``where``; UnknownAttributeError: ``order``
            names no attribute of the table.
    """
    out = export_format(format_name)
    info = table_info(schema, table)
    expr = restricted(info, where, user)
    order_by = [order_item(n, d) for n, d in order] or None
    return _export(expr, order_by, [info], out, f"{schema}.{info.class_name}", download_url)


def export_query(
    description: Any, user, format_name: str, download_url: DownloadURL | None = None
) -> Export:
    """Export every row of a JSON query description (as :func:`.query.run_query` reads it:
    every schema it names must be one ``user`` may view), in its order completed by the
    primary key; its ``limit`` and ``after`` are ignored.

    Raises:
        NotFoundError: an unknown format; a schema that is not visible or not viewable.
        QueryDescriptionError: an invalid description.
        DataJointError: the server refused the query.
    """
    out = export_format(format_name)
    resolve = viewable_resolver(user)
    query = query_json.to_query(description, connection(), resolve=resolve)
    sources = _sources(description, resolve)
    base = _base_table(description, resolve)
    name = f"{base.database}.{base.class_name}.query" if base else "query"
    return _export(query.expression, query.order_by, sources, out, name, download_url)


def _sources(description: dict, resolve) -> list[TableInfo]:
    """The tables named directly by ``from`` and ``join`` (not nested queries): where the
    attachments and stored files of the result may be downloaded from."""
    items = [description.get("from"), *(description.get("join") or [])]
    return [resolve(i["schema"], i["table"]) for i in items if _is_table(i)]


def _base_table(description: dict, resolve) -> TableInfo | None:
    """The table a (possibly nested) ``from`` starts with."""
    source = description.get("from")
    while isinstance(source, dict) and not _is_table(source):
        source = source.get("from")
    return resolve(source["schema"], source["table"]) if _is_table(source) else None


def _is_table(source: Any) -> bool:
    return isinstance(source, dict) and "schema" in source and "table" in source


def _export(expr, order_by, sources, out, name, download_url) -> Export:
    """Plan the columns, probe the cap, run the query and read its first batch."""
    plan = columns.Plan(expr, sources, download_url)
    order = [order_item(n, d) for n, d in ordering(expr, order_by)]
    cap = max_rows()
    truncated = cap if cap is not None and _has_more_than(expr, cap) else None
    batches = stream_batches(
        plan.fetched,
        columns.BLOB_BATCH_ROWS if plan.has_blobs else columns.BATCH_ROWS,
        order or None,
        limit=cap,
        lazy=True,
        write_timeout=WRITE_TIMEOUT,
    )
    try:
        first = next(batches, None) or []
    except BaseException:
        batches.close()
        raise
    return Export(
        filename=f"{name}.{out.name}",
        format=out,
        truncated=truncated,
        _writer=fmt.RowWriter(out.name, plan.names, plan.kinds),
        _first=first,
        _batches=batches,
        _convert=plan.convert,
    )


def _has_more_than(expr, count: int) -> bool:
    """Whether ``expr`` has more than ``count`` rows (reads at most one row, after
    ``count`` rows in any order)."""
    names = expr.heading.primary_key or expr.heading.names[:1]
    return bool(to_dicts(expr, limit=1, offset=count, attributes=names, decode=False))
