"""The DataJointError hierarchy: every error the data model raises.

Database errors are translated once, in :mod:`pipeline_core.datamodel.connection`,
into these classes (spec §8.1 lists the MySQL error numbers DataJoint maps). Each
error carries the table and attribute it concerns when they are known, so that
front doors (web, API) can show them beside the right field.
"""

from __future__ import annotations


class DataJointError(Exception):
    """Base class for all LabBook data-model errors.

    Args:
        table: the table the error concerns: a full table name or a
            :class:`~.tableref.TableRef` (kept as its full name).
    Attributes:
        table: full table name (`` `db`.`tbl` ``) the error concerns, or None.
        attribute: attribute name the error concerns, or None.
    """

    def __init__(self, message: str, *, table: object = None, attribute: str | None = None):
        super().__init__(message)
        self.message = message
        self.table = None if table is None else str(table)
        self.attribute = attribute

    def __str__(self) -> str:
        return self.message


class DefinitionError(DataJointError):
    """A table definition is invalid (spec §3). Names the table, the line and the reason.

    Attributes:
        line: the offending definition line (stripped), or None for whole-definition errors.
    """

    def __init__(
        self,
        reason: str,
        *,
        table: object = None,
        line: str | None = None,
        attribute: str | None = None,
    ):
        where = f"table {table}" if table else "definition"
        message = f"{where}: {reason}" + (f' in line "{line}"' if line else "")
        super().__init__(message, table=table, attribute=attribute)
        self.reason = reason
        self.line = line


class QueryError(DataJointError):
    """A query expression or restriction is invalid (unknown attribute, bad operand)."""


class DuplicateError(DataJointError):
    """An insert would duplicate an existing primary key (MySQL errno 1062)."""


class IntegrityError(DataJointError):
    """A foreign-key constraint failed (MySQL errno 1451, 1452, 1217, 3730)."""


class MissingAttributeError(DataJointError):
    """A required attribute was not supplied (MySQL errno 1364), or is missing from a row."""


class UnknownAttributeError(DataJointError):
    """An attribute is not in the table's heading (MySQL errno 1054, or caught before SQL)."""


class InvalidValueError(DataJointError):
    """A value cannot be stored in its attribute (wrong type, out of range, bad date)."""


class MissingTableError(DataJointError):
    """The table does not exist (MySQL errno 1146)."""


class AccessError(DataJointError):
    """The database user lacks the privilege (MySQL errno 1044, 1142, 1143)."""


class QuerySyntaxError(DataJointError):
    """The server rejected the SQL as a syntax error (MySQL errno 1064)."""


class LostConnectionError(DataJointError):
    """The server cannot be reached: the connection was lost (MySQL errno 2006, 2013, 0)
    or could not be opened (2002 socket, 2003 TCP, 2005 unknown host)."""


class QueryTimeoutError(DataJointError):
    """A query ran longer than its time limit (MariaDB errno 1969, MySQL errno 3024)."""


class TransactionError(DataJointError):
    """An operation is not allowed inside (or outside) a transaction."""


class PopulateError(DataJointError):
    """populate() cannot run: no key_source, restricted table, or a make() failure."""


class QueryDescriptionError(QueryError):
    """A JSON query description (:mod:`.query_json`) is invalid.

    Attributes:
        path: where in the description, JSON-pointer-like (``where.and[2].attribute``;
            ``""`` for the description as a whole).
        reason: the problem, without the path.
    """

    def __init__(
        self, reason: str, path: str = "", *, table: str | None = None, attribute: str | None = None
    ):
        super().__init__(f"{path or 'query'}: {reason}", table=table, attribute=attribute)
        self.path = path
        self.reason = reason
