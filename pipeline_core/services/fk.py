"""Choosing a foreign key's parent row by searching it (entry forms, the grid, the API):
the foreign key named by one of its child attributes, the parent's schema checked for the
user, answers in JSON-safe values (:func:`.query.json_value`)."""

from __future__ import annotations

from pipeline_core.datamodel import fk_search
from pipeline_core.datamodel.catalog import catalog_of
from pipeline_core.datamodel.heading import ForeignKey, TableInfo
from pipeline_core.display import shown

from .access import NotFoundError, attribute_of, check_viewable, connection, table_info
from .query import json_value

#: Results per search when none is asked for, and the most one may ask for.
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def foreign_key_of(info: TableInfo, attribute: str) -> ForeignKey:
    """The foreign key of ``info`` that ``attribute`` (a child attribute) belongs to; any
    attribute of a compound foreign key names the same one.

    Raises:
        NotFoundError: the table has no such attribute, or the attribute is in no foreign
            key (the message names the table and the attribute).
    """
    attribute_of(info, attribute)
    for fk in info.foreign_keys:
        if attribute in fk.columns:
            return fk
    raise NotFoundError(
        f"{info.full_name}: attribute {shown(attribute)} is not part of a foreign key",
        table=info.full_name,
        attribute=attribute,
    )


def parent_foreign_key(schema: str, table: str, attribute: str, user) -> ForeignKey:
    """The foreign key of a visible table named by one of its attributes, whose parent's
    schema ``user`` may view (the child's schema is the caller's check: the page's or the
    API view's role).

    Raises:
        NotFoundError: no such table or attribute, not in a foreign key, or a parent in a
            schema the user may not view (reported as an unknown schema).
    """
    fk = foreign_key_of(table_info(schema, table), attribute)
    check_viewable(fk.parent.database, user)
    return fk


def fk_choices(
    schema: str, table: str, attribute: str, user, q: str = "", limit: int = DEFAULT_LIMIT
) -> dict:
    """Search the parent of the foreign key holding ``attribute`` for ``q`` (rules:
    :func:`pipeline_core.datamodel.fk_search.search`).

    Returns:
        ``{"attributes": [child attributes of the foreign key], "parent": "`db`.`tbl`",
        "results": [{"values": {child attribute: JSON value}, "label": "1 · Mickey · M"}]}``
        (contract: notes "FK search" of issue #12).
    Raises:
        NotFoundError: see :func:`parent_foreign_key`.
    """
    fk = parent_foreign_key(schema, table, attribute, user)
    heading = table_info(schema, table).heading
    found = fk_search.search(connection(), fk, q, min(max(int(limit), 1), MAX_LIMIT))
    return {
        "attributes": list(fk.columns),
        "parent": fk.parent.full_name,
        "results": [
            {
                "values": {c: json_value(heading[c], v) for c, v in r["values"].items()},
                "label": r["label"],
            }
            for r in found
        ],
    }


def parent_of(fk: ForeignKey) -> TableInfo:
    """The parent's TableInfo (it may lie outside the visible schemas: the callers check).

    Raises:
        MissingTableError: the parent is gone.
    """
    return catalog_of(connection()).get(fk.parent)


def fk_label(fk: ForeignKey, values: dict) -> str | None:
    """The label of the parent row that child ``values`` of ``fk`` point to (None: no
    such parent), to show a choice made earlier."""
    return fk_search.label_of_values(connection(), fk, values)
