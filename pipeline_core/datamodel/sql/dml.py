"""INSERT, UPDATE, DELETE and COUNT statements (spec §8, §9.7). Values are parameters;
the :data:`~..values.DEFAULT` marker becomes the SQL keyword ``DEFAULT``."""

from __future__ import annotations

from typing import Sequence

from ..values import DEFAULT
from .compiler import compile_select
from .quoting import quote


def insert(full_table_name: str, columns: Sequence[str], rows: Sequence[Sequence],
           *, skip_duplicates: bool = False, first_key: str | None = None) -> tuple[str, list]:
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
    sql = (f"INSERT INTO {full_table_name} ({', '.join(quote(c) for c in columns)}) VALUES "
           + ", ".join(tuples))
    if skip_duplicates and first_key:
        sql += f" ON DUPLICATE KEY UPDATE {quote(first_key)} = {quote(first_key)}"
    return sql, params


def where_key(key: dict) -> tuple[str, list]:
    """``(`a` = %s) AND (`b` = %s)`` for a primary-key dict whose values are encoded."""
    return " AND ".join(f"{quote(k)} = %s" for k in key), list(key.values())


def update_row(full_table_name: str, values: dict, key: dict) -> tuple[str, list]:
    """``UPDATE t SET `a` = %s ... WHERE key`` (spec §8.2); DEFAULT for None values."""
    sets, params = [], []
    for name, value in values.items():
        if value is DEFAULT:
            sets.append(f"{quote(name)} = DEFAULT")
        else:
            sets.append(f"{quote(name)} = %s")
            params.append(value)
    where, key_params = where_key(key)
    return f"UPDATE {full_table_name} SET {', '.join(sets)} WHERE {where}", params + key_params


def delete(expr) -> tuple[str, list]:
    """``DELETE FROM t WHERE pk IN (restricted expression)`` for an expression over one
    base table (restrictions allowed)."""
    from ..expression import RestrictNode, TableNode
    node = expr.node
    while isinstance(node, RestrictNode):
        node = node.child
    if not isinstance(node, TableNode):
        raise ValueError("delete needs an expression over one table")
    pk = expr.heading.primary_key
    inner, params = compile_select(expr.proj())
    columns = ", ".join(quote(k) for k in pk)
    return (f"DELETE FROM {node.full_name} WHERE ({columns}) IN "
            f"(SELECT * FROM ({inner}) AS `$del`)", params)


def count_sql(expr) -> tuple[str, list]:
    """``SELECT COUNT(*) FROM (SELECT DISTINCT pk ...)`` (spec §9.7)."""
    inner, params = compile_select(expr.proj())
    return f"SELECT COUNT(*) FROM (SELECT DISTINCT * FROM ({inner}) AS `$c0`) AS `$c1`", params


def exists_sql(expr) -> tuple[str, list]:
    """``SELECT EXISTS(SELECT 1 FROM ...)`` (spec §9.7)."""
    inner, params = compile_select(expr, limit=1)
    return f"SELECT EXISTS({inner})", params
