"""Per-query time limits (MariaDB ``max_statement_time``, MySQL ``MAX_EXECUTION_TIME``), and
how long the server waits for a slow reader (``net_write_timeout``)."""

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


def session_write_timeout(seconds: int) -> tuple[str, list]:
    """``(sql, params)`` setting how long (whole seconds, 1 or more) the server waits for
    this session's client to read more of a result (``net_write_timeout``).

    Raises:
        ValueError: ``seconds`` is not a positive integer.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 1:
        raise ValueError(f"a write timeout must be a positive number of seconds, not {seconds!r}")
    return "SET SESSION net_write_timeout = %s", [seconds]
