"""The state of a table page in its URL, read and written in one place.

Parameters (all optional; other helpers and the export links rely on them):

``where``
    A condition of the JSON query description (its ``where`` form: ``{"attribute",
    "operator", "value"}``, ``and``/``or``/``not``, ``matching``), encoded by
    :func:`pipeline_core.querystate.encode_description` (plain JSON starting with ``{`` is
    read too). The column filters write ``{"and": [...]}`` with one condition per column;
    the query builder may write any condition.
``order``
    The ordering: attribute names, ``-name`` for descending, separated by commas and/or
    repeated (``order=-score,name`` = ``order=-score&order=name``); completed by the
    primary key. Links write one comma-separated value. Default: the primary key.
``after`` / ``before``
    Keyset cursors: :func:`pipeline_core.keys.encode_key` tokens of the ordering
    attributes' values (NULL included) of the row the page starts after / ends before.
``last=1``
    The last page (read in the reversed ordering: no OFFSET).
``page``
    The number of the page, only where it is known: ``<n>.<check>``, where ``check`` is
    an HMAC (the site's secret key) of the number with the table, ``where``, ``order`` and
    the cursor, so that only numbers LabBook wrote by walking from the first page are
    shown ("Rows 201–300"); any other ``page`` is ignored. Numbers count the rows as
    they were when walked.

Bad values raise data-model errors naming the parameter or attribute (400 pages).
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlencode

from django.utils.crypto import constant_time_compare, salted_hmac

from pipeline_core import datamodel as dm
from pipeline_core import services
from pipeline_core.querystate import decode_description, encode_description

from .keys import decode_key, encode_key

#: Salt of the page numbers' HMAC.
PAGE_SALT = "labbook.web.table_state.page"
#: Hex digits of the HMAC kept in a ``page`` value.
CHECK_DIGITS = 12


@dataclasses.dataclass(frozen=True)
class TableState:
    """What a table page shows, from its URL (see the module docstring).

    Attributes:
        base: the table page's path (``reverse("web:table", ...)``).
        where: the condition (a dict), or None.
        order: ``((attribute, descending), ...)`` as asked (not completed by the key).
        after, before: the cursor dicts, or None; last: the last page.
        page: the page's number when known (verified), else None.
    """

    base: str
    where: Any = None
    order: tuple[tuple[str, bool], ...] = ()
    after: dict | None = None
    before: dict | None = None
    last: bool = False
    page: int | None = None
    #: ``where`` encoded, once (see :attr:`where_token`); None: not yet.
    encoded: str | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def where_token(self) -> str:
        """``where`` encoded for URLs ("" without one)."""
        if self.encoded is None:
            token = "" if self.where is None else encode_description(self.where)
            object.__setattr__(self, "encoded", token)  # a cache: the state stays the same
        return self.encoded

    @property
    def order_text(self) -> str:
        """``order`` as the URL writes it: ``-score,name`` ("" for the primary key)."""
        return ",".join(("-" if d else "") + n for n, d in self.order)

    def query(self, **params) -> dict[str, str]:
        """The URL parameters of this restriction and ordering with ``params`` added (None
        values left out)."""
        found = {"where": self.where_token, "order": self.order_text}
        found.update(params)
        return {k: str(v) for k, v in found.items() if v not in (None, "")}

    def url(self, base: str | None = None, **params) -> str:
        """``base`` (default: the table page) with :meth:`query` as its query string."""
        query = urlencode(self.query(**params), safe=",")
        return (base or self.base) + (f"?{query}" if query else "")

    def first_url(self) -> str:
        """The first page."""
        return self.url()

    def last_url(self) -> str:
        """The last page."""
        return self.url(last="1")

    def next_url(self, cursor: dict, number: int | None) -> str:
        """The page after the row ``cursor`` (page ``number`` when known)."""
        token = encode_key(cursor)
        return self.url(after=token, page=self._page_value("after", token, number))

    def previous_url(self, cursor: dict, number: int | None) -> str:
        """The page before the row ``cursor`` (page ``number`` when known; page 1 is the
        first page's URL)."""
        if number == 1:
            return self.first_url()
        token = encode_key(cursor)
        return self.url(before=token, page=self._page_value("before", token, number))

    def with_changes(self, **changes) -> TableState:
        """This state with other fields (a new ordering or restriction starts at the first
        page: pass ``after=None`` etc. as needed)."""
        if "where" in changes:
            changes.setdefault("encoded", None)
        return dataclasses.replace(self, **changes)

    def _check(self, kind: str, token: str, number: int) -> str:
        message = "|".join((self.base, self.where_token, self.order_text, kind, token, str(number)))
        return salted_hmac(PAGE_SALT, message, algorithm="sha256").hexdigest()[:CHECK_DIGITS]

    def _page_value(self, kind: str, token: str, number: int | None) -> str | None:
        return None if number is None else f"{number}.{self._check(kind, token, number)}"


def read_state(request, info, base: str) -> TableState:
    """The :class:`TableState` of a table page's request.

    Raises:
        QueryError: ``where`` is not an encoded condition (an object); a cursor is not a
            token; more than one of ``after``, ``before`` and ``last``.
        UnknownAttributeError / QueryError: ``order`` names an attribute the table does not
            have or one that cannot be sorted by (see :func:`.services.sort_order`).
    """
    get = request.GET
    where = None
    text = get.get("where", "").strip()
    if text:
        where = decode_description(text)
        if not isinstance(where, dict):
            raise dm.QueryError(
                f"{info.full_name}: `where` must be a condition (a JSON object), not "
                f"{type(where).__name__}",
                table=info.full_name,
            )
    order = services.sort_order(info, get.getlist("order"))
    cursors = {}
    for kind in ("after", "before"):
        token = get.get(kind, "").strip()
        if token:
            cursors[kind] = decode_key(token, allow_null=True)
    last = get.get("last", "") not in ("", "0")
    if len(cursors) + last > 1:
        raise dm.QueryError(
            f"{info.full_name}: a page starts `after` a row, ends `before` one, or is the "
            "`last`: give one of them",
            table=info.full_name,
        )
    state = TableState(base, where, order, cursors.get("after"), cursors.get("before"), last)
    return dataclasses.replace(state, page=_verified_page(state, get))


def _verified_page(state: TableState, get) -> int | None:
    """The ``page`` number when LabBook wrote it for exactly this page (else None)."""
    kind = "after" if state.after is not None else "before" if state.before is not None else None
    number, _, check = get.get("page", "").partition(".")
    if kind is None or not number.isdigit() or not check:
        return None
    value = int(number)
    token = get.get(kind, "").strip()
    if value < 2 or not constant_time_compare(check, state._check(kind, token, value)):
        return None
    return value


def table_description(schema: str, table: str, state: TableState) -> dict:
    """The JSON query description of what a table page shows: ``{"from": the table,
    "where"?: its filters, "order"?: its sort}`` (the query builder's start from the page)."""
    description: dict = {"from": {"schema": schema, "table": table}}
    if state.where is not None:
        description["where"] = state.where
    if state.order:
        description["order"] = [
            {"attribute": name, "descending": True} if descending else {"attribute": name}
            for name, descending in state.order
        ]
    return description
