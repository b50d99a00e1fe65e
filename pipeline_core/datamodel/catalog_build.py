"""Building :class:`~.heading.TableInfo` values from the rows of the batched
information_schema queries (:mod:`.sql.introspection`; spec §14 checklist): rows grouped
per table (:class:`RawTables`), then one TableInfo per table (:func:`build_table`).
Pure functions of the rows; no SQL, no state."""

from __future__ import annotations

import collections
import re
from collections.abc import Callable

from .errors import DataJointError
from .heading import Attribute, ForeignKey, Heading, Index, TableInfo
from .tableref import TableRef
from .types import parse_comment, strip_display_width

#: 0.14 markers (spec §11) -> (codec, needs store).
_LEGACY_CODECS = re.compile(r"(blob|attach|filepath)(@([A-Za-z0-9_\-]+))?")
_CODEC_MARKER = re.compile(r"<([A-Za-z][A-Za-z0-9_]*)(@([A-Za-z0-9_\-]*))?>")


class RawTables:
    """information_schema rows grouped per table."""

    def __init__(self, table_rows, column_rows, key_rows, index_rows):
        self.skipped: list[str] = []  # tables and foreign keys whose names are not identifiers
        self.tables: dict[TableRef, dict] = {}
        by_name: dict[tuple[str, str], dict] = {}  # the same entries, for the rows below
        for row in table_rows:
            try:
                ref = TableRef(row["database"], row["table_name"])
            except DataJointError:  # a name no DataJoint table has (spaces, dots): not listed
                self.skipped.append(f"{row['database']}.{row['table_name']}")
                continue
            self.tables[ref] = by_name[(ref.database, ref.table)] = dict(
                row, columns=[], primary=[], fk_rows=collections.defaultdict(list), indexes={}
            )
        for row in column_rows:
            entry = by_name.get((row["database"], row["table_name"]))
            if entry is not None:
                entry["columns"].append(row)
        for row in key_rows:
            entry = by_name.get((row["database"], row["table_name"]))
            if entry is None:
                continue
            if row["constraint_name"] == "PRIMARY":
                entry["primary"].append(row["column_name"])
            elif not row["ref_table"].startswith("~"):
                entry["fk_rows"][row["constraint_name"]].append(row)
        for row in index_rows:
            entry = by_name.get((row["database"], row["table_name"]))
            if entry is not None and row["column_name"] is not None:
                index = entry["indexes"].setdefault(row["index_name"], [not row["non_unique"], []])
                index[1].append(row["column_name"])

    def foreign_keys(self, ref: TableRef) -> tuple[ForeignKey, ...]:
        entry = self.tables[ref]
        nullable = {c["name"]: bool(c["nullable"]) for c in entry["columns"]}
        unique_sets = {tuple(cols) for is_unique, cols in entry["indexes"].values() if is_unique}
        fks = []
        for _, rows in sorted(entry["fk_rows"].items(), key=lambda kv: _fk_order(kv[0])):
            try:
                parent = TableRef(rows[0]["ref_database"], rows[0]["ref_table"])
            except DataJointError:  # references a table not listed (see __init__)
                self.skipped.append(f"foreign key of {ref} to {rows[0]['ref_table']!r}")
                continue
            attr_map = tuple((r["column_name"], r["ref_column"]) for r in rows)
            columns = tuple(c for c, _ in attr_map)
            fks.append(
                ForeignKey(
                    child=ref,
                    parent=parent,
                    attr_map=attr_map,
                    primary=all(c in entry["primary"] for c in columns),
                    nullable=any(nullable.get(c, False) for c in columns),
                    unique=columns in unique_sets,
                )
            )
        return tuple(fks)


def _fk_order(constraint_name: str) -> tuple[int, str]:
    """Order FKs by the server's ``_ibfk_<n>`` number (declaration order), then name."""
    match = re.search(r"_ibfk_(\d+)$", constraint_name)
    return (int(match.group(1)) if match else 1 << 30, constraint_name)


def _parse_default(text: str | None, nullable: bool) -> tuple[str | None, bool]:
    """Interpret COLUMN_DEFAULT (MariaDB quotes literals and says ``NULL``, spec §12.5)."""
    if text is None or (nullable and text.upper() == "NULL"):
        return None, False
    if len(text) >= 2 and text[0] == "'" and text[-1] == "'":
        return text[1:-1].replace("''", "'").replace("\\\\", "\\"), False
    if re.fullmatch(r"-?[0-9.eE+\-]+", text):
        return text, False
    if re.fullmatch(r"(?i)current_timestamp(\(\d*\))?", text):
        return text.lower() if text.endswith(")") else "current_timestamp()", True
    return text, False


def build_table(
    info: dict, lineages: dict, origin_type: Callable[[TableRef, str], str | None]
) -> TableInfo:
    """The TableInfo of one table from its :class:`RawTables` entry (with ``foreign_keys``
    and ``legacy`` set), the database's ``~lineage`` rows and ``origin_type(parent,
    column)``: the declared type of a parent's column (foreign-key attributes without a
    type marker inherit it, spec §2.1), or None."""
    database, table = info["database"], info["table_name"]
    fk_origin = {
        child: (fk.parent, parent) for fk in info["foreign_keys"] for child, parent in fk.attr_map
    }
    attributes = []
    for col in info["columns"]:
        if col["name"].startswith("_"):
            continue
        marker, comment = parse_comment(col["comment"])
        sql_type = col["sql_type"]
        default, is_expr = _parse_default(col["default"], bool(col["nullable"]))
        codec = store = None
        is_blob = False
        declared = marker
        if marker and marker.startswith("<"):
            match = _CODEC_MARKER.fullmatch(marker)
            if match:
                codec, store = match.group(1), match.group(3) if match.group(2) else None
                is_blob = codec == "blob" and store is None
        elif marker and info["legacy"] and _LEGACY_CODECS.fullmatch(marker):
            match = _LEGACY_CODECS.fullmatch(marker)
            codec, store = match.group(1), match.group(3)
            is_blob = codec == "blob" and store is None
            declared = f"<{marker}>"
        if declared is None and col["name"] in fk_origin:
            parent, parent_column = fk_origin[col["name"]]
            declared = origin_type(parent, parent_column)
        if declared is None:
            declared = strip_display_width(sql_type)
            if info["legacy"] and "blob" in sql_type.lower():
                is_blob = True
        attributes.append(
            Attribute(
                name=col["name"],
                type=declared,
                sql_type=sql_type,
                in_key=col["name"] in info["primary"],
                nullable=bool(col["nullable"]),
                default=default,
                default_is_expression=is_expr,
                comment=comment,
                codec=codec,
                store=store,
                is_blob=is_blob,
                lineage=lineages.get((database, table, col["name"])),
                autoincrement="auto_increment" in (col["extra"] or "").lower(),
                database=database,
            )
        )
    # primary key order is the PRIMARY constraint's order, which may differ from columns
    order = {name: i for i, name in enumerate(info["primary"])}
    attributes.sort(key=lambda a: (0, order[a.name]) if a.in_key else (1, 0))
    indexes = tuple(Index(tuple(cols), bool(unique)) for unique, cols in info["indexes"].values())
    return TableInfo(
        database,
        table,
        info["comment"] or "",
        Heading(attributes),
        info["foreign_keys"],
        indexes,
        int(info["row_estimate"] or 0),
        info["legacy"],
    )
