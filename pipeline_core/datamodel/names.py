"""Table names, tiers and master/part relations encoded in table names (spec §1.1–1.4).

Pure functions; no SQL, no Django.
"""

from __future__ import annotations

import functools
import re

from .errors import DataJointError

#: Base pattern of a table name without tier prefix (spec §1.2).
_BASE = r"[a-z][a-z0-9]*(?:_[a-z][a-z0-9]*)*"

#: Tier name -> full-string pattern of a table name of that tier, in DataJoint's
#: detection order (Manual, Lookup, Computed, Imported, Part; spec §1.2).
TIER_PATTERNS: dict[str, re.Pattern] = {
    "Manual": re.compile(rf"{_BASE}"),
    "Lookup": re.compile(rf"#{_BASE}"),
    "Computed": re.compile(rf"__{_BASE}"),
    "Imported": re.compile(rf"_{_BASE}"),
    "Part": re.compile(rf"(?:#|__|_)?{_BASE}(?:__{_BASE})+"),
}

#: Tier name -> table-name prefix (spec §1.2).
TIER_PREFIXES = {"Manual": "", "Lookup": "#", "Imported": "_", "Computed": "__"}

MAX_TABLE_NAME_LENGTH = 64
_CLASS_NAME = re.compile(r"[A-Z][A-Za-z0-9]*")


@functools.lru_cache(maxsize=1024)
def class_to_table_base(class_name: str) -> str:
    """Convert a CamelCase class name to DataJoint's table base name (spec §1.1).

    ``Session`` -> ``session``, ``HTTPRequest`` -> ``h_t_t_p_request``,
    ``Trial3D`` -> ``trial3_d``. Underscores in the class name are removed first.

    Raises:
        DataJointError: the name is not CamelCase (must start with an upper-case letter).
    """
    name = class_name.replace("_", "")
    if not _CLASS_NAME.fullmatch(name):
        raise DataJointError(f"Class name {class_name!r} must be CamelCase, starting with A-Z")
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def table_to_class_name(table_name: str) -> str:
    """Convert a table name (with or without tier prefix) to its class name (spec §1.1).

    Leading ``#``/``_`` are stripped; the first letter and each letter after ``_`` are
    capitalised. For a part table only the part's own name is converted
    (``session__trial`` -> ``Trial``).
    """
    part = table_name.rsplit("__", 1)[-1] if master_of(table_name) else table_name
    return re.sub(r"(?:^|_)([a-z])", lambda m: m.group(1).upper(), part.lstrip("#_"))


def tier_of(table_name: str) -> str | None:
    """Return the tier of a raw table name, or None for hidden (``~``) and unknown names.

    Detection order follows DataJoint (spec §1.2): Manual, Lookup, Computed, Imported, Part.
    """
    if table_name.startswith("~"):
        return None
    for tier, pattern in TIER_PATTERNS.items():
        if pattern.fullmatch(table_name):
            return tier
    return None


def master_of(table_name: str) -> str | None:
    """Return the master table name of a part table name, or None (spec §1.3).

    The master is everything before the last ``__``, provided it is non-empty and the
    name is a part name (``__processed__detail`` -> ``__processed``).
    """
    if tier_of(table_name) != "Part":
        return None
    master, _, _ = table_name.rpartition("__")
    return master or None


def jobs_table_name(table_name: str) -> str:
    """Name of the 2.x jobs table of an auto-populated table: ``~~`` + name without
    leading underscores (spec §1.4): ``__detection`` -> ``~~detection``."""
    return "~~" + table_name.lstrip("_")


def check_table_name_length(table_name: str) -> None:
    """Raise DataJointError if a table name exceeds MySQL's 64 characters (spec §1.1)."""
    if len(table_name) > MAX_TABLE_NAME_LENGTH:
        raise DataJointError(
            f"Table name `{table_name}` exceeds the max length of {MAX_TABLE_NAME_LENGTH}"
        )
