"""Running query expressions and decoding their rows (spec §9.7).

The functions take a :class:`~.expression.QueryExpression` (its ``connection``, ``node`` and
``heading``), compile its tree with :mod:`.sql.compiler` and decode the rows with
:mod:`.values`; the expression's methods (``to_dicts``, ``fetch``, ``fetch1`` ...) call them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .errors import QueryError
from .sql import stores as stores_sql
from .sql.compiler import compile_select
from .sql.dml import count_all_sql, count_sql, exists_sql
from .stores.decode import ReadContext, legacy_needs
from .types import numpy_dtype
from .values import decode as decode_value
from .values import needs_decoding


def to_dicts(
    expr,
    order_by=None,
    limit=None,
    offset=None,
    *,
    decode: bool = True,
    attributes=None,
    download_path=None,
    lazy: bool = False,
    timeout: float | None = None,
) -> list[dict]:
    """Rows of ``expr`` as dicts (heading order), decoded unless ``decode=False``.

    Args:
        order_by: ``"KEY"``, ``"attr [DESC]"`` or a list of those.
        limit, offset: paging (offset only with limit).
        attributes: subset of attribute names to fetch (default all).
        download_path: folder to save attachments, ``<object@>`` and ``<filepath@>``
            values into (their local paths are returned, ``str``); default: attachments
            are saved into DataJoint's default ``"."`` (the working directory), objects
            and filepaths stay ``ObjectRef`` values (spec §5.5).
        lazy: ``<blob@store>`` and ``<hash@store>`` values come back as ``BlobRef`` (read on
            ``.load()``); without ``download_path``, attachments stay ``Attachment`` values
            (stored ones read on first access) and nothing is saved.
        timeout: seconds the query may run on the server (None: no limit).
    Raises:
        StoreError: a stored value cannot be read (names the attribute).
        OSError: an attachment cannot be saved into the download folder.
        QueryTimeoutError: the query ran longer than ``timeout``.
    """
    sql, params = compile_select(
        expr.node, order_by=order_by, limit=limit, offset=offset, attributes=attributes
    )
    rows = expr.connection.query(sql, params, as_dict=True, timeout=timeout).fetchall()
    if not decode:
        return list(rows)
    return decode_rows(
        expr.connection,
        expr.heading,
        rows,
        download_path=download_path,
        lazy=lazy,
        table=getattr(expr, "full_table_name", None),
    )


def decode_rows(
    conn, heading, rows, *, download_path=None, lazy: bool = False, table: str | None = None
) -> list[dict]:
    """Decode fetched rows (dicts of raw column values, decoded in place and returned as
    a list; only the columns that need it are touched) with ``conn``'s stores; the
    ``~external_<store>`` entries 0.14 references need are read in one query per store.
    ``table`` (full name) is named in errors; a query's rows are called "query"."""
    context = ReadContext(conn.stores, Path(download_path) if download_path else None, lazy)
    _read_external_rows(conn, context, legacy_needs(heading, rows))
    label = table or "query"
    rows = list(rows)  # dicts of the driver's, decoded in place
    if not rows:
        return rows
    # once per query: the columns decode() changes (blobs, json ...); the others stay as read
    special = [(n, heading[n]) for n in rows[0] if needs_decoding(heading[n])]
    for row in rows if special else ():
        for name, attr in special:
            row[name] = decode_value(attr, row[name], label, context)
    return rows


def fetch(
    expr,
    *attributes: str,
    as_dict: bool = False,
    order_by=None,
    limit=None,
    offset=None,
    download_path=None,
    lazy: bool = False,
    timeout: float | None = None,
):
    """DataJoint-style fetch (``download_path``, ``lazy`` and ``timeout`` as in
    :func:`to_dicts`).

    Returns:
        without ``attributes`` (or with ``as_dict``): a list of row dicts; with them, one
        list of values per attribute (a list of them when several), ``"KEY"`` giving the
        key dicts. Unlike DataJoint's fetch, lists rather than numpy arrays (use
        :func:`to_arrays` for arrays).
    """
    options = {"download_path": download_path, "lazy": lazy, "offset": offset, "timeout": timeout}
    if not attributes:
        return to_dicts(expr, order_by=order_by, limit=limit, **options)
    names = [n for a in attributes for n in (expr.heading.primary_key if a == "KEY" else [a])]
    rows = to_dicts(
        expr, order_by=order_by, limit=limit, attributes=list(dict.fromkeys(names)), **options
    )
    if as_dict:
        return rows
    if attributes == ("KEY",):
        return rows
    key = expr.heading.primary_key
    columns = [
        [{k: row[k] for k in key} for row in rows] if a == "KEY" else [row[a] for row in rows]
        for a in attributes
    ]
    return columns[0] if len(columns) == 1 else columns


def fetch1(
    expr,
    *attributes: str,
    download_path=None,
    lazy: bool = False,
    timeout: float | None = None,
):
    """The single row of ``expr``, as DataJoint's ``fetch1``: without ``attributes`` the row
    as a dict; with one, its value; with several, a tuple of values. ``"KEY"`` stands for
    the primary key (a dict of it). ``download_path`` and ``lazy`` as in :func:`to_dicts`.

    Raises:
        QueryError: zero or several rows (DataJoint's wording: "fetch1 requires exactly one
            tuple in the input set." without attributes, "fetch1 should only return one
            tuple. N tuples found" with them).
        UnknownAttributeError: an attribute not in the heading.
    """
    key = expr.heading.primary_key
    names = [n for a in attributes for n in (key if a == "KEY" else [a])]
    rows = to_dicts(
        expr,
        limit=2,
        attributes=list(dict.fromkeys(names)) or None,
        download_path=download_path,
        lazy=lazy,
        timeout=timeout,
    )
    if len(rows) != 1:
        if not attributes:
            raise QueryError("fetch1 requires exactly one tuple in the input set.")
        found = count(expr) if rows else 0
        raise QueryError(f"fetch1 should only return one tuple. {found} tuples found")
    row = rows[0]
    if not attributes:
        return row
    values = [{k: row[k] for k in key} if a == "KEY" else row[a] for a in attributes]
    return values[0] if len(values) == 1 else tuple(values)


def to_arrays(
    expr, *attributes: str, include_key: bool = False, order_by=None, limit=None, offset=None
):
    """Rows as numpy arrays, as DataJoint's ``to_arrays``.

    Without ``attributes``: one record array (fields = the heading, numeric dtypes where
    the column is a non-nullable number, else object). With them: one array per
    attribute (a tuple when several), preceded by the list of key dicts with
    ``include_key``. Only the named attributes (and the key with ``include_key``) are read.

    Raises:
        UnknownAttributeError: an attribute not in the heading.
    """
    names = None
    if attributes:
        names = list(dict.fromkeys([*(expr.primary_key if include_key else []), *attributes]))
    rows = to_dicts(expr, order_by=order_by, limit=limit, offset=offset, attributes=names)
    if attributes:
        arrays = [_array([row[a] for row in rows]) for a in attributes]
        if include_key:
            keys = [{k: row[k] for k in expr.primary_key} for row in rows]
            return (keys, *arrays)
        return arrays[0] if len(arrays) == 1 else tuple(arrays)
    dtype = np.dtype([(a.name, numpy_dtype(a) or object) for a in expr.heading])
    result = np.empty(len(rows), dtype=dtype)
    for name in expr.heading.names:
        column = [row[name] for row in rows]
        if dtype[name].kind == "O":
            target = result[name]
            for i, value in enumerate(column):
                target[i] = value
        else:
            result[name] = column
    return result


def _array(values: list) -> np.ndarray:
    try:
        array = np.array(values)
        if array.dtype != object and array.ndim == 1:
            return array
    except ValueError:
        pass
    array = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        array[i] = value
    return array


def to_pandas(expr, order_by=None, limit=None, offset=None):
    """A pandas DataFrame of the rows, indexed by the primary key (spec §9.7).

    Raises:
        ImportError: pandas is not installed (it is optional).
    """
    import pandas

    rows = to_dicts(expr, order_by=order_by, limit=limit, offset=offset)
    frame = pandas.DataFrame(rows, columns=expr.heading.names)
    if rows and expr.primary_key:
        frame = frame.set_index(expr.primary_key)
    return frame


def stream(
    expr,
    batch_size: int = 1000,
    order_by=None,
    download_path=None,
    lazy: bool = False,
    timeout: float | None = None,
) -> Iterator[dict]:
    """Yield the decoded rows of ``expr`` one by one, reading them from an unbuffered
    (server-side) cursor ``batch_size`` rows at a time, so a large result is never held
    in memory whole. Uses a connection of its own for the duration, so other queries can
    run while iterating.

    Raises:
        StoreError / DataJointError: as :func:`to_dicts`.
    """
    sql, params = compile_select(expr.node, order_by=order_by)
    conn = expr.connection
    with conn.unbuffered(sql, params, timeout=timeout) as cursor:
        while True:
            rows = cursor.fetchmany(batch_size)
            if not rows:
                return
            yield from decode_rows(
                conn,
                expr.heading,
                rows,
                download_path=download_path,
                lazy=lazy,
                table=getattr(expr, "full_table_name", None),
            )


def stream_batches(
    expr,
    batch_size: int = 1000,
    order_by=None,
    *,
    limit: int | None = None,
    lazy: bool = False,
    timeout: float | None = None,
    write_timeout: int | None = None,
) -> Iterator[list[tuple]]:
    """Yield the rows of ``expr`` in batches of up to ``batch_size``, each row a tuple of
    its decoded values in heading order (``expr.heading.names``), read from an unbuffered
    cursor on a connection of its own, as :func:`stream` (constant memory). Cheaper per
    row than :func:`stream`: no dicts, and only the values whose attributes need decoding
    (:func:`.values.needs_decoding`: blobs, uuids, json, attachments, stored values) go
    through it.

    The query runs when the first batch is asked for; closing the generator early (or
    leaving it) stops the server sending the rest.

    Args:
        order_by: as :func:`to_dicts`. limit: at most this many rows.
        lazy: stored values as lazy references (see :func:`to_dicts`); attachments are
            never saved locally when lazy.
        timeout: seconds the query may run on the server (None: no limit).
        write_timeout: seconds the server waits for the reader between batches (see
            :meth:`.connection.Connection.unbuffered`).
    Raises:
        StoreError / DataJointError: as :func:`to_dicts`.
        QueryTimeoutError: the query ran longer than ``timeout``.
    """
    heading = expr.heading
    names = heading.names
    sql, params = compile_select(expr.node, order_by=order_by, limit=limit, attributes=names)
    conn = expr.connection
    decoded = [(i, heading[name]) for i, name in enumerate(names) if needs_decoding(heading[name])]
    table = getattr(expr, "full_table_name", None)
    label = table or "query"
    with conn.unbuffered(
        sql, params, timeout=timeout, as_dict=False, write_timeout=write_timeout
    ) as cursor:
        while True:
            rows = cursor.fetchmany(batch_size)
            if not rows:
                return
            if not decoded:
                yield rows
                continue
            context = _read_context(conn, heading, rows, names, lazy)
            batch = []
            for row in rows:
                row = list(row)
                for i, attr in decoded:
                    if row[i] is not None:
                        row[i] = decode_value(attr, row[i], label, context)
                batch.append(tuple(row))
            yield batch


def _read_context(conn, heading, rows: list[tuple], names: list[str], lazy: bool) -> ReadContext:
    """The :class:`ReadContext` of a batch of tuple rows: with the ``~external_<store>``
    entries its 0.14 references need (one query per store), as :func:`decode_rows`."""
    context = ReadContext(conn.stores, None, lazy)
    legacy = [name for name in names if heading[name].is_legacy_reference]
    if not legacy:
        return context
    positions = [names.index(name) for name in legacy]
    dicts = [{name: row[i] for name, i in zip(legacy, positions)} for row in rows]
    _read_external_rows(conn, context, legacy_needs(heading, dicts))
    return context


def _read_external_rows(conn, context: ReadContext, needs: dict) -> None:
    """Read into ``context.external_rows`` the ``~external_<store>`` entries of ``needs``
    (``{(database, store): {uuid, ...}}``, :func:`legacy_needs`): one query per store."""
    for (database, store), hashes in needs.items():
        hashes = sorted(hashes)
        result = conn.query(
            stores_sql.select_external_rows(database, store, len(hashes)),
            [h.bytes for h in hashes],
            as_dict=True,
        ).fetchall()
        context.external_rows[(database, store)] = {
            uuid.UUID(bytes=bytes(r["hash"])): r for r in result
        }


def count(expr, timeout: float | None = None) -> int:
    """Number of distinct primary-key values of ``expr`` (``timeout`` in seconds). Without a
    primary key, every row: a table made outside DataJoint counts equal rows each, and an
    expression like ``U() & table`` has its one row."""
    if expr.primary_key:
        sql, params = count_sql(expr.proj().node)
    else:
        sql, params = count_all_sql(expr.node)
    return int(expr.connection.query(sql, params, timeout=timeout).fetchone()[0])


def exists(expr) -> bool:
    """True if ``expr`` has at least one row."""
    sql, params = exists_sql(expr.node)
    return bool(expr.connection.query(sql, params).fetchone()[0])
