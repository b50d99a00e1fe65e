"""A JSON query description -> Python source running the same query ("Copy as Python").

:func:`python_code` writes a short script that a notebook can run: it connects, makes a
virtual module per schema named, builds the expression with the DataJoint operators and
fetches the rows in the description's order (completed by the primary key) and limit. Two
flavours:

* ``"datamodel"``: :mod:`pipeline_core.datamodel` (``dm.Comparison``, ``dm.Aggregate``,
  ``dm.Computation``: values stay Python values, as the web runs them);
* ``"datajoint"``: the ``datajoint`` package (restrictions as SQL text with quoted literals,
  equality as dicts, aggregates and computations as SQL expressions; an aggregation keeping
  attributes is ``q.proj(*keep) * q.aggr(...)``, since datajoint 2.3 groups by the primary
  key alone, which MySQL's ``ONLY_FULL_GROUP_BY`` refuses).

The description is taken as valid (give it :func:`.validate`'s canonical form); the
function itself never connects. Every name and value is written as a Python literal
(``repr``), and in SQL text (the datajoint flavour) names are back-quoted and strings quoted,
so no part of a description becomes code. ``after`` (a keyset cursor) is not applied: the
script fetches from the first row.
"""

from __future__ import annotations

import keyword
import re

from ..names import master_of, table_to_class_name, tier_of
from ..order_by import order_item
from ..sql import datajoint_text as dj_text
from ..tableref import TableRef
from .schema import CLASS_NAME

FLAVOURS = ("datamodel", "datajoint")

#: Names the script itself uses: a schema module is never called so.
_RESERVED = {"dm", "dj", "connection", "query", "rows"}
_CLASS = re.compile(CLASS_NAME)


def python_code(description: dict, flavour: str = "datamodel") -> str:
    """Python source that runs ``description`` and leaves its rows in ``rows`` (a list of
    dicts) and the expression in ``query``.

    Args:
        description: a valid description (canonical form preferred: raw table names).
        flavour: ``"datamodel"`` (pipeline_core.datamodel) or ``"datajoint"``.
    Returns:
        the source text (ends with a newline).
    Raises:
        ValueError: an unknown flavour.
    """
    if flavour not in FLAVOURS:
        raise ValueError(f"unknown flavour {flavour!r}; use one of {', '.join(FLAVOURS)}")
    return _Writer(flavour).script(description)


class _Writer:
    """One script: the modules it needs, its statements, its nested-query variables."""

    def __init__(self, flavour: str):
        self.dj = flavour == "datajoint"
        self.lib = "dj" if self.dj else "dm"
        self.modules: dict[str, str] = {}  # schema -> variable
        self.lines: list[str] = []
        self.count = 0

    # --- the script ---------------------------------------------------------------------------
    def script(self, d: dict) -> str:
        self.query(d, "query")
        order = [order_item(o["attribute"], bool(o.get("descending"))) for o in d.get("order", [])]
        arguments = f"order_by={[*order, 'KEY']!r}"
        if d.get("limit") is not None:
            arguments += f", limit={int(d['limit'])}"
        head = (
            ["import datajoint as dj", ""]
            if self.dj
            else [
                "from pipeline_core import datamodel as dm",
                "",
                "# host, user and password from dm.config (or: dm.conn(host, user, password))",
                "connection = dm.conn()",
            ]
        )
        connect = "" if self.dj else ", connection=connection"
        modules = [
            f"{var} = {self.lib}.VirtualModule({schema!r}, {schema!r}{connect})"
            for schema, var in self.modules.items()
        ]
        tail = [f"rows = query.to_dicts({arguments})"]
        if d.get("after"):
            tail.insert(0, "# (from the first row: the page's cursor `after` is not applied)")
        return "\n".join([*head, *modules, "", *self.lines, *tail]) + "\n"

    def variable(self) -> str:
        self.count += 1
        return f"q{self.count}"

    def module(self, schema: str) -> str:
        if schema not in self.modules:
            name = re.sub(r"\W", "_", schema, flags=re.ASCII)
            if not name or name[0].isdigit() or name in _RESERVED or re.fullmatch(r"q\d+", name):
                name = "schema_" + name
            if keyword.iskeyword(name):
                name += "_"
            while name in self.modules.values():
                name += "_"
            self.modules[schema] = name
        return self.modules[schema]

    # --- queries ----------------------------------------------------------------------------
    def source(self, d: dict) -> str:
        """An expression for a source: a table class, or a variable holding a nested query."""
        if "from" in d:
            return self.query(d, self.variable())
        return self.table(d["schema"], d["table"])

    def table(self, schema: str, name: str) -> str:
        if _CLASS.fullmatch(name):
            return f"{self.module(schema)}.{name}"
        if tier_of(name) is None:  # not a DataJoint table name: no class in a virtual module
            conn = "dj.conn()" if self.dj else "connection"
            full = TableRef.label(schema, name)  # backquotes inside doubled
            return f"{self.lib}.FreeTable({conn}, {full!r})"
        master = master_of(name)
        cls = table_to_class_name(name)
        if master:
            cls = f"{table_to_class_name(master)}.{cls}"
        return f"{self.module(schema)}.{cls}"

    def query(self, d: dict, var: str) -> str:
        """Statements building query ``d`` into ``var``; returns ``var``."""
        operands = [self.source(d["from"])] + [self.source(j) for j in d.get("join", [])]
        first = operands[0] if len(operands) == 1 else " * ".join(operands)
        self.lines.append(f"{var} = {first}")
        if "where" in d:
            self.restrict(var, d["where"])
        if "proj" in d:
            self.lines.append(f"{var} = {var}.proj({self.proj_arguments(d['proj'])})")
        if "aggr" in d:
            a = d["aggr"]
            over = self.source(a["over"])
            keep = list(map(repr, a.get("keep", [])))
            args = [over] if self.dj else [over, *keep]
            if a.get("exclude_nonmatching"):
                args.append("exclude_nonmatching=True")
            args += self.named({n: self.aggregate(s) for n, s in a["compute"].items()})
            aggregated = f"{var}.aggr({', '.join(args)})"
            if self.dj and keep:  # datajoint groups by the key only: join the kept ones back
                aggregated = f"{var}.proj({', '.join(keep)}) * {aggregated}"
            self.lines.append(f"{var} = {aggregated}")
        if "group" in d:
            g = d["group"]
            by = ", ".join(map(repr, g.get("by", [])))
            compute = {n: self.aggregate(s) for n, s in g.get("compute", {}).items()}
            if compute:
                args = ", ".join([var, *self.named(compute)])
                self.lines.append(f"{var} = {self.lib}.U({by}).aggr({args})")
            else:
                self.lines.append(f"{var} = {self.lib}.U({by}) & {var}")
        for item in d.get("union", []):
            other = self.source(item)
            self.lines.append(f"{var} = {var} + {other}")
        return var

    def restrict(self, var: str, condition: dict) -> None:
        """``var & ...`` per term of a top-level AND; ``var - source`` for an antijoin."""
        terms = condition.get("and", [condition])
        for term in terms:
            negated = term.get("not") if isinstance(term.get("not"), dict) else None
            if negated is not None and "matching" in negated:
                self.lines.append(f"{var} = {var} - {self.source(negated['matching'])}")
            else:
                self.lines.append(f"{var} = {var} & {self.condition(term)}")

    def condition(self, c: dict) -> str:
        if "and" in c:
            return f"{self.lib}.AndList([{', '.join(self.condition(x) for x in c['and'])}])"
        if "or" in c:
            return f"[{', '.join(self.condition(x) for x in c['or'])}]"
        if "not" in c:
            return f"{self.lib}.Not({self.condition(c['not'])})"
        if "matching" in c:
            return self.source(c["matching"])
        attribute, op = c["attribute"], c["operator"]
        if not self.dj:
            value = "" if "value" not in c else f", {c['value']!r}"
            return f"dm.Comparison({attribute!r}, {op!r}{value})"
        if op == "=":
            return repr({attribute: c["value"]})
        return repr(dj_text.comparison(attribute, op, c.get("value")))

    # --- projections and aggregates -----------------------------------------------------------
    def proj_arguments(self, p: dict) -> str:
        args = list(map(repr, p.get("keep", [])))
        named = {new: repr(old) for new, old in p.get("rename", {}).items()}
        for new, spec in p.get("compute", {}).items():
            if self.dj:
                named[new] = repr(dj_text.computation(spec))
            else:
                named[new] = f"dm.Computation{_computation(spec)}"
        return ", ".join(args + self.named(named))

    @staticmethod
    def named(items: dict[str, str]) -> list[str]:
        """Keyword arguments ``name=value``; a name that is a Python keyword as ``**{...}``."""
        plain = [f"{n}={v}" for n, v in items.items() if not keyword.iskeyword(n)]
        odd = [f"{n!r}: {v}" for n, v in items.items() if keyword.iskeyword(n)]
        return plain + ([f"**{{{', '.join(odd)}}}"] if odd else [])

    def aggregate(self, spec: dict) -> str:
        function, attribute = spec["function"], spec.get("attribute")
        distinct = bool(spec.get("distinct"))
        if self.dj:
            return repr(dj_text.aggregate(function, attribute, distinct))
        args = [repr(function)] + ([repr(attribute)] if attribute is not None else [])
        if distinct:
            args.append("distinct=True")
        return f"dm.Aggregate({', '.join(args)})"


def _computation(spec: dict) -> str:
    """``(function, (args...))`` of a :class:`~..condition.Computation` as Python source."""
    args = []
    for arg in spec["args"]:
        if "function" in arg:
            args.append(f"dm.Computation{_computation(arg)}")
        elif "attribute" in arg:
            args.append(repr(arg["attribute"]))
        else:
            args.append(repr(arg["value"]))
    return f"({spec['function']!r}, ({', '.join(args)}{',' if len(args) == 1 else ''}))"
