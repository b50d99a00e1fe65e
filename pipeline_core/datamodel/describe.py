"""describe(): regenerate a table's definition from introspection (spec §3.3, §3.4).

Pure: takes a :class:`TableInfo` and a function naming parent tables, returns the text.
The layout follows DataJoint's: ``-> Parent`` lines where their columns first appear,
renamed FKs as ``.proj(new="old")``, ``[nullable]``/``[unique]`` options, attributes as
``name[=default] : type  # comment``, then the indexes no foreign key consumed.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from .heading import TableInfo
from .names import table_to_class_name
from .tableref import TableRef


def describe_table(info: TableInfo, class_name_of: Callable[[TableRef], str]) -> str:
    """The definition text of a table.

    Args:
        info: the introspected table.
        class_name_of: maps a parent table to the name to write after ``->``.
    Returns:
        definition text, one line per item, ending with a newline.
    """
    indexes = {index.columns: index for index in info.indexes}
    lines = [f"# {info.comment}"] if info.comment else []
    in_key, seen = True, set()
    for attr in info.heading:
        if in_key and not attr.in_key:
            lines.append("---")
            in_key = False
        seen.add(attr.name)
        from_fk = False
        for fk in info.foreign_keys:
            if attr.name not in fk.columns:
                continue
            from_fk = True
            if not seen.issuperset(fk.columns) or attr.name != _last_seen(fk.columns, info):
                continue
            options = ["nullable"] if fk.nullable else []
            index = indexes.pop(fk.columns, None)
            if index is not None and index.unique:
                options.append("unique")
            text = (
                "->"
                + (f" [{', '.join(options)}]" if options else "")
                + " "
                + class_name_of(fk.parent)
            )
            if fk.aliased:
                text += ".proj(" + ",".join(f'{c}="{p}"' for c, p in fk.attr_map if c != p) + ")"
            lines.append(text)
        if not from_fk:
            name = (
                attr.name if attr.default_text() is None else f"{attr.name}={attr.default_text()}"
            )
            declared = attr.type + (" auto_increment" if attr.autoincrement else "")
            comment = f"# {attr.comment}" if attr.comment else ""
            lines.append(f"{name:<20} : {declared:<28} {comment}")
    for columns, index in indexes.items():
        lines.append(f"{'UNIQUE ' if index.unique else ''}INDEX ({', '.join(columns)})")
    return "\n".join(lines) + "\n"


def _last_seen(columns: tuple[str, ...], info: TableInfo) -> str:
    """The FK column that comes last in heading order (where the ``->`` line goes)."""
    order = {name: i for i, name in enumerate(info.heading.names)}
    return max(columns, key=lambda c: order.get(c, -1))


def class_namer(database: str, context: dict | None) -> Callable[[TableRef], str]:
    """A ``class_name_of`` for :func:`describe_table`: the dotted name of the class found in
    ``context`` (classes, their parts, and modules one level deep), else the class name
    derived from the table name for tables of ``database``, else the full table name."""
    found: dict[TableRef, str] = {}
    for name, member in (context or {}).items():
        if name.startswith("_"):
            continue
        if inspect.ismodule(member) or type(member).__name__ in (
            "SimpleNamespace",
            "VirtualModule",
        ):
            for sub, cls in vars(member).items():
                _register(found, f"{name}.{sub}", cls)
        else:
            _register(found, name, member)

    def name_of(ref: TableRef) -> str:
        if ref in found:
            return found[ref]
        if ref.database == database:
            if ref.master is not None:
                return f"{table_to_class_name(ref.master.table)}.{table_to_class_name(ref.table)}"
            return table_to_class_name(ref.table)
        return ref.full_name

    return name_of


def _register(found: dict, dotted: str, cls) -> None:
    if not inspect.isclass(cls) or not hasattr(cls, "_compute_table_name"):
        return
    try:
        found.setdefault(TableRef(cls.database, cls._compute_table_name()), dotted)
    except Exception:  # an undeclared class (no schema yet) has no table name
        return
    for sub, part in vars(cls).items():
        if inspect.isclass(part) and hasattr(part, "_master_") and part is not cls:
            _register(found, f"{dotted}.{sub}", part)
