"""The column headers of a table page's rows as HTML, built in Python (as the cells are, see
:mod:`.cells`: a template loop over the columns with their sort links and filter forms cost
as much as the rows' query). Every text and attribute is escaped with :func:`html.escape`
(what Django's ``escape`` applies; every value here is a plain ``str``).

A header holds the column's name as a sort link (htmx swaps ``#rows``, the URL is pushed,
the view scrolls to the top of the rows; a plain link without JavaScript) and its filter
control: a ``<details>`` popover (no JavaScript) holding a GET form whose fields are the
page's ``where`` and ``order``, ``filter`` (the column), ``op`` and ``value``.
"""

from __future__ import annotations

from html import escape as esc

from django.utils.safestring import SafeString, mark_safe

from .filters import ColumnFilter

#: htmx attributes of the links and forms that replace the rows.
SWAP = 'hx-target="#rows" hx-swap="outerHTML show:#rows:top"'
#: The filter control's icon (a funnel; filled when the column is filtered, by CSS).
FUNNEL = (
    '<svg class="funnel" width="11" height="11" viewBox="0 0 10 10" aria-hidden="true">'
    '<path d="M0.5 0.5h9L6 5v4L4 8V5z"/></svg>'
)


def header_html(headers, base_url: str, where_token: str, order_param: str) -> SafeString:
    """The ``<th>`` elements of the rows table, from :func:`.pager.headers`.

    Args:
        base_url: the table page's path (the filter forms' action).
        where_token, order_param: the page's ``where`` and ``order`` (kept by the forms).
    """
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{esc(value)}">'
        for name, value in (("where", where_token), ("order", order_param))
        if value
    )
    return mark_safe("".join(_th(h, esc(base_url), hidden) for h in headers))


def _th(header, action: str, hidden: str) -> str:
    name = esc(header.name)
    attrs = f' scope="col" data-name="{name}"'
    if header.pk:
        attrs += ' class="pk"'
    if header.aria_sort:
        attrs += f' aria-sort="{header.aria_sort}"'
    if header.sort_url:
        url = esc(header.sort_url)
        flip = ", descending" if header.aria_sort == "ascending" else ""
        mark = ""
        if header.aria_sort:
            arrow = "▲" if header.aria_sort == "ascending" else "▼"
            mark = f'<span class="sort-mark" aria-hidden="true">{arrow}</span>'
        title = f"sort by {name}{flip}"
        label = (
            f'<a class="sort" href="{url}" hx-get="{url}" {SWAP} hx-push-url="true" '
            f'title="{title}">{name}{mark}</a>'
        )
    else:
        label = (
            f'<span title="{name}: blobs, json and stored values cannot be sorted or '
            f'filtered">{name}</span>'
        )
    control = _filter(header.filter, name, action, hidden) if header.filter else ""
    return f'<th{attrs}><span class="th">{label}{control}</span></th>'


def _filter(control: ColumnFilter, name: str, action: str, hidden: str) -> str:
    """The filter popover of one column."""
    active = control.active
    options = "".join(
        f'<option value="{esc(value)}"{" selected" if value == control.operator else ""}>'
        f"{esc(text)}</option>"
        for value, text in control.operators
    )
    if control.input_type == "select":
        choices = "".join(
            f"<option{' selected' if choice == control.value else ''}>{esc(choice)}</option>"
            for choice in control.choices
        )
        value = f'<select name="value" aria-label="value of {name}">{choices}</select>'
    else:
        step = ""
        if control.step:
            step = f' step="{control.step}"'
        elif control.input_type == "datetime-local":
            step = ' step="1"'
        value = (
            f'<input name="value" type="{control.input_type}"{step} '
            f'value="{esc(control.value)}" aria-label="value of {name}">'
        )
    remove = ' <button type="submit" name="remove" value="1">Remove</button>' if active else ""
    return (
        f'<details class="col-filter{" active" if active else ""}">'
        f'<summary title="filter {name}{" (filtered)" if active else ""}">'
        f'<span class="visually-hidden">Filter {name}</span>{FUNNEL}</summary>'
        f'<form class="filter-form" method="get" action="{action}" hx-get="{action}" {SWAP}>'
        f'{hidden}<input type="hidden" name="filter" value="{name}">'
        f'<select name="op" aria-label="operator for {name}">{options}</select>'
        f'{value}<button type="submit">Filter</button>{remove}</form></details>'
    )
