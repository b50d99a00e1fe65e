"""The identity of a table: :class:`TableRef`, a database name and a table name (spec §1.1).

Every table the data model knows (catalog entries, dependency-graph nodes, query nodes,
foreign keys) is named by a ``TableRef``. Its two parts are validated once, when the value
is made; its quoted form `` `database`.`table` `` is what DataJoint calls the full table
name, used in SQL and in messages. :meth:`TableRef.parse` is the one way back from text.
"""

from __future__ import annotations

import dataclasses
import functools
import re

from .errors import DataJointError
from .names import master_of, tier_of
from .sql.quoting import full_name

#: `` `db`.`tbl` `` (quoted, a backquote inside doubled) or ``db.tbl`` (plain: for names
#: without dots and backquotes, as DataJoint's are).
_QUOTED = re.compile(r"`((?:[^`]|``)+)`\.`((?:[^`]|``)+)`", re.S)
_PLAIN = re.compile(r"([^`.]+)\.([^`.]+)", re.S)


@functools.lru_cache(maxsize=4096)
def _names(database: str, table: str) -> tuple[str, str]:
    """``(sql_name, full_name)`` of a table (validated; memoised: populate and the compiler
    make refs of the same few tables again and again)."""
    sql = full_name(database, table)
    return sql, sql.replace("%%", "%") if "%" in sql else sql


@functools.total_ordering
@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class TableRef:
    """A table by database and table name, both names the server accepts (a legacy
    database may hold names DataJoint would not declare: ``bad name``, ``a.b``).

    Attributes:
        full_name: `` `database`.`table` ``, the quoted form (DataJoint's
            ``full_table_name``: backquotes inside doubled), made once with the validation;
            for messages and for clients.
        sql_name: the same as a driver template, for SQL text (``%`` doubled too: see
            :mod:`.sql.quoting`); equal to ``full_name`` unless a name holds ``%``.
        database: the database (schema) name, e.g. ``lab``.
        table: the table's raw name with its tier prefix, e.g. ``#subject_type``,
            ``__detection``, ``session__trial``, ``~~detection``.

    Ordered, hashed and compared by its quoted form, so sorting refs sorts full table names
    as DataJoint does (its diagrams and cascades sort the quoted text). Never equal to a
    string: compare refs with refs.

    Raises:
        DataJointError: either part is not a valid identifier (see
            :func:`.sql.quoting.check_identifier`, which :func:`.sql.quoting.full_name`
            applies: the one place a full table name is written).
    """

    database: str
    table: str
    full_name: str = dataclasses.field(init=False, compare=False)
    """`` `database`.`table` ``: the quoted form, DataJoint's ``full_table_name``."""
    sql_name: str = dataclasses.field(init=False, compare=False, repr=False)
    """``full_name`` as a driver template (``%`` doubled), for SQL text."""

    def __post_init__(self):
        # the one validation of both parts; the quoted forms are made once, here
        names = _names(self.database, self.table)
        object.__setattr__(self, "sql_name", names[0])
        object.__setattr__(self, "full_name", names[1])

    @classmethod
    def parse(cls, text: str | TableRef) -> TableRef:
        """The ref named by `` `db`.`tbl` `` or ``db.tbl`` (a TableRef is returned as it is).

        Raises:
            DataJointError: the text is neither form, or a part is not a valid identifier.
        """
        if isinstance(text, TableRef):
            return text
        match = _QUOTED.fullmatch(text) if isinstance(text, str) else None
        match = match or (_PLAIN.fullmatch(text) if isinstance(text, str) else None)
        if not match:
            raise DataJointError(f"Not a full table name: {text!r} (expected `db`.`table`)")
        return cls(match.group(1).replace("``", "`"), match.group(2).replace("``", "`"))

    @staticmethod
    def label(database: str, table: str) -> str:
        """`` `database`.`table` `` for a message about a name being refused (not validated,
        so it cannot be a ``TableRef``; backquotes doubled as in SQL); never for SQL."""
        return "`{}`.`{}`".format(*(str(n).replace("`", "``") for n in (database, table)))

    @property
    def tier(self) -> str | None:
        """The tier its name implies (``Manual``, ``Lookup``, ..., spec §1.1), or None."""
        return tier_of(self.table)

    @property
    def master(self) -> TableRef | None:
        """The master's ref for a part table (same database), else None (spec §1.3)."""
        name = master_of(self.table)
        return None if name is None else TableRef(self.database, name)

    def sibling(self, table: str) -> TableRef:
        """The ref of another table of the same database."""
        return TableRef(self.database, table)

    def __str__(self) -> str:
        return self.full_name

    def __repr__(self) -> str:
        return f"TableRef({self.database!r}, {self.table!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TableRef):
            return NotImplemented
        return (self.database, self.table) == (other.database, other.table)

    def __hash__(self) -> int:
        return hash((self.database, self.table))

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, TableRef):
            return NotImplemented
        return self.full_name < other.full_name
