"""INSERT, UPDATE, DELETE and COUNT statements (spec §8, §9.7). Values are parameters;
the :data:`~..values.DEFAULT` marker becomes the SQL keyword ``DEFAULT``."""

from __future__ import annotations

from collections.abc import Sequence

from ..nodes import Node
from ..tableref import TableRef
from ..values import DEFAULT
from .compiler import compile_select
from .quoting import quote


def insert(
    table: TableRef,
    columns: Sequence[str],
    rows: Sequence[Sequence],
    *,
    skip_duplicates: bool = False,
    first_key: str | None = None,
) -> tuple[str, list]:
    """One multi-row ``INSERT INTO t (cols) VALUES (...), (...)`` (spec §8.1).

    ``skip_duplicates`` appends ``ON DUPLICATE KEY UPDATE `pk0`=`pk0``` (no-op update).
    """
    params: list = []
    tuples = []
    for row in rows:
        holders = []
        for value in row:
            if value is DEFAULT:
                holders.append("DEFAULT")
            else:
                holders.append("%s")
                params.append(value)
        tuples.append("(" + ", ".join(holders) + ")")
    sql = (
        f"INSERT INTO {table.sql_name} ({', '.join(quote(c) for c in columns)}) VALUES "
        + ", ".join(tuples)
    )
    if skip_duplicates and first_key:
        sql += f" ON DUPLICATE KEY UPDATE {quote(first_key)} = {quote(first_key)}"
    return sql, params


def where_key(key: dict) -> tuple[str, list]:
    """``(`a` = %s) AND (`b` = %s)`` for a primary-key dict whose values are encoded."""
    return " AND ".join(f"{quote(k)} = %s" for k in key), list(key.values())


def update_row(table: TableRef, values: dict, key: dict) -> tuple[str, list]:
    """``UPDATE t SET `a` = %s ... WHERE key`` (spec §8.2); DEFAULT for None values."""
    sets, params = [], []
    for name, value in values.items():
        if value is DEFAULT:
            sets.append(f"{quote(name)} = DEFAULT")
        else:
            sets.append(f"{quote(name)} = %s")
            params.append(value)
    where, key_params = where_key(key)
    return f"UPDATE {table.sql_name} SET {', '.join(sets)} WHERE {where}", params + key_params


def delete(table: TableRef, keys: Node, primary_key: Sequence[str]) -> tuple[str, list]:
    """``DELETE FROM t WHERE (pk) IN (SELECT * FROM (keys) AS `$del`)``: the rows of
    ``table`` whose primary key ``keys`` lists (a tree over the table itself yielding exactly
    the primary-key attributes; the derived table lets the restriction read ``table``)."""
    inner, params = compile_select(keys)
    columns = ", ".join(quote(k) for k in primary_key)
    return (
        f"DELETE FROM {table.sql_name} WHERE ({columns}) IN (SELECT * FROM ({inner}) AS `$del`)",
        params,
    )


def delete_cascade_step(
    table: TableRef, keys: Node | None, key_columns: Sequence[str], *, null_safe: bool = False
) -> tuple[str, list]:
    """One table's DELETE of a cascade (spec §8.3): ``DELETE FROM t`` when ``keys`` is None
    (all rows), else ``DELETE t FROM t JOIN (keys) AS `$del` USING (key columns)`` where
    ``keys`` yields the distinct values of ``key_columns`` to delete (the primary key). The
    join lets the server find the rows through the primary key (a ``WHERE pk IN
    (subquery)`` DELETE scans the whole table on MariaDB 10.x); a DISTINCT ``keys`` stays
    materialised, so it may read the table itself.

    ``null_safe``: join ``ON t.c <=> `$del`.c AND ...`` instead (NULL matches NULL), for a
    table without a primary key (made outside DataJoint), whose rows are matched on every
    column.

    Raises:
        ValueError: ``keys`` without ``key_columns``.
    """
    if keys is None:
        return f"DELETE FROM {table.sql_name}", []
    if not key_columns:
        raise ValueError(f"{table}: no columns to match the rows to delete on")
    inner, params = compile_select(keys)
    if null_safe:
        name = table.sql_name
        on = " AND ".join(f"{name}.{quote(c)} <=> `$del`.{quote(c)}" for c in key_columns)
        return f"DELETE {name} FROM {name} JOIN ({inner}) AS `$del` ON {on}", params
    columns = ", ".join(quote(k) for k in key_columns)
    return (
        f"DELETE {table.sql_name} FROM {table.sql_name} JOIN ({inner}) AS `$del` USING ({columns})",
        params,
    )


def count_all_sql(node: Node) -> tuple[str, list]:
    """``SELECT COUNT(*)`` of every row of ``node``, equal rows counted each (a table without
    a primary key, whose rows have no key to count distinct values of)."""
    inner, params = compile_select(node)
    return f"SELECT COUNT(*) FROM ({inner}) AS `$c0`", params


def count_sql(keys: Node) -> tuple[str, list]:
    """``SELECT COUNT(*) FROM (SELECT DISTINCT * ...)``: the number of distinct rows of
    ``keys`` (the primary-key projection of a query, spec §9.7)."""
    inner, params = compile_select(keys)
    return f"SELECT COUNT(*) FROM (SELECT DISTINCT * FROM ({inner}) AS `$c0`) AS `$c1`", params


def exists_sql(node: Node) -> tuple[str, list]:
    """``SELECT EXISTS(SELECT ... LIMIT 1)`` (spec §9.7)."""
    inner, params = compile_select(node, limit=1)
    return f"SELECT EXISTS({inner})", params


def key_in(columns: Sequence[str], rows: Sequence[Sequence]) -> tuple[str, list]:
    """A restriction to literal keys (spec §8.3: keys materialised before deleting):
    ``(`a`, `b`) IN ((%s, %s), ...)``, or `` `a` IN (%s, ...) `` for one column;
    ``FALSE`` when there are no rows. ``rows`` hold the columns' stored (encoded)
    values, each row in ``columns`` order; they become parameters."""
    if not rows:
        return "FALSE", []
    names = [quote(c) for c in columns]
    if len(names) == 1:
        return f"{names[0]} IN ({', '.join(['%s'] * len(rows))})", [row[0] for row in rows]
    holder = "(" + ", ".join(["%s"] * len(names)) + ")"
    return (
        f"({', '.join(names)}) IN ({', '.join([holder] * len(rows))})",
        [value for row in rows for value in row],
    )


def savepoint(name: str) -> str:
    """``SAVEPOINT `name``` (a delete nested in the caller's transaction, spec §8.3)."""
    return f"SAVEPOINT {quote(name)}"


def rollback_to_savepoint(name: str) -> str:
    """``ROLLBACK TO SAVEPOINT `name```: undo the work since :func:`savepoint`."""
    return f"ROLLBACK TO SAVEPOINT {quote(name)}"


def release_savepoint(name: str) -> str:
    """``RELEASE SAVEPOINT `name```: keep the work since :func:`savepoint`."""
    return f"RELEASE SAVEPOINT {quote(name)}"
