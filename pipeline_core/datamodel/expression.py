"""Immutable query expressions (architecture convention 1; spec §9).

A :class:`QueryExpression` holds a connection and a tree of frozen nodes (:mod:`.nodes`),
each with its :class:`~.heading.Heading`. Operators check their operands (attribute
names, the semantic check of spec §7) and return new expressions over new nodes; operands
are never changed. SQL is produced by :mod:`.sql.compiler` and rows are read by
:mod:`.fetch`.
"""

from __future__ import annotations

from typing import Any

from . import fetch as fetching
from . import operators
from .catalog import catalog_of
from .condition import AndList, Comparison, Not, RawSQL, Top, invalid_restriction, normalize
from .errors import DataJointError
from .heading import Heading
from .nodes import RestrictNode, TableNode, with_top
from .operators import check_compatible
from .sql.compiler import compile_select
from .tableref import TableRef


def _as_expression(other) -> QueryExpression:
    if isinstance(other, type) and hasattr(other, "heading"):
        other = other()
    if not isinstance(other, QueryExpression):
        raise DataJointError(f"Expected a query expression, not {type(other).__name__}")
    return other


def table_expression(connection, ref: TableRef) -> QueryExpression:
    """The unrestricted query of one existing table (its heading from the connection's
    catalog; the semantic check off for a 0.14 database, spec §7).

    Raises:
        MissingTableError: no such table.
    """
    info = catalog_of(connection).get(ref)
    return QueryExpression(connection, TableNode(ref, info.heading, not info.legacy))


# --- expressions -------------------------------------------------------------------------------
class QueryExpression:
    """A query over one or more tables; immutable.

    Attributes:
        connection: the :class:`~.connection.Connection` it runs on.
        heading: the attributes of its result (``primary_key`` among them).
    """

    def __init__(self, connection, node):
        self._connection = connection
        self._node = node

    @property
    def connection(self):
        return self._connection

    @property
    def heading(self) -> Heading:
        return self._node.heading

    @property
    def node(self):
        return self._node

    @property
    def primary_key(self) -> list[str]:
        return self.heading.primary_key

    def _derive(self, node) -> QueryExpression:
        return QueryExpression(self._connection, node)

    # --- restriction ---------------------------------------------------------------
    def restrict(self, condition: Any, semantic_check: bool = True) -> QueryExpression:
        """Rows matching ``condition`` (spec §9.1): a dict (unknown keys ignored), a
        list/tuple/set (OR), ``AndList``, ``Not``, another expression or table class
        (semijoin on shared attributes), ``U(...)`` (no-op), ``Top``, ``True``/``False``,
        a numpy record, a :class:`~.condition.Comparison`, or an SQL string (trusted code
        only). ``semantic_check=False`` matches expressions on names alone (spec §7).

        Raises:
            QueryError: condition is None or of an unsupported type ("Invalid restriction
                type 5", DataJoint's wording).
            DataJointError: an expression condition fails the semantic check.
        """
        condition = normalize(condition)
        if isinstance(condition, Top):
            return self._top(condition)
        if isinstance(condition, U):
            return self
        condition = _prepare_condition(condition, self, semantic_check)
        if condition is True:
            return self
        return self._derive(RestrictNode(self._node, condition))

    def _top(self, top: Top) -> QueryExpression:
        return self._derive(with_top(self._node, top))

    def __and__(self, condition: Any) -> QueryExpression:
        return self.restrict(condition)

    def __sub__(self, condition: Any) -> QueryExpression:
        if isinstance(condition, U):
            raise DataJointError("Restricting by the complement of U is not supported")
        return self.restrict(Not(normalize(condition)))

    # --- join ------------------------------------------------------------------------------
    def join(self, other, semantic_check: bool = True, left: bool = False) -> QueryExpression:
        """Natural join on all shared attribute names (spec §9.2), after the semantic check.
        The result's primary key is PK(a) if a determines b, else PK(b) if b determines a,
        else the union. ``left=True`` keeps every row of ``self`` (requires a → b).

        Raises:
            DataJointError: ``other`` is ``U(...)`` or not an expression, the semantic
                check fails, or a left join where ``self`` does not determine ``other``.
        """
        if isinstance(other, U):
            raise DataJointError(
                "table * dj.U(...) is not supported: restrict by the U instead (dj.U(...) & table)"
            )
        other = _as_expression(other)
        return self._derive(
            operators.join(self._node, other._node, semantic_check=semantic_check, left=left)
        )

    def __mul__(self, other) -> QueryExpression:
        return self.join(other)

    def extend(self, other, semantic_check: bool = True) -> QueryExpression:
        """Left join keeping every row of ``self`` (DataJoint's ``extend``)."""
        return self.join(other, semantic_check=semantic_check, left=True)

    def __matmul__(self, other):
        raise DataJointError(
            "The @ operator has been removed in DataJoint 2.0. "
            "Use .join(other, semantic_check=False) for joins without semantic checking."
        )

    def __xor__(self, other):
        raise DataJointError(
            "The ^ operator has been removed in DataJoint 2.0. "
            "Use .restrict(other, semantic_check=False) for restrictions without semantic "
            "checking."
        )

    # --- union -------------------------------------------------------------------------------
    def __add__(self, other) -> QueryExpression:
        """Union (spec §9.6): the same primary key, no shared secondary attribute; rows of
        either operand, secondary attributes of the other operand NULL.

        Raises:
            DataJointError: different primary keys or shared secondary attributes.
        """
        return self._derive(operators.union(self._node, _as_expression(other)._node))

    # --- projection ----------------------------------------------------------------------------
    def proj(self, /, *attributes: Any, **named: Any) -> QueryExpression:
        """Keep the primary key plus the named attributes (spec §9.3): ``...`` keeps every
        secondary attribute, ``"-name"`` drops one, ``new="old"`` renames, ``new="(old)"``
        duplicates, ``new="<SQL expression>"`` (trusted code), ``new=Aggregate(...)`` or
        ``new=Computation(...)`` (a fixed set of functions, see :class:`.condition.Computation`)
        computes.

        Raises:
            QueryError: unknown attribute, excluded primary-key attribute, or a name clash.
        """
        return self._derive(operators.projection(self._node, attributes, named))

    # --- aggregation --------------------------------------------------------------------------
    def aggr(
        self, group, /, *attributes: Any, exclude_nonmatching: bool = False, **named: Any
    ) -> QueryExpression:
        """One row per row of ``self`` with values computed over the matching rows of
        ``group`` (spec §9.4): ``named`` are SQL aggregate expressions (trusted code) or
        :class:`~.condition.Aggregate` values; ``attributes`` keeps attributes of ``self``
        (``...`` all). Rows of ``self`` without a match are kept (``count(*)`` is then 1, as
        in DataJoint) unless ``exclude_nonmatching``.

        Raises:
            DataJointError: ``group`` lacks a primary-key attribute of ``self``, or fails
                the semantic check.
        """
        source = _as_expression(group)
        node = operators.aggregation(
            self._node, source._node, attributes, named, exclude_nonmatching
        )
        return self._derive(node)

    aggregate = aggr

    # --- fetching (implemented in fetch.py) ------------------------------------------
    def to_dicts(
        self,
        order_by=None,
        limit=None,
        offset=None,
        *,
        decode=True,
        download_path=None,
        lazy=False,
        timeout=None,
    ) -> list[dict]:
        """All rows as dicts in heading order; values decoded (blobs unpacked, spec §4;
        stored values per ``download_path``/``lazy``; ``timeout`` in seconds, see
        :func:`.fetch.to_dicts`)."""
        return fetching.to_dicts(
            self,
            order_by=order_by,
            limit=limit,
            offset=offset,
            decode=decode,
            download_path=download_path,
            lazy=lazy,
            timeout=timeout,
        )

    def fetch(
        self,
        *attributes: str,
        as_dict: bool = False,
        order_by=None,
        limit=None,
        offset=None,
        download_path=None,
        lazy=False,
        timeout=None,
    ):
        """Rows as a list of dicts (``as_dict``) or, with attribute names, a list of
        value lists per attribute (one list if one name), as DataJoint's ``fetch``."""
        return fetching.fetch(
            self,
            *attributes,
            as_dict=as_dict,
            order_by=order_by,
            limit=limit,
            offset=offset,
            download_path=download_path,
            lazy=lazy,
            timeout=timeout,
        )

    def fetch1(self, *attributes: str, download_path=None, lazy=False, timeout=None):
        """The single row as a dict, or the given attributes' values.

        Raises:
            QueryError: the expression does not have exactly one row.
        """
        return fetching.fetch1(
            self, *attributes, download_path=download_path, lazy=lazy, timeout=timeout
        )

    def to_arrays(
        self, *attributes: str, include_key: bool = False, order_by=None, limit=None, offset=None
    ):
        """A numpy record array of all rows, or one array per named attribute (with the
        keys first when ``include_key``), as DataJoint's ``to_arrays``."""
        return fetching.to_arrays(
            self,
            *attributes,
            include_key=include_key,
            order_by=order_by,
            limit=limit,
            offset=offset,
        )

    def to_pandas(self, order_by=None, limit=None, offset=None):
        """A pandas DataFrame indexed by the primary key (pandas must be installed).

        Raises:
            ImportError: pandas is not installed.
        """
        return fetching.to_pandas(self, order_by=order_by, limit=limit, offset=offset)

    def stream(
        self, batch_size: int = 1000, order_by=None, download_path=None, lazy=False, timeout=None
    ):
        """Iterate over decoded rows from a server-side cursor, ``batch_size`` at a time:
        the result is never held in memory whole (see :func:`.fetch.stream`)."""
        return fetching.stream(
            self,
            batch_size=batch_size,
            order_by=order_by,
            download_path=download_path,
            lazy=lazy,
            timeout=timeout,
        )

    def keys(self, order_by=None, limit=None, offset=None) -> list[dict]:
        """Primary-key dicts of all rows."""
        return self.proj().to_dicts(order_by=order_by, limit=limit, offset=offset)

    def head(self, n: int = 25) -> list[dict]:
        """The first ``n`` rows in primary-key order."""
        return self.to_dicts(order_by="KEY", limit=n)

    def tail(self, n: int = 25) -> list[dict]:
        """The last ``n`` rows in primary-key order."""
        return list(reversed(self.to_dicts(order_by="KEY DESC", limit=n)))

    def __len__(self) -> int:
        return fetching.count(self)

    def __bool__(self) -> bool:
        return fetching.exists(self)

    def __contains__(self, key: Any) -> bool:
        return bool(self & key)

    def __iter__(self):
        return iter(self.stream())

    def make_sql(self) -> tuple[str, list]:
        """``(sql, params)`` of the SELECT this expression runs."""
        return compile_select(self._node)


class U:
    """DataJoint's universal set ``U(*attributes)`` (spec §9.5).

    ``U(...) & q`` gives the distinct values of the attributes in ``q`` (they become the
    primary key); ``U(...).aggr(q, ...)`` groups ``q`` by them (``U().aggr(q, ...)`` gives one
    row); ``q & U(...)`` is ``q``. ``U * q`` and ``U - q`` raise.
    """

    def __init__(self, *attributes: str):
        self.primary_key = list(attributes)

    def __and__(self, other) -> QueryExpression:
        """The distinct values of the U's attributes in ``other`` (spec §9.5).

        Raises:
            DataJointError: an attribute missing in ``other``.
        """
        other = _as_expression(other)
        return other._derive(operators.distinct(other._node, self.primary_key))

    def __mul__(self, other):
        raise DataJointError(
            "dj.U(...) * table is not supported: restrict the U instead (dj.U(...) & table)"
        )

    def __sub__(self, other):
        raise DataJointError("dj.U(...) - table produces an infinite set and is not supported.")

    def aggr(self, group, /, exclude_nonmatching: bool = True, **named: Any) -> QueryExpression:
        """Group ``group`` by the U's attributes and compute ``named`` per group.

        Raises:
            DataJointError: ``exclude_nonmatching=False``, or an attribute missing in ``group``.
        """
        if exclude_nonmatching is False:
            raise DataJointError(
                "Cannot set exclude_nonmatching=False when aggregating on a universal set."
            )
        source = _as_expression(group)
        return source._derive(operators.grouping(source._node, self.primary_key, named))

    aggregate = aggr

    def __repr__(self) -> str:
        return f"U({', '.join(map(repr, self.primary_key))})"


# --- helpers -----------------------------------------------------------------------------------
def _prepare_condition(condition: Any, expr: QueryExpression, semantic_check: bool) -> Any:
    """Check a condition's types and the semantic check of expression conditions; turn
    table classes and expressions into their trees (:data:`.nodes.Condition`) and drop
    ``U`` terms (TRUE).

    Raises:
        QueryError: an unsupported type. DataJointError: the semantic check fails.
    """
    if isinstance(condition, dict):
        return dict(condition)  # a copy: the caller's dict may change, the tree may not
    if isinstance(condition, (str, bool, Comparison, RawSQL)):
        return condition
    if isinstance(condition, Not):
        inner = _prepare_condition(normalize(condition.condition), expr, semantic_check)
        return Not(inner) if inner is not True else False
    if isinstance(condition, AndList):
        return AndList(_prepare_condition(normalize(c), expr, semantic_check) for c in condition)
    if isinstance(condition, (list, tuple)):
        return tuple(_prepare_condition(normalize(c), expr, semantic_check) for c in condition)
    if isinstance(condition, U):
        return True
    if isinstance(condition, type) and hasattr(condition, "heading"):
        condition = condition()
    if isinstance(condition, QueryExpression):
        check_compatible(expr.heading, condition.heading, expr.node, condition.node, semantic_check)
        return condition.node  # a semijoin, kept as the operand's tree
    raise invalid_restriction(condition)
