"""The page of one row: ``schemas/<schema>/tables/<table>/rows/<key token>/`` (issue 14).

Every attribute with its value shown in full (:mod:`.row_values`), the parent row of each
foreign key, for each child table the number of rows referencing this one (a link to the
child's table page restricted to them, :func:`.links.restricted_table_url`), and part rows
under their master (or, for a part row, its master row). Primary-key cells of table pages
link here (:func:`.cells.link_keys`).

htmx partials of the same URL (the state stays in the URL, each ``hx-get`` has its
``href``): ``?load=<attribute>`` aimed at that value's cell reads one value whole (a
stored blob from its store, a large in-table blob); the children section (``#children``)
with ``?children=1`` counts the child rows when there are too many to count while the page
is built (:data:`pipeline_core.services.rowpage.CHILDREN_INLINE`).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from pipeline_core import services

from .errors import pipeline_view
from .htmx import is_htmx_for, vary_on_htmx_target
from .keys import decode_key, encode_key, key_label
from .links import TableLink, restricted_table_url, row_url
from .row_values import value_view
from .views import _render, _value_urls, row_cells


def _value_id(index: int) -> str:
    """Id of the cell of the ``index``-th attribute (names may hold any character)."""
    return f"value-{index}"


def _attribute_urls(schema, table, info, token: str) -> dict[str, dict[str, str]]:
    """Attribute -> the URLs its value may use (see :func:`.row_values.value_view`)."""
    page = reverse("web:row", args=[schema, table, token])
    found = {}
    for name, urls in _value_urls(schema, table, info).items():
        found[name] = {
            "load": f"{page}?{urlencode({'load': name})}",
            **({"thumb": f"{urls['thumb_url']}?key={token}"} if "thumb_url" in urls else {}),
            **(
                {"download": f"{urls['download_url']}?key={token}"}
                if "download_url" in urls
                else {}
            ),
        }
    return found


def _attributes(info, row: dict, token: str, loaded: dict, only: str | None = None) -> list[dict]:
    """Each attribute (or the one named ``only``) with what the page shows of its value;
    ``loaded``: attribute -> its value read whole, replacing the fetched one."""
    urls = _attribute_urls(info.database, info.table_name, info, token)
    shown = []
    for index, attr in enumerate(info.heading):
        if only is not None and attr.name != only:
            continue
        value = loaded[attr.name] if attr.name in loaded else row[attr.name]
        shown.append(
            {
                "attr": attr,
                "id": _value_id(index),
                "v": value_view(value, urls.get(attr.name, {}), codec=attr.codec),
                "loaded": attr.name in loaded,
            }
        )
    return shown


def _parent_url(p) -> str | None:
    """The parent row's page; the parent's table page restricted to it when the foreign
    key references another unique index than the primary key (not DataJoint's)."""
    if not p.exists:
        return None
    if set(p.key) == set(p.info.heading.primary_key):
        return row_url(p.info.database, p.info.table_name, p.key)
    return restricted_table_url(p.info.database, p.info.table_name, p.key)


def _parents(parents) -> list[dict]:
    return [
        {
            "table": TableLink(p.info),
            "columns": p.fk.columns,
            "renamed": [(c, q) for c, q in p.fk.attr_map if c != q],
            "key": key_label(p.key) if p.key else "",
            "viewable": p.viewable,
            "exists": p.exists,
            "url": _parent_url(p),
        }
        for p in parents
    ]


def _children(children) -> list[dict]:
    seen: dict = {}
    for c in children:
        seen[c.info.ref] = seen.get(c.info.ref, 0) + 1
    return [
        {
            "table": TableLink(c.info),
            "count": c.count,
            "timed_out": c.timed_out,
            # the foreign key is named when renamed, or when the child has several to us
            "via": c.fk.columns if c.fk.aliased or seen[c.info.ref] > 1 else (),
            "url": restricted_table_url(c.info.database, c.info.table_name, c.restriction),
        }
        for c in children
    ]


def _rows_html(info, rows: list[dict]) -> str:
    """Rows of a table as the table page shows them (see :func:`.views.row_cells`)."""
    return mark_safe("\n".join(row_cells(info, rows)))


def _parts(parts) -> list[dict]:
    return [
        {
            "table": TableLink(p.info),
            "names": p.info.heading.names,
            "primary_key": p.info.heading.primary_key,
            "rows_html": _rows_html(p.info, p.rows),
            "shown": len(p.rows),
            "count": p.count,
            "url": restricted_table_url(p.info.database, p.info.table_name, p.restriction),
        }
        for p in parts
    ]


@require_GET
@pipeline_view(action="view")
@vary_on_htmx_target
def row(request, schema, table, key):
    """One row: its attributes, parent rows, child tables with counts, part rows.

    ``?load=<attribute>`` reads that value whole (htmx aimed at its cell: the cell
    alone); ``?children=1`` counts the child rows however many child tables there are
    (htmx aimed at ``#children``: the section alone).
    """
    token = key
    key = decode_key(token)
    load = request.GET.get("load") or None
    if is_htmx_for(request, "children"):
        children = services.row_children(schema, table, key, request.user)
        info = services.table_info(schema, table)
        context = {"info": info, "children": _children(children), "counted": True}
        return _render(request, "row.html#children", context)
    if load is not None and request.htmx and request.htmx.target:
        info = services.table_info(schema, table)
        names = info.heading.names
        if load in names and is_htmx_for(request, _value_id(names.index(load))):
            value = services.load_attribute(schema, table, key, load)
            [item] = _attributes(info, {}, encode_key(key), {load: value}, only=load)
            return _render(request, "row.html#value", {"a": item})
    page = services.row_page(
        schema,
        table,
        key,
        request.user,
        count_children=True if request.GET.get("children") == "1" else None,
    )
    info = page.info
    token = encode_key(page.key)  # canonical (heading order)
    loaded = {}
    if load is not None:
        loaded[load] = services.load_attribute(schema, table, page.key, load)
    master = None
    if page.master:
        master_info, master_key = page.master
        master = {
            "table": TableLink(master_info),
            "key": key_label(master_key),
            "url": row_url(master_info.database, master_info.table_name, master_key),
        }
    context = {
        "info": info,
        "key": key_label(page.key),
        "token": token,
        "attributes": _attributes(info, page.row, token, loaded),
        "parents": _parents(page.parents),
        "children": _children(page.children),
        "counted": page.counted,
        "children_url": reverse("web:row", args=[schema, table, token]) + "?children=1",
        "parts": _parts(page.parts),
        "master": master,
        "history_url": reverse("web:history", args=[schema, table]) + f"?key={token}",
    }
    return _render(request, "row.html", context)
