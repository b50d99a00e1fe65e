"""alter(): change a table's secondary attributes and comment to match a new definition
(spec §3.6). The primary key, foreign keys and indexes cannot change. A new attribute whose
comment starts with ``{old_name}`` renames ``old_name`` (the marker is not kept)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from .declare import ColumnPlan, TablePlan, plan_table
from .definition import parse_definition
from .errors import DefinitionError
from .heading import TableInfo

_RENAME = re.compile(r"^(:[^:]*:)?\{\s*([a-z_][a-z0-9_]*)\s*\}\s*")


@dataclasses.dataclass(frozen=True)
class AlterStep:
    """One change: ``op`` is ``drop``, ``add``, ``modify`` or ``change`` (rename);
    ``after`` names the column it follows (None: keep/append position)."""

    op: str
    column: ColumnPlan | None
    old_name: str | None = None
    after: str | None = None


def plan_alter(
    info: TableInfo,
    current_definition: str,
    new_definition: str,
    resolve: Callable[[str], TableInfo],
) -> tuple[list[AlterStep], str | None]:
    """Compare the current and new definitions of a table.

    Returns:
        ``(steps, comment)``: the column changes in order, and the new table comment if
        it changed (else None).
    Raises:
        DefinitionError: the new definition changes the primary key, foreign keys or
            indexes, renames an attribute twice or one that does not exist.
    """
    full = info.full_name
    old = plan_table(
        info.database, info.table_name, parse_definition(current_definition, full), resolve
    )
    new = plan_table(
        info.database, info.table_name, parse_definition(new_definition, full), resolve
    )
    for what, a, b in (
        ("primary key", _key_columns(old), _key_columns(new)),
        ("foreign keys", old.foreign_keys, new.foreign_keys),
        ("indexes", old.indexes, new.indexes),
    ):
        if a != b:
            raise DefinitionError(
                f"alter() cannot change the {what}; only secondary attributes "
                "and the table comment",
                table=full,
            )
    fk_columns = {c for fk in new.foreign_keys for c in fk.columns}
    old_columns = [c for c in old.columns if not c.in_key and c.name not in fk_columns]
    new_columns = [c for c in new.columns if not c.in_key and c.name not in fk_columns]
    renames: dict[str, str] = {}
    cleaned = []
    for column in new_columns:
        match = _RENAME.match(column.comment)
        old_names = {c.name for c in old_columns}
        if match and match.group(2) not in old_names and column.name in old_names:
            match = None  # renamed by an earlier alter(): the marker is stale
            column = dataclasses.replace(column, comment=_RENAME.sub(r"\1", column.comment))
        if match:
            source = match.group(2)
            if source in renames.values():
                raise DefinitionError(
                    f"alter attempted to rename attribute `{source}` twice", table=full
                )
            if source not in old_names:
                raise DefinitionError(
                    f"attribute `{source}` does not exist in the original definition",
                    table=full,
                    attribute=source,
                )
            renames[column.name] = source
            column = dataclasses.replace(
                column, comment=(match.group(1) or "") + column.comment[match.end() :]
            )
        cleaned.append(column)
    steps = [
        AlterStep("drop", None, c.name)
        for c in old_columns
        if c.name not in renames.values() and c.name not in {n.name for n in cleaned}
    ]
    old_by_name = {c.name: c for c in old_columns}
    previous = None
    for column in cleaned:
        source = renames.get(column.name, column.name)
        if source not in old_by_name:
            steps.append(AlterStep("add", column, after=previous))
        elif source != column.name:
            steps.append(AlterStep("change", column, source, after=previous))
        elif old_by_name[source] != column:
            steps.append(AlterStep("modify", column, after=previous))
        previous = column.name
    comment = new.comment if new.comment != old.comment else None
    return steps, comment


def _key_columns(plan: TablePlan) -> tuple[ColumnPlan, ...]:
    return tuple(c for c in plan.columns if c.in_key)
