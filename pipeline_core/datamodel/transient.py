"""Transient database errors and the retry policy of populate (issue #13).

A **transient** error is one that a second attempt of the same ``make`` may well not meet:
the connection to the server was lost (the server restarted, a network blip, the
connection was killed), InnoDB chose the transaction as a deadlock victim, or a lock wait
timed out. Every other error (a bug in ``make``, bad data, a duplicate key, a missing
table, a statement time limit) would happen again and waits for a person.

:func:`transient_reason` classifies an exception by the MySQL/MariaDB error numbers of the
driver's exceptions (PyMySQL, which the data model uses, and mysqlclient's ``MySQLdb``),
looking through ``__cause__`` and ``__context__`` so that an error translated by the
connection (:mod:`.errors`) or wrapped by ``make`` code still classifies.
:class:`RetryPolicy` says how often and how long to wait (exponential back-off with
jitter, capped). Pure: no SQL, no I/O.
"""

from __future__ import annotations

import dataclasses
import random

import pymysql

from .errors import LostConnectionError

#: Reasons, as recorded in job messages and audit events.
LOST_CONNECTION = "lost connection"
DEADLOCK = "deadlock"
LOCK_WAIT_TIMEOUT = "lock wait timeout"

#: MySQL/MariaDB error number -> reason. 2006 server has gone away, 2013 lost connection
#: during query (what MariaDB 10.11's KILL gives the killed client, idle, sleeping or
#: waiting for a lock), 2055 lost connection (system error), 1927 connection killed
#: (MariaDB), 4031 disconnected for inactivity (MySQL 8), 0 PyMySQL's "connection already
#: closed" (a query on a link lost before); 1213 deadlock, 1205 lock wait timeout.
TRANSIENT_ERRNOS: dict[int, str] = {
    2006: LOST_CONNECTION,
    2013: LOST_CONNECTION,
    2055: LOST_CONNECTION,
    1927: LOST_CONNECTION,
    4031: LOST_CONNECTION,
    0: LOST_CONNECTION,
    1213: DEADLOCK,
    1205: LOCK_WAIT_TIMEOUT,
}

#: Exceptions followed through ``__cause__``/``__context__`` at most this deep.
_MAX_DEPTH = 16


def _driver_errors() -> tuple[type[BaseException], ...]:
    """The base exception classes of the MySQL drivers present (PyMySQL always)."""
    classes: list[type[BaseException]] = [pymysql.MySQLError]
    try:
        import MySQLdb  # mysqlclient: Django's driver; make() code may use it too
    except ImportError:  # pragma: no cover - installed with LabBook
        pass
    else:
        classes.append(MySQLdb.MySQLError)
    return tuple(classes)


def _errno(exc: BaseException) -> int | None:
    """The server/client error number of a driver exception (``args[0]``), else None."""
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], int) and not isinstance(args[0], bool):
        return args[0]
    return None


def transient_reason(exc: BaseException | None) -> str | None:
    """Why ``exc`` is transient (:data:`LOST_CONNECTION`, :data:`DEADLOCK` or
    :data:`LOCK_WAIT_TIMEOUT`), or None when it is not.

    ``exc`` and the exceptions it was raised from or while handling (``__cause__``, then
    ``__context__``, up to 16 deep) are looked at: a MySQL driver exception (PyMySQL or
    mysqlclient) whose error number is in :data:`TRANSIENT_ERRNOS`, or the data model's
    :class:`~.errors.LostConnectionError`, makes it transient. ``SystemExit``,
    ``KeyboardInterrupt`` and ``GeneratorExit`` never are.
    """
    drivers = _driver_errors()
    seen: set[int] = set()
    todo = [exc]
    while todo and len(seen) < _MAX_DEPTH:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (SystemExit, KeyboardInterrupt, GeneratorExit)):
            return None
        if isinstance(current, drivers):
            reason = TRANSIENT_ERRNOS.get(_errno(current))
            if reason is not None:
                return reason
        elif isinstance(current, LostConnectionError):
            return LOST_CONNECTION
        todo += [current.__cause__, current.__context__]
    return None


def is_transient(exc: BaseException | None) -> bool:
    """True when :func:`transient_reason` finds a reason."""
    return transient_reason(exc) is not None


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How populate retries a key whose ``make`` failed with a transient error.

    Attributes:
        retries: retries of one key after transient failures (``0``: none); the failure
            after the last retry makes the job ``error`` ("retries exhausted"). LabBook:
            ``LABBOOK_TRANSIENT_RETRIES``.
        backoff: seconds before the first retry; each further retry waits twice as long
            (LabBook: ``LABBOOK_RETRY_BACKOFF``).
        max_delay: the longest wait, seconds.
        database: the database (LabBook's audit database) whose ``transient_attempt``
            table counts the transient failures of each job key, so that the limit holds
            across worker processes; None: the connection's audit trail's database, or,
            without one, a count kept by the populate call alone.

    Raises:
        ValueError: a negative number of retries or seconds.
    """

    retries: int = 3
    backoff: float = 1.0
    max_delay: float = 60.0
    database: str | None = None

    def __post_init__(self):
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise ValueError(f"retries must be an integer of 0 or more, not {self.retries!r}")
        if not self.backoff >= 0 or not self.max_delay >= 0:
            raise ValueError("backoff and max_delay must be 0 or more seconds")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1 for the first): half of
        ``min(max_delay, backoff * 2 ** (attempt - 1))`` plus a random part of the other
        half ("equal jitter": workers failing together do not retry together)."""
        ceiling = min(self.max_delay, self.backoff * 2.0 ** max(0, attempt - 1))
        return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


#: No retries: every error is final (DataJoint 2.3.5's behaviour).
NO_RETRY = RetryPolicy(retries=0)
