"""Checking ``update1`` calls before anything is written (spec §8.2), the way
:mod:`.batch_check` checks new rows: the whole primary key of an existing row, secondary
attributes only, values that fit their attributes (:func:`.values.encode_for_write`, the
rules ``update1`` applies), foreign keys naming parent rows. Every problem by row and
attribute, list ``"updates"``."""

from __future__ import annotations

import json

from .batch_check import Problem, Update, is_blank, key_of, keys_present, shown_key
from .errors import DataJointError
from .heading import TableInfo
from .values import encode_for_write


def check_updates(conn, info: TableInfo, updates: list[Update]) -> list[Problem]:
    """Check ``update1`` calls (spec §8.2): the whole primary key of an existing row,
    secondary attributes only, values that fit, foreign keys naming parent rows.

    Returns:
        the problems, list ``"updates"`` (empty when all would be accepted).
    """
    from .catalog import catalog_of

    problems: list[Problem] = []
    heading, key_names = info.heading, info.heading.primary_key
    name = info.full_name
    existing: list[tuple[int, dict]] = []
    for i, update in enumerate(updates):
        unknown = [n for n in [*update.key, *update.set] if n not in heading]
        missing = [n for n in key_names if is_blank(update.key.get(n))]
        problems.extend(
            Problem("updates", i, name, n, f"{name}: `{n}` is not in the table heading")
            for n in unknown
        )
        problems.extend(
            Problem(
                "updates",
                i,
                name,
                n,
                f"{name}: update1 needs the whole primary key (missing `{n}`)",
            )
            for n in missing
        )
        problems.extend(
            Problem(
                "updates",
                i,
                name,
                n,
                f"{name}: `{n}` is a primary-key attribute; update1 changes secondary "
                "attributes only (delete and insert the row instead)",
            )
            for n in update.set
            if n in key_names
        )
        if unknown or missing:
            continue
        try:
            key = {n: encode_for_write(heading[n], update.key[n], name) for n in key_names}
        except DataJointError as exc:
            problems.append(Problem("updates", i, name, exc.attribute, str(exc)))
            continue
        existing.append((i, key))
        for n, value in update.set.items():
            if n in key_names:
                continue
            attr = heading[n]
            if value is None or attr.store is not None:
                if value is None and not attr.nullable and attr.default is None:
                    problems.append(Problem("updates", i, name, n, f"{name}: `{n}` cannot be NULL"))
                continue
            try:
                if attr.is_json and isinstance(value, str):
                    value = json.loads(value)
                encode_for_write(attr, value, name)
            except ValueError as exc:
                problems.append(
                    Problem("updates", i, name, n, f"{name}: invalid JSON for `{n}`: {exc}")
                )
            except DataJointError as exc:
                problems.append(Problem("updates", i, name, n, str(exc)))
    if existing:
        present = keys_present(conn, info, key_names, [k for _, k in existing])
        for i, key in existing:
            if key_of(heading, key_names, key) not in present:
                problems.append(
                    Problem(
                        "updates",
                        i,
                        name,
                        None,
                        f"{name}: update1 applies to one existing row; no row with "
                        f"{shown_key(key_names, updates[i].key)}",
                    )
                )
    problems.extend(_update_parents(conn, info, updates, catalog_of(conn)))
    return sorted(problems, key=lambda p: p.row)


def _update_parents(conn, info: TableInfo, updates: list[Update], catalog) -> list[Problem]:
    """Foreign keys among the secondary attributes an update sets must name parent rows."""
    problems = []
    for i, update in enumerate(updates):
        row = {**update.key, **update.set}
        for fk in info.foreign_keys:
            child = list(fk.columns)
            if not any(c in update.set for c in child) or any(row.get(c) is None for c in child):
                continue
            parent = catalog.table(fk.parent.database, fk.parent.table)
            try:
                key = {
                    p: encode_for_write(info.heading[c], row[c], info.full_name)
                    for c, p in fk.attr_map
                }
            except DataJointError:
                continue  # reported by the value check
            if not keys_present(conn, parent, list(key), [key]):
                problems.append(
                    Problem(
                        "updates",
                        i,
                        info.full_name,
                        child[0] if len(child) == 1 else None,
                        f"{info.full_name}: no parent row in {parent.class_name} "
                        f"({parent.full_name}) with {shown_key(child, row)}",
                    )
                )
    return problems
