"""SQL expressions over one column, for computed attributes (``proj(name=...)``) that code
outside the SQL layer needs: built from a validated, quoted identifier and integers only."""

from __future__ import annotations

from .quoting import quote


def prefix(column: str, length: int) -> str:
    """``SUBSTRING(`col`, 1, n)``: the first ``length`` bytes of a blob column."""
    return f"SUBSTRING({quote(column)}, 1, {int(length)})"


def byte_length(column: str) -> str:
    """``LENGTH(`col`)``: bytes stored in the column."""
    return f"LENGTH({quote(column)})"


def md5(column: str) -> str:
    """``MD5(`col`)``: hex digest of the stored value, computed by the server."""
    return f"MD5({quote(column)})"


def as_double(column: str) -> str:
    """```col` + 0``: a FLOAT column widened to DOUBLE, so the server sends it exactly."""
    return f"{quote(column)} + 0"
