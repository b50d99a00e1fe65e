"""The entry grid of a Manual/Lookup table (issue #12): a spreadsheet-like page driven by
``static/labbook/grid.js`` (Tabulator), which reads and writes rows through the JSON API
(rows, foreign-key search, undo; contract in ``notes/rows-api.md``).

The view serves the page and, in a ``json_script`` element, the grid's configuration: the
heading of the table and of its part tables (one column per attribute: type, family,
nullable, default, comment, primary key, enum members, length, the foreign key it belongs
to) and the API URLs. No data is rendered into the page: the grid fetches keyset pages.
"""

from __future__ import annotations

import re

from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from pipeline_core import services
from pipeline_core.datamodel.heading import Attribute, TableInfo
from pipeline_core.datamodel.types import enum_values, type_family
from pipeline_core.services.rows import ENTERABLE_TIERS

from .errors import pipeline_view
from .links import linked

#: Rows per keyset page the grid asks for.
GRID_PAGE = 200
_LENGTH = re.compile(r"\((\d+)(?:\s*,\s*(\d+))?\)")


def api_url(name: str, *args: str) -> str:
    """The URL of an API endpoint (``api:<name>``) of the rows contract."""
    return reverse(f"api:{name}", args=list(args))


def is_read_only(attr: Attribute) -> bool:
    """Blobs, raw bytes, attachments and other stored values are shown, never typed in."""
    return attr.is_blob or attr.is_bytes or attr.codec is not None


def column_of(attr: Attribute, fk_index: dict[str, int]) -> dict:
    """One attribute as the grid's column description (JSON-safe)."""
    family = type_family(attr.type)
    base = attr.base_type
    length = scale = None
    found = _LENGTH.search(attr.type)
    if found and base in ("char", "varchar", "decimal", "numeric", "dec", "fixed"):
        length = int(found.group(1))
        scale = int(found.group(2)) if found.group(2) else None
    if family == "other" and base in ("datetime", "timestamp"):
        family = "datetime"
    elif family == "other" and base == "time":
        family = "time"
    return {
        "name": attr.name,
        "type": attr.type,
        "base": base,
        "family": "enum" if base == "enum" else family,
        "nullable": attr.nullable,
        "default": attr.default,
        "default_is_expression": attr.default_is_expression,
        "comment": attr.comment,
        "in_key": attr.in_key,
        "enum": enum_values(attr.type) if base == "enum" else None,
        "length": length,
        "scale": scale,
        "unsigned": "unsigned" in attr.type.lower() or base.startswith("uint"),
        "autoincrement": attr.autoincrement,
        "read_only": is_read_only(attr),
        "fk": fk_index.get(attr.name),
    }


def table_spec(info: TableInfo, inherited: tuple[str, ...] = ()) -> dict:
    """The grid configuration of one table: columns, primary key, foreign keys (each with
    its attribute group and the FK search URL), and the rows API URLs. ``inherited`` names
    the master's key attributes of a part table (filled from the master row)."""
    schema, table = info.database, info.table_name
    foreign_keys = []
    fk_index: dict[str, int] = {}
    for fk in info.foreign_keys:
        if set(fk.columns) <= set(inherited):
            continue  # the master's key: filled from the master row, never picked
        index = len(foreign_keys)
        for column in fk.columns:
            fk_index.setdefault(column, index)
        foreign_keys.append(
            {
                "index": index,
                "attributes": list(fk.columns),
                "parent": fk.parent.full_name,
                "nullable": fk.nullable,
                "url": api_url("fk_choices", schema, table, fk.columns[0]),
            }
        )
    return {
        "schema": schema,
        "table": table,
        "class_name": info.class_name,
        "part_name": info.class_name.rsplit(".", 1)[-1],
        "full_name": info.full_name,
        "tier": info.tier,
        "comment": info.comment,
        "primary_key": list(info.heading.primary_key),
        "inherited": list(inherited),
        "columns": [column_of(a, fk_index) for a in info.heading],
        "foreign_keys": foreign_keys,
        "rows_url": api_url("rows", schema, table),
        "delete_url": api_url("rows_delete", schema, table),
    }


def grid_config(info: TableInfo, parts: list[TableInfo], can: dict[str, bool]) -> dict:
    """Everything grid.js needs: the table, its parts (with the master's key attributes
    they inherit), what the user's role allows, and the API URLs."""
    part_specs = []
    for part in parts:
        inherited = tuple(
            c for fk in part.foreign_keys if fk.parent == info.ref for c in fk.columns
        )
        part_specs.append(table_spec(part, inherited))
    return {
        **table_spec(info),
        "parts": part_specs,
        "page_size": GRID_PAGE,
        "query_url": reverse("api:query"),
        "undo_url": api_url("batch_undo", "BATCH").replace("BATCH", "{batch}"),
        "table_url": reverse("web:table", args=[info.database, info.table_name]),
        "can": {action: bool(can.get(action)) for action in ("insert", "update", "delete", "undo")},
    }


@require_GET
@pipeline_view(action="insert")
def grid(request, schema, table):
    """The entry grid of a Manual/Lookup table (409 for other tiers)."""
    info = services.table_info(schema, table)
    if info.tier not in ENTERABLE_TIERS:
        context = {
            "info": info,
            "refused": f"{info.class_name} is {services.tier_phrase(info)}: rows are "
            "entered only into Manual and Lookup tables.",
        }
        return render(request, "grid.html", linked(context), status=409)
    access = request.labbook_access
    config = grid_config(info, services.part_tables(schema, table), access.can)
    return render(request, "grid.html", linked({"info": info, "config": config}))
