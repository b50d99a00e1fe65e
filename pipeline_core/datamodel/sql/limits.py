"""Per-query time limits (MariaDB ``max_statement_time``, MySQL ``MAX_EXECUTION_TIME``)."""

from __future__ import annotations

import re

_SELECT = re.compile(r"\s*SELECT\b", re.I)


def with_time_limit(sql: str, seconds: float, mariadb: bool) -> str:
    """``sql`` (a SELECT) limited to ``seconds``: ``SET STATEMENT max_statement_time=s FOR
    SELECT ...`` on MariaDB, ``SELECT /*+ MAX_EXECUTION_TIME(ms) */ ...`` on MySQL.

    Raises:
        ValueError: ``seconds`` is not positive, or ``sql`` is not a SELECT.
    """
    seconds = float(seconds)
    if not seconds > 0:
        raise ValueError(f"a time limit must be positive, not {seconds}")
    if not _SELECT.match(sql):
        raise ValueError("only SELECT statements take a time limit")
    if mariadb:
        return f"SET STATEMENT max_statement_time={max(seconds, 0.001):.3f} FOR {sql.lstrip()}"
    return _SELECT.sub(
        f"SELECT /*+ MAX_EXECUTION_TIME({max(1, round(seconds * 1000))}) */", sql, count=1
    )
