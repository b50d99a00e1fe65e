"""Table cells as HTML, built in Python: a page of rows renders 100 rows × N cells, and one
template include per cell cost more than the query (issue 14). Each column's way of showing
its values is chosen once per page (:func:`column_formatter`); every text and attribute is
escaped with Django's :func:`~django.utils.html.conditional_escape`, exactly as the
template did (``tests/web/test_cells.py`` compares both on the same cells).

:func:`cell_html` turns a cell description of :func:`.previews.cell` into its ``<td>``;
plain scalars (int, float, str, None) take a shorter path to the same markup.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from . import previews
from .sparkline import CELL_CHART as CHART

NULL_CELL = mark_safe('<td class="null"><span class="null">NULL</span></td>')
MAX_TEXT = previews.MAX_TEXT


def _title(c: dict) -> str:
    return f' title="{conditional_escape(c["title"])}"' if c.get("title") else ""


#: Cell kinds that show a load control when they have a ``load`` URL, and its title.
LOAD_TITLES = {
    "stored": "read the value from its store",
    "blob": "read the whole value and draw it",
}


def _load(c: dict) -> str:
    """The load control of a cell (``load`` URL, ``load_label``): htmx swaps the cell for
    the value read whole (a plain link opens it as a page)."""
    load = conditional_escape(c["load"])
    return (
        f' <a class="load" href="{load}" hx-get="{load}" hx-target="closest td" '
        f'hx-swap="outerHTML" title="{LOAD_TITLES[c["kind"]]}">'
        f"{conditional_escape(c.get('load_label') or 'load')}</a>"
    )


def cell_html(c: dict) -> SafeString:
    """The ``<td>`` of a cell described by :func:`.previews.cell` (keys ``kind``, ``text``,
    ``title``, ``alt``, ``thumb``, ``width``, ``height``, ``detail``, ``href``, ``load``,
    ``load_label``, ``svg``; absent keys show as empty). ``svg`` is inserted as it is: it
    is markup made by :func:`.sparkline.line_svg`, which escapes every text in it."""
    esc = conditional_escape
    kind = c.get("kind", "")
    text = esc(c.get("text", ""))
    if kind == "image":
        thumb = esc(c.get("thumb", ""))
        alt = esc(c.get("alt") or c.get("text", ""))
        body = (
            f'<a href="{thumb}&amp;size=1024" target="_blank" rel="noopener"><img loading="lazy" '
            f'src="{thumb}&amp;size=192" width="{esc(c.get("width", ""))}" '
            f'height="{esc(c.get("height", ""))}" alt="{alt}"></a>'
            f'<span class="dim"{_title(c)}>{text}</span>'
        )
    elif kind == "null":
        body = '<span class="null">NULL</span>'
    elif kind == "file":
        title = esc(c.get("title", ""))
        if c.get("href"):
            body = (
                f'<a class="download" href="{esc(c["href"])}" download title="{title}">{text}</a>'
            )
        else:
            body = f'<span title="{title}">{text}</span>'
        if c.get("detail"):
            body += f' <span class="dim">{esc(c["detail"])}</span>'
    elif kind == "trace":
        if c.get("svg"):
            chart = c["svg"]
        else:  # an <npy@> array: the thumbnail route draws it
            thumb = esc(c.get("thumb", ""))
            width, height = CHART
            chart = (
                f'<img class="sparkline" loading="lazy" src="{thumb}&amp;size={width}" '
                f'width="{width}" height="{height}" alt="line chart of {text}">'
            )
        body = f'{chart}<span class="dim"{_title(c)}>{text}</span>'
    elif kind == "tree":
        body = (
            f"<details><summary{_title(c)}>{text}</summary>"
            f"<pre>{esc(c.get('detail', ''))}</pre></details>"
        )
    else:
        body = f"<span{_title(c)}>{text}</span>"
    if c.get("load") and kind in LOAD_TITLES:
        body += _load(c)
    return mark_safe(f'<td class="{esc(kind)}">{body}</td>')


def _scalar_html(value) -> str | None:
    """The cell of an int, float or str exactly as :func:`.previews.cell` and
    :func:`cell_html` make it (not marked safe: the caller marks the joined row), or None
    for any other value. ``html.escape`` is what Django's ``escape`` applies."""
    kind = type(value)
    if kind is str:
        if len(value) > MAX_TEXT:
            shown = escape(value[: MAX_TEXT - 1] + "…")
            return f'<td class="value"><span title="{escape(value)}">{shown}</span></td>'
        return f'<td class="value"><span>{escape(value)}</span></td>'
    if kind is int:
        shown = str(value)  # digits and "-": nothing to escape
        return f'<td class="value"><span>{shown}</span></td>' if len(shown) <= MAX_TEXT else None
    if kind is float:
        shown, full = format(value, ".6g"), str(value)  # digits, ".", "e", "+", "-", inf, nan
        if full == shown:
            return f'<td class="value"><span>{shown}</span></td>'
        return f'<td class="value"><span title="{full}">{shown}</span></td>'
    return None


def column_formatter(codec: str | None, urls: dict[str, str]) -> Callable[[object, str], str]:
    """The function turning one column's values into ``<td>`` markup: ``format(value,
    key_token) -> str`` (escaped; mark the joined row safe), with ``key_token`` the row's
    key (:func:`pipeline_core.keys.encode_key`; used only by columns whose cells link to
    the value, ``urls``: option -> URL without ``?key=``, as :func:`.previews.cell` takes
    them)."""
    if urls:

        def linked(value, token: str) -> str:
            if value is None:
                return NULL_CELL
            links = {option: f"{url}?key={token}" for option, url in urls.items()}
            return cell_html(previews.cell(value, codec=codec, **links))

        return linked

    def plain(value, token: str) -> str:
        if value is None:
            return NULL_CELL
        return _scalar_html(value) or cell_html(previews.cell(value, codec=codec))

    return plain


def link_keys(
    columns: list[tuple[str, Callable[[object, str], str]]],
    primary_key: list[str],
    row_prefix: str,
) -> list[tuple[str, Callable[[object, str], str]]]:
    """``columns`` (``(name, formatter)`` pairs of :func:`column_formatter`) with the cells
    of primary-key attributes linked to their row's page: ``row_prefix + key_token + "/"``
    (:func:`.links.row_url_prefix`; tokens are base64url, nothing to escape). The link
    wraps the cell's content (its ``<td>`` kept); a cell that already holds a link is left
    as it is (links do not nest). Plain ints and short strings, the usual key values, take
    a shorter path to the same markup."""
    keys = set(primary_key)
    opening = f'<a class="row-link" href="{conditional_escape(row_prefix)}'

    def linking(show):
        def linked_key(value, token: str) -> str:
            kind = type(value)
            if kind is int or (kind is str and len(value) <= MAX_TEXT):
                shown = value if kind is int else escape(value)
                return f'<td class="value">{opening}{token}/"><span>{shown}</span></a></td>'
            html = show(value, token)
            if "<a " in html:
                return html
            start = html.find(">") + 1
            return f'{html[:start]}{opening}{token}/">{html[start:-5]}</a></td>'

        return linked_key

    return [(name, linking(show) if name in keys else show) for name, show in columns]
