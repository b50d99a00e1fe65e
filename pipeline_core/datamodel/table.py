"""Base tables: :class:`Table` (a query expression over one table that can also be
written) and :class:`FreeTable` (a table addressed by name, built from introspection).

Every multi-row write is one transaction (spec §8.1); no DDL inside a transaction.
"""

from __future__ import annotations

import collections.abc
import functools
import inspect
import json
from collections.abc import Iterable
from typing import Any

import numpy as np

from . import audit, write
from . import delete as cascading
from .catalog import catalog_of
from .declaration import alter_table
from .dependencies import DependencyGraph
from .describe import class_namer, describe_table
from .drop import drop_table
from .errors import DataJointError, MissingAttributeError, UnknownAttributeError
from .expression import QueryExpression
from .heading import TableInfo
from .names import master_of, tier_of
from .nodes import RestrictNode, TableNode
from .sql import ddl, dml
from .tableref import TableRef
from .values import encode as encode_value


class Table(QueryExpression):
    """A base table. Subclasses set ``database``, ``table_name`` and a connection.

    Restricting a Table gives a Table of the same class (so ``(T & key).delete_quick()``
    works); joins and projections give plain QueryExpressions.
    """

    database: str = ""
    _connection_ = None

    def __init__(self):
        info = self.table_info()
        super().__init__(self._connection_, TableNode(info.ref, info.heading, not info.legacy))

    # --- identity -------------------------------------------------------------------
    @property
    def table_name(self) -> str:
        return self._table_name_

    @property
    def ref(self) -> TableRef:
        """The table's identity (database and raw table name)."""
        return _table_ref(self.database, self.table_name)

    @property
    def full_table_name(self) -> str:
        """`` `database`.`table` ``, as DataJoint names it."""
        return self.ref.full_name

    @property
    def tier(self) -> str | None:
        return tier_of(self.table_name)

    @property
    def master_table_name(self) -> str | None:
        return master_of(self.table_name)

    def table_info(self) -> TableInfo:
        """Introspected :class:`TableInfo` (cached in the connection's catalog)."""
        return catalog_of(self._connection_).table(self.database, self.table_name)

    def _derive(self, node) -> QueryExpression:
        if isinstance(node, RestrictNode):
            copy = object.__new__(type(self))
            copy.__dict__.update(self.__dict__)
            copy._node = node
            return copy
        return QueryExpression(self._connection, node)

    @property
    def restricted(self) -> bool:
        return isinstance(self._node, RestrictNode)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.full_table_name}>"

    # --- dependencies -----------------------------------------------------------------
    def parents(self) -> list[str]:
        """Full names of the tables this table depends on (its foreign keys' parents)."""
        return list(dict.fromkeys(str(fk.parent) for fk in self.table_info().foreign_keys))

    def children(self) -> list[str]:
        """Full names of tables with foreign keys to this table, across databases."""
        graph = DependencyGraph(self._connection_, [self.database])
        return [str(ref) for ref in graph.children(self.ref)]

    def describe(self, context: dict | None = None) -> str:
        """The definition that re-declares this table (spec §3.4); parents are named by
        the classes found in ``context`` (default: the caller's namespace)."""
        if context is None:
            frame = inspect.currentframe().f_back
            context = {**frame.f_globals, **frame.f_locals}
        return describe_table(self.table_info(), class_namer(self.database, context))

    # --- insert -------------------------------------------------------------------
    def insert(
        self,
        rows: Iterable[Any],
        *,
        skip_duplicates: bool = False,
        ignore_extra_fields: bool = False,
        allow_direct_insert: bool = False,
        chunk_size: int = 1000,
    ) -> int:
        """Insert rows (dicts, numpy records, or sequences in heading order).

        All rows go in one transaction (or the caller's). Returns the affected row count.

        Raises:
            UnknownAttributeError: a field not in the heading (unless ignore_extra_fields).
            MissingAttributeError: a required attribute is absent.
            InvalidValueError: a value does not fit its attribute.
            DuplicateError, IntegrityError: from the server, naming this table.
            DataJointError: direct insert into an auto-populated table outside make().
        """
        heading = self.heading
        table = self.ref
        if (
            self.tier in ("Computed", "Imported")
            and not allow_direct_insert
            and table not in getattr(self._connection_, "make_tables", ())
        ):
            raise DataJointError(
                f"{table}: inserts into an auto-populated table can only be done inside its "
                "make method during a populate call (or with allow_direct_insert=True)",
                table=table,
            )
        dicts = [self._as_dict(row, ignore_extra_fields) for row in rows]
        if not dicts:
            return 0
        fields = [n for n in heading.names if n in dicts[0]]
        for row in dicts:
            if set(row) != set(fields):
                raise DataJointError(
                    f"{table}: attempt to insert rows with different fields", table=table
                )
        for attr in heading:
            if (
                attr.name not in fields
                and not attr.nullable
                and attr.default is None
                and not attr.autoincrement
            ):
                raise MissingAttributeError(
                    f"{table}: attribute `{attr.name}` is required and has no default",
                    table=table,
                    attribute=attr.name,
                )
        conn = self._connection_
        trail = self._audit_trail()
        uploads = None
        if any(write.is_stored(heading[f]) for f in fields):
            uploads = write.upload_log(conn)
        if skip_duplicates and uploads is not None and trail is None:
            dicts = self._new_rows(dicts)  # upload nothing for rows already there
            if not dicts:
                return 0
        own_transaction = (len(dicts) > chunk_size or trail is not None) and not (
            conn.in_transaction
        )
        if own_transaction:
            conn.start_transaction()
        if uploads is not None and conn.in_transaction:
            conn.on_rollback(uploads.discard)
        try:
            if skip_duplicates and trail is not None:  # in the transaction: record what is new
                dicts = self._new_rows(dicts)
            encoded = write.encode_rows(conn, table, heading, fields, dicts, uploads)
            count, events = 0, []
            # a generated key is known only row by row (cursor.lastrowid) when recording
            generated = [a.name for a in heading if a.autoincrement and a.name not in fields]
            step = 1 if trail is not None and generated else chunk_size
            batch = trail.batch_id() if trail is not None else None
            for start in range(0, len(encoded), step):
                chunk = encoded[start : start + step]
                sql, params = dml.insert(
                    table,
                    fields,
                    chunk,
                    skip_duplicates=skip_duplicates,
                    first_key=heading.primary_key[0] if heading.primary_key else None,
                )
                cursor = conn.query(sql, params, table=table)
                count += cursor.rowcount
                if trail is not None:
                    names, rows = fields, chunk
                    if generated:
                        names, rows = [*fields, generated[0]], [[*chunk[0], cursor.lastrowid]]
                    events += audit.insert_events(table, heading, names, rows, batch)
                    if cursor.rowcount != len(chunk):  # a concurrent writer took some keys
                        events += audit.deleted_note("insert", table, cursor.rowcount, chunk, batch)
            if trail is not None:
                trail.record(conn, events)
        except BaseException:
            if own_transaction:
                conn.rollback()  # discards the uploads
            elif uploads is not None and not conn.in_transaction:
                uploads.discard()
            raise
        if own_transaction:
            conn.commit()
        return count

    def _audit_trail(self):
        """The connection's :class:`~.audit.AuditTrail`, or None when nothing is recorded:
        no trail, or this table (or its master) is being filled by a running ``make()``,
        whose keys ``populate`` records instead of its rows."""
        conn = self._connection_
        ref = self.ref
        if conn.audit is None or ref in conn.make_tables or ref.master in conn.make_tables:
            return None
        return conn.audit

    def _new_rows(self, rows: list[dict]) -> list[dict]:
        """The rows whose primary key is not in the table yet (all rows when the key is
        not complete). Keys are compared as stored: ``"2024-05-06"`` matches the date.

        Raises:
            InvalidValueError: a key value that does not fit its attribute.
        """
        heading = self.heading
        key_names = heading.primary_key
        if not rows or not key_names or any(k not in rows[0] for k in key_names):
            return rows

        def stored(column_values: list) -> tuple:
            return tuple(
                json.dumps(audit.audit_value(heading[n], v), sort_keys=True)
                for n, v in zip(key_names, column_values)
            )

        given = [stored([encode_value(heading[n], row[n]) for n in key_names]) for row in rows]
        keys = [{k: row[k] for k in key_names} for row in rows]
        found = (self & keys).proj().to_dicts(decode=False)
        present = {stored([r[n] for n in key_names]) for r in found}
        return [row for row, key in zip(rows, given) if key not in present]

    def insert1(self, row: Any, **kwargs) -> int:
        """Insert one row; see :meth:`insert`."""
        return self.insert([row], **kwargs)

    def _as_dict(self, row: Any, ignore_extra_fields: bool) -> dict:
        heading = self.heading
        if isinstance(row, np.void) and row.dtype.names:
            row = {n: row[n] for n in row.dtype.names}
        elif not isinstance(row, collections.abc.Mapping):
            row = list(row)
            if len(row) != len(heading):
                raise DataJointError(
                    f"{self.full_table_name}: a positional row must have {len(heading)} values",
                    table=self.full_table_name,
                )
            row = dict(zip(heading.names, row))
        extra = [k for k in row if k not in heading]
        if extra and not ignore_extra_fields:
            raise UnknownAttributeError(
                f"{self.full_table_name}: `{extra[0]}` is not in the table heading",
                table=self.full_table_name,
                attribute=extra[0],
            )
        return {k: v for k, v in row.items() if k in heading}

    # --- update and delete -----------------------------------------------------------
    def update1(self, row: dict) -> None:
        """Update the secondary attributes of one existing row (spec §8.2).

        Raises:
            DataJointError: restricted table, missing primary key, or not exactly one row.
        """
        table = self.ref
        if self.restricted:
            raise DataJointError("Update cannot be applied to a restricted table.", table=table)
        heading = self.heading
        missing = [k for k in heading.primary_key if k not in row]
        if missing:
            raise DataJointError(
                f"{table}: update1 must supply all primary key values (missing `{missing[0]}`)",
                table=table,
                attribute=missing[0],
            )
        for name in row:
            heading[name]  # raises UnknownAttributeError naming the attribute
        key = {k: row[k] for k in heading.primary_key}
        if len(self & key) != 1:
            raise DataJointError(
                f"{table}: update can only be applied to one existing entry", table=table
            )
        names = [k for k in row if k not in key]
        if not names:
            return
        conn = self._connection_
        trail = self._audit_trail()
        own_transaction = trail is not None and not conn.in_transaction
        if own_transaction:
            conn.start_transaction()
        uploads = (
            write.upload_log(conn) if any(write.is_stored(heading[k]) for k in names) else None
        )
        if uploads is not None and conn.in_transaction:
            conn.on_rollback(uploads.discard)
        try:
            old = (self & key).proj(*names).to_dicts(decode=False)[0] if trail else None
            (values,) = write.encode_rows(conn, table, heading, list(key) + names, [row], uploads)
            enc_key = dict(zip(key, values[: len(key)]))
            new = dict(zip(names, values[len(key) :]))
            sql, params = dml.update_row(table, new, enc_key)
            conn.query(sql, params, table=table)
            if trail is not None:
                event = audit.update_event(table, heading, enc_key, old, new, trail.batch_id())
                trail.record(conn, [event])
        except BaseException:
            if own_transaction:
                conn.rollback()  # discards the uploads
            elif uploads is not None and not conn.in_transaction:
                uploads.discard()
            raise
        if own_transaction:
            conn.commit()

    def delete_quick(self) -> int:
        """Delete the rows of this (restricted) table without cascading; returns the count.

        Raises:
            IntegrityError: rows of other tables depend on them.
        """
        conn, trail = self._connection_, self._audit_trail()
        statement = dml.delete(self.ref, self.proj().node, self.primary_key)
        if trail is not None:
            return audit.delete_recorded(trail, conn, self, statement, "delete")
        return conn.query(*statement, table=self.ref).rowcount

    def delete(self, part_integrity: str = "enforce", dry_run: bool = False) -> int:
        """Delete the rows of this (restricted) table and, cascading, every row that
        depends on them, in all databases downstream (spec §8.3), in one transaction (a
        savepoint inside the caller's). Leaves first; nothing is kept on any error.
        Stored objects of deleted rows stay until ``manage.py pipeline gc``.

        Args:
            part_integrity: ``"enforce"`` refuses deleting part rows without their masters
                (and any delete from a Part class); ``"ignore"`` allows it; ``"cascade"``
                also deletes those masters and everything downstream of them.
            dry_run: delete, count, then roll back.
        Returns:
            the number of rows of this table deleted (0: nothing was changed).
        Raises:
            ValueError: bad ``part_integrity``.
            DataJointError: "Cannot delete from a Part directly..." or "Attempt to delete
                part table ... before its master ..." (``part_integrity="enforce"``).
            IntegrityError: "Delete blocked by table ... in an unloaded schema" — a
                database this connection cannot see references the rows.
        """
        return cascading.delete(self, part_integrity=part_integrity, dry_run=dry_run)

    def delete_preview(self, part_integrity: str = "enforce") -> dict[str, int]:
        """Rows :meth:`delete` would remove per table, deleting nothing: DataJoint's
        ``dj.Diagram.cascade(table, part_integrity).counts()`` (spec §8.3).

        Returns:
            ``{full table name: count}`` for this table and every table downstream
            (zeros included), parents first.
        Raises:
            ValueError: bad ``part_integrity``.
        """
        return cascading.preview(self, part_integrity=part_integrity)

    def alter(self, context: dict | None = None) -> str | None:
        """Alter the table to match the class's current ``definition``: secondary
        attributes and the table comment (spec §3.6). Returns the SQL run, or None.

        Raises:
            DefinitionError: the primary key, foreign keys or indexes would change.
        """
        if context is None:
            frame = inspect.currentframe().f_back
            context = {**frame.f_globals, **frame.f_locals}
        return alter_table(type(self), context)

    def drop(self, cascade: bool = False) -> list[str]:
        """Drop this table with its parts; dependants only with ``cascade=True``.

        Returns:
            full names of the tables dropped. See :func:`.drop.drop_table` for errors.
        Raises:
            DataJointError: restricted table, dependants without cascade, or a part table.
        """
        if self.restricted:
            raise DataJointError("A restricted table cannot be dropped", table=self.full_table_name)
        return drop_table(self._connection_, self.database, self.table_name, cascade=cascade)

    def drop_quick(self) -> None:
        """Drop this table and its ``~lineage`` rows, without checking dependants.

        Raises:
            TransactionError-like DataJointError: inside a transaction (DDL commits).
            IntegrityError: another table references it.
        """
        conn = self._connection_
        if conn.in_transaction:
            raise DataJointError(
                "Cannot drop a table inside a transaction", table=self.full_table_name
            )
        conn.query(ddl.drop_table(self.database, self.table_name), table=self.ref)
        if "~lineage" in catalog_of(conn).hidden_tables(self.database):
            conn.query(ddl.delete_lineage(self.database), [self.table_name])
        catalog_of(conn).invalidate(self.database)


class FreeTable(Table):
    """A table addressed by its full name, with no class of its own.

    Args:
        connection: a :class:`~.connection.Connection`.
        full_table_name: `` `db`.`tbl` `` (or ``db.tbl``), or a :class:`TableRef`.
    Raises:
        DataJointError: not a full table name. MissingTableError: no such table.
    """

    def __init__(self, connection, full_table_name: str | TableRef):
        ref = TableRef.parse(full_table_name)
        self.database = ref.database
        self._table_name_ = ref.table
        self._connection_ = connection
        super().__init__()


@functools.lru_cache(maxsize=4096)
def _table_ref(database: str, table_name: str) -> TableRef:
    """The (immutable) TableRef of a table, validated once per name rather than on every
    use (a populate reads its table's ref several times per key).

    Raises:
        DataJointError: either part is not a valid identifier.
    """
    return TableRef(database, table_name)
