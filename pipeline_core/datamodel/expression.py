"""Immutable query expressions (architecture convention 1; spec §9).

A :class:`QueryExpression` holds a connection, a :class:`~.heading.Heading` and a tree of
frozen nodes. Operators return new expressions; operands are never changed. SQL is
produced by :func:`.sql.compiler.compile_select` and run by :mod:`.fetch`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .condition import Not, normalize
from .errors import QueryError
from .heading import Attribute, Heading


@dataclasses.dataclass(frozen=True)
class TableNode:
    """A base table, by full name."""

    full_name: str
    heading: Heading


@dataclasses.dataclass(frozen=True)
class RestrictNode:
    """``child & condition`` (condition already normalised; may be an expression)."""

    child: Any
    condition: Any

    @property
    def heading(self) -> Heading:
        return self.child.heading


@dataclasses.dataclass(frozen=True)
class JoinNode:
    """``left * right``: natural join on the shared attribute names."""

    left: Any
    right: Any
    on: tuple[str, ...]
    heading: Heading


@dataclasses.dataclass(frozen=True)
class ProjNode:
    """Projection: output attribute name -> source attribute name, in output order."""

    child: Any
    mapping: tuple[tuple[str, str], ...]
    heading: Heading


class QueryExpression:
    """A query over one or more tables; immutable.

    Attributes:
        connection: the :class:`~.connection.Connection` it runs on.
        heading: the attributes of its result.
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

    def _derive(self, node) -> "QueryExpression":
        return QueryExpression(self._connection, node)

    # --- restriction ---------------------------------------------------------------
    def restrict(self, condition: Any) -> "QueryExpression":
        """Rows matching ``condition``: a dict, list/tuple (OR), AndList, Not, another
        expression (semijoin on shared attributes), bool, numpy record, or an SQL string
        (trusted code only). Unknown dict keys are ignored, as in DataJoint (spec §9.1).

        Raises:
            TypeError: condition is None or of an unsupported type.
        """
        condition = normalize(condition)
        _check_condition(condition)
        return self._derive(RestrictNode(self._node, condition))

    def __and__(self, condition: Any) -> "QueryExpression":
        return self.restrict(condition)

    def __sub__(self, condition: Any) -> "QueryExpression":
        return self.restrict(Not(normalize(condition)))

    # --- join and projection ------------------------------------------------------------
    def __mul__(self, other: "QueryExpression") -> "QueryExpression":
        """Natural join on shared attribute names (spec §9.2). The result's primary key is
        PK(a) if a determines b, else PK(b) if b determines a, else the union."""
        if isinstance(other, type):
            other = other()
        if not isinstance(other, QueryExpression):
            raise QueryError(f"Cannot join with {type(other).__name__}")
        a, b = self.heading, other.heading
        on = tuple(n for n in a.names if n in b)
        if set(b.primary_key) <= set(a.names):
            key = a.primary_key
        elif set(a.primary_key) <= set(b.names):
            key = b.primary_key
        else:
            key = a.primary_key + [n for n in b.primary_key if n not in a.primary_key]
        attrs = [_with_key(x, x.name in key) for x in a] + [
            _with_key(x, x.name in key) for x in b if x.name not in a]
        attrs.sort(key=lambda x: (not x.in_key, ))
        return self._derive(JoinNode(self._node, other._node, on, Heading(attrs)))

    def proj(self, *attributes: str, **renamed: str) -> "QueryExpression":
        """Keep the primary key plus the named secondary attributes (``...`` keeps all);
        ``new='old'`` renames. Computed expressions are not supported here (issue 5).

        Raises:
            QueryError: unknown attribute, or a name clash.
        """
        keep_all = Ellipsis in attributes
        names = [a for a in attributes if a is not Ellipsis]
        excluded = {n[1:] for n in names if n.startswith("-")}
        names = [n for n in names if not n.startswith("-")]
        for name in list(names) + list(renamed.values()) + list(excluded):
            if name not in self.heading:
                raise QueryError(f"Attribute `{name}` is not in the heading", attribute=name)
        source_to_new = {old: new for new, old in renamed.items()}
        mapping: list[tuple[str, str]] = []
        for attr in self.heading:
            if attr.in_key or attr.name in names or (keep_all and attr.name not in excluded) \
                    or attr.name in source_to_new:
                mapping.append((source_to_new.get(attr.name, attr.name), attr.name))
        outputs = [new for new, _ in mapping]
        if len(set(outputs)) != len(outputs):
            raise QueryError("Attribute name clash in proj")
        heading = Heading([dataclasses.replace(self.heading[old], name=new) for new, old in mapping])
        return self._derive(ProjNode(self._node, tuple(mapping), heading))

    # --- fetching (implemented in fetch.py) ------------------------------------------
    def to_dicts(self, order_by=None, limit=None, offset=None, *, decode=True,
                 download_path=None, lazy=False) -> list[dict]:
        """All rows as dicts in heading order; values decoded (blobs unpacked, spec §4;
        stored values per ``download_path``/``lazy``, see :func:`.fetch.to_dicts`)."""
        from .fetch import to_dicts
        return to_dicts(self, order_by=order_by, limit=limit, offset=offset, decode=decode,
                        download_path=download_path, lazy=lazy)

    def fetch(self, *attributes: str, as_dict: bool = False, order_by=None, limit=None,
              download_path=None, lazy=False):
        """Rows as a list of dicts (``as_dict``) or, with attribute names, a list of
        value lists per attribute (one list if one name), as DataJoint's ``fetch``."""
        from .fetch import fetch
        return fetch(self, *attributes, as_dict=as_dict, order_by=order_by, limit=limit,
                     download_path=download_path, lazy=lazy)

    def fetch1(self, *attributes: str, download_path=None, lazy=False):
        """The single row as a dict, or the given attributes' values.

        Raises:
            QueryError: the expression does not have exactly one row.
        """
        from .fetch import fetch1
        return fetch1(self, *attributes, download_path=download_path, lazy=lazy)

    def keys(self, order_by=None, limit=None) -> list[dict]:
        """Primary-key dicts of all rows."""
        return self.proj().to_dicts(order_by=order_by, limit=limit)

    def head(self, n: int = 25) -> list[dict]:
        return self.to_dicts(order_by="KEY", limit=n)

    def __len__(self) -> int:
        from .fetch import count
        return count(self)

    def __bool__(self) -> bool:
        from .fetch import exists
        return exists(self)

    def __contains__(self, key: Any) -> bool:
        return bool(self & key)

    def __iter__(self):
        return iter(self.to_dicts())

    def make_sql(self) -> tuple[str, list]:
        """``(sql, params)`` of the SELECT this expression runs."""
        from .sql.compiler import compile_select
        return compile_select(self)


def _with_key(attr: Attribute, in_key: bool) -> Attribute:
    return attr if attr.in_key == in_key else dataclasses.replace(attr, in_key=in_key)


def _check_condition(condition: Any) -> None:
    if isinstance(condition, (dict, str, bool, QueryExpression)):
        return
    if isinstance(condition, Not):
        _check_condition(normalize(condition.condition))
        return
    if isinstance(condition, (list, tuple)):  # includes AndList
        for item in condition:
            _check_condition(normalize(item))
        return
    if isinstance(condition, type) and hasattr(condition, "heading"):
        return
    raise TypeError(f"Invalid restriction type {type(condition).__name__}")
