"""pipeline_core.datamodel: the DataJoint model, written for LabBook. Never imports Django.

Public API mirrors DataJoint 2.x names (see ../shared/design/architecture.md):
``config``, ``conn``, ``connect``, ``Schema``, ``Manual``, ``Lookup``, ``Imported``,
``Computed``, ``Part``, ``VirtualModule``, ``list_schemas``, ``FreeTable``, ``AndList``,
``Not``, ``U``, ``Top``, ``Comparison``, ``Computation``, ``Aggregate``, ``DependencyGraph``,
``TableRef`` (a table's identity), and the ``DataJointError`` hierarchy.
"""

from .condition import Aggregate, AndList, Comparison, Computation, Not, Top
from .connection import Connection, conn, connect
from .dependencies import DependencyGraph
from .errors import (
    AccessError,
    DataJointError,
    DefinitionError,
    DuplicateError,
    IntegrityError,
    InvalidValueError,
    LostConnectionError,
    MissingAttributeError,
    MissingTableError,
    PopulateError,
    QueryError,
    QueryTimeoutError,
    UnknownAttributeError,
)
from .expression import QueryExpression, U
from .schema import Schema
from .settings import ConfigError, config
from .table import FreeTable, Table
from .tableref import TableRef
from .tiers import Computed, Imported, Lookup, Manual, Part
from .virtual import VirtualModule, list_schemas, table_class

__all__ = [
    "AccessError",
    "Aggregate",
    "AndList",
    "Comparison",
    "Computation",
    "Computed",
    "ConfigError",
    "Connection",
    "DataJointError",
    "DefinitionError",
    "DependencyGraph",
    "DuplicateError",
    "FreeTable",
    "Imported",
    "IntegrityError",
    "InvalidValueError",
    "Lookup",
    "LostConnectionError",
    "Manual",
    "MissingAttributeError",
    "MissingTableError",
    "Not",
    "Part",
    "PopulateError",
    "QueryError",
    "QueryExpression",
    "QueryTimeoutError",
    "Schema",
    "Table",
    "TableRef",
    "Top",
    "U",
    "UnknownAttributeError",
    "VirtualModule",
    "config",
    "conn",
    "connect",
    "list_schemas",
    "table_class",
]
