"""The jobs table of an auto-populated table: ``~~<name>`` (spec §1.4, §6.2)."""

from __future__ import annotations

from . import audit
from .catalog import catalog_of
from .declaration import declare_plan
from .definition import parse_definition
from .expression import table_expression
from .fetch import to_dicts
from .names import jobs_table_name
from .sql import dml
from .sql import jobs as jobs_sql
from .types import strip_display_width

JOB_STATUSES = ("pending", "reserved", "success", "error", "ignore")

_SECONDARY = """---
status          : enum('pending', 'reserved', 'success', 'error', 'ignore')
priority        : int8
created_time=CURRENT_TIMESTAMP(3) : datetime(3)
scheduled_time=CURRENT_TIMESTAMP(3) : datetime(3)
reserved_time=null  : datetime(3)
completed_time=null : datetime(3)
duration=null   : float64
error_message="" : varchar(2047)
error_stack=null : <blob>
user=""         : varchar(255)
host=""         : varchar(255)
pid=0           : int32
connection_id=0 : int64
version=""      : varchar(64)
INDEX (status, priority, scheduled_time)
"""


def jobs_definition(target) -> str:
    """The definition DataJoint declares the jobs table from (spec §6.2): the target's
    FK-derived primary-key attributes with their heading types, then the job columns."""
    info = target.table_info()
    fk_columns = {c for fk in info.foreign_keys if fk.primary for c in fk.columns}
    lines = [f"# Job queue for {target.full_table_name}"]
    for attr in info.heading:
        if attr.in_key and attr.name in fk_columns:
            declared = "uuid" if attr.is_uuid else strip_display_width(attr.sql_type)
            lines.append(f"{attr.name} : {declared}")
    return "\n".join(lines) + "\n" + _SECONDARY


class JobTable:
    """The jobs table of one auto-populated table.

    Attributes:
        target: the Computed/Imported table instance.
        ref: the jobs table ``~~<name>`` in the target's database.
        table_name, full_table_name: its raw name and quoted full name.
    """

    def __init__(self, target):
        self.target = target
        self.database = target.database
        self.table_name = jobs_table_name(target.table_name)
        self.ref = target.ref.sibling(self.table_name)
        self.full_table_name = self.ref.full_name

    @property
    def connection(self):
        return self.target.connection

    def exists(self) -> bool:
        return self.table_name in catalog_of(self.connection).hidden_tables(self.database)

    def declare(self) -> None:
        """Create ``~~<name>`` (and its ``~lineage`` rows) if it does not exist."""
        if self.exists():
            return
        definition = parse_definition(jobs_definition(self.target), table=self.ref)
        declare_plan(self.connection, self.database, self.table_name, definition, lambda ref: None)

    @property
    def primary_key(self) -> list[str]:
        info = self.target.table_info()
        fk_columns = {c for fk in info.foreign_keys if fk.primary for c in fk.columns}
        return [n for n in info.heading.primary_key if n in fk_columns]

    def progress(self) -> dict[str, int]:
        """Counts per status (all five statuses present, zero when absent) and ``total``."""
        counts = dict.fromkeys(JOB_STATUSES, 0)
        if self.exists():
            for status, n in self.connection.query(jobs_sql.status_counts(self.ref)):
                counts[status] = int(n)
        counts["total"] = sum(counts[s] for s in JOB_STATUSES)
        return counts

    def rows(self, status: str | None = None, limit: int = 100) -> list[dict]:
        """Job rows (most recent first) without the error stack, optionally by status."""
        if not self.exists():
            return []
        table = table_expression(self.connection, self.ref)
        expr = table & {"status": status} if status else table
        names = [n for n in table.heading.names if n != "error_stack"]
        return to_dicts(expr, order_by=["created_time DESC"], limit=limit, attributes=names)

    def error_stack(self, key: dict) -> str | None:
        """The traceback text recorded for a failed key, or None."""
        rows = (table_expression(self.connection, self.ref) & key).to_dicts()
        return rows[0]["error_stack"] if rows else None

    def delete(self, status: str | None = None) -> int:
        """Delete job rows (e.g. ``status='error'`` to let them be retried); returns the
        number deleted (0 when the jobs table does not exist yet). With an audit trail on
        the connection the deleted job keys are recorded (``clear_errors`` for errors)."""
        if not self.exists():
            return 0
        table = table_expression(self.connection, self.ref)
        expr = table & {"status": status} if status else table
        statement = dml.delete(self.ref, expr.proj().node, expr.primary_key)
        trail = self.connection.audit
        if trail is not None:  # e.g. "clear_errors": the error jobs' keys, filed under the table
            action = "clear_errors" if status == "error" else "delete_jobs"
            return audit.delete_recorded(
                trail, self.connection, expr, statement, action, self.target.ref
            )
        return self.connection.query(*statement, table=self.ref).rowcount
