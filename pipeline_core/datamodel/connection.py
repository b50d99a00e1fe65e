"""Connections to MySQL/MariaDB, transactions, and translation of server errors.

A :class:`Connection` wraps one PyMySQL connection with the session settings DataJoint
applies (spec §12.8), runs parameterised SQL built by the SQL layer, and translates
server errors into the :mod:`~pipeline_core.datamodel.errors` hierarchy, once, here.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pymysql

from . import errors
from .hostport import HostPortError, format_host_port, parse_host_port
from .settings import config
from .sql.limits import session_write_timeout, with_time_limit
from .stores.config import StoreConfig

#: sql_mode DataJoint sets on connect (spec §12.8).
SQL_MODE = (
    "NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,STRICT_ALL_TABLES,"
    "NO_ENGINE_SUBSTITUTION,ONLY_FULL_GROUP_BY"
)

#: MySQL error number -> error class (spec §8.1).
_ERRNO_CLASSES: dict[int, type[errors.DataJointError]] = {
    1062: errors.DuplicateError,
    1451: errors.IntegrityError,
    1452: errors.IntegrityError,
    1217: errors.IntegrityError,
    3730: errors.IntegrityError,
    1364: errors.MissingAttributeError,
    1048: errors.MissingAttributeError,
    1054: errors.UnknownAttributeError,
    1146: errors.MissingTableError,
    1044: errors.AccessError,
    1142: errors.AccessError,
    1143: errors.AccessError,
    1064: errors.QuerySyntaxError,
    1292: errors.InvalidValueError,
    1264: errors.InvalidValueError,
    1265: errors.InvalidValueError,
    1366: errors.InvalidValueError,
    1406: errors.InvalidValueError,
    4025: errors.InvalidValueError,
    1969: errors.QueryTimeoutError,
    3024: errors.QueryTimeoutError,
    2002: errors.LostConnectionError,  # cannot connect through the socket
    2003: errors.LostConnectionError,  # cannot connect (refused, timed out)
    2005: errors.LostConnectionError,  # unknown server host
    2006: errors.LostConnectionError,
    2013: errors.LostConnectionError,
    0: errors.LostConnectionError,
}

_COLUMN_IN_MESSAGE = re.compile(r"(?:column|Field) '([^']+)'|FOREIGN KEY \(`([^`]+)`")


def translate_error(exc: pymysql.MySQLError, table: str | None = None) -> errors.DataJointError:
    """Translate a PyMySQL error into a DataJointError naming the table and attribute.

    Args:
        exc: the driver's exception; ``exc.args`` is ``(errno, message)``.
        table: full name of the table the statement concerned, if one.
    Returns:
        An instance of the class mapped from the MySQL errno (spec §8.1), or
        DataJointError for unmapped numbers.
    """
    errno = exc.args[0] if exc.args and isinstance(exc.args[0], int) else -1
    message = exc.args[1] if len(exc.args) > 1 else str(exc)
    match = _COLUMN_IN_MESSAGE.search(message)
    attribute = (match.group(1) or match.group(2)) if match else None
    cls = _ERRNO_CLASSES.get(errno, errors.DataJointError)
    prefix = f"{table}: " if table else ""
    if cls is errors.DuplicateError:
        message += ". To ignore duplicate entries in insert, set skip_duplicates=True"
    if errno == 1153:
        message += (
            " (the statement is larger than the server's max_allowed_packet: raise it, "
            "e.g. to 1G as DataJoint setups do, or keep large values in a store, <blob@store>)"
        )
    if cls is errors.QueryTimeoutError:
        message = "the query exceeded its time limit and was stopped by the server: " + message
    return cls(prefix + message, table=table, attribute=attribute)


class Connection:
    """One connection to a MySQL/MariaDB server, with DataJoint's session settings.

    Args:
        host: server host name or address, optionally with a port: ``db``, ``db:3307``,
            ``127.0.0.1:3307``, ``[::1]:3307``, bare ``::1`` (:mod:`.hostport`).
        user, password: credentials.
        port: TCP port (default 3306; a port in ``host`` wins, as in DataJoint).
        connect_timeout: seconds.
        stores: the object stores values may be kept in, as DataJoint's ``stores``
            setting (spec §5.1); available as :attr:`stores` (a ``StoreConfig``).

    The connection is in autocommit mode; :meth:`transaction` opens
    ``START TRANSACTION WITH CONSISTENT SNAPSHOT`` (spec §12.8). Not thread-safe: use
    one connection per thread.

    Raises:
        DataJointError: ``host`` or ``port`` is malformed (the parser's message).
        LostConnectionError / AccessError: the server cannot be reached or refuses.
        StoreError: ``stores`` is not a valid store configuration.
    """

    def __init__(
        self,
        host: str,
        user: str,
        password: str = "",
        port: int = 3306,
        connect_timeout: int = 10,
        stores: Mapping[str, Any] | None = None,
    ):
        try:
            self.host, self.port = parse_host_port(host, port)
        except HostPortError as exc:
            raise errors.DataJointError(f"cannot connect: {exc}") from None
        self.user = user
        self._password = password
        self._connect_timeout = connect_timeout
        self._in_transaction = False
        self._on_rollback: list[Callable[[], Any]] = []
        self._is_mariadb: bool | None = None
        self.stores = StoreConfig(stores)
        self._conn = self._open()
        self.catalog = None  # set on first use (catalog.py), or by the services (shared)
        self.make_tables: frozenset = frozenset()  # TableRefs of the tables whose make() runs
        self.audit = None  # an audit.AuditTrail recording this connection's writes, or None
        self.prepared: set[str] = set()  # one-time set-ups done on this connection
        #: Called with the SQL text and parameters of every statement :meth:`query` sends
        #: (tests count statements with it), or None.
        self.on_query: Callable[[str, Any], Any] | None = None

    def _open(self) -> pymysql.connections.Connection:
        try:
            return pymysql.connect(
                host=self.host,
                port=self.port,
                user=self.user,
                password=self._password,
                charset="utf8mb4",
                autocommit=True,
                connect_timeout=self._connect_timeout,
                init_command=f"SET SESSION sql_mode='{SQL_MODE}'",
            )
        except pymysql.MySQLError as exc:
            error = translate_error(exc)
            if isinstance(error, errors.LostConnectionError):
                where = format_host_port(self.host, self.port)
                error = errors.LostConnectionError(
                    f"cannot connect to the database server {where}: {error}"
                )
            raise error from exc

    def __repr__(self) -> str:
        return f"Connection({self.user}@{format_host_port(self.host, self.port)})"

    @property
    def in_transaction(self) -> bool:
        """True between :meth:`start_transaction` and commit/rollback."""
        return self._in_transaction

    @property
    def is_mariadb(self) -> bool:
        """True when the server is MariaDB (read once from ``VERSION()``)."""
        if self._is_mariadb is None:
            self._is_mariadb = (
                "mariadb" in str(self.query("SELECT VERSION()").fetchone()[0]).lower()
            )
        return self._is_mariadb

    def query(
        self,
        sql: str,
        params: Sequence[Any] | dict | None = None,
        *,
        table: str | None = None,
        as_dict: bool = False,
        timeout: float | None = None,
    ) -> pymysql.cursors.Cursor:
        """Execute one statement with driver parameters and return its cursor.

        Args:
            sql: SQL text built by the SQL layer; values only as ``%s`` placeholders.
            params: values for the placeholders.
            table: full table name, named in translated errors.
            as_dict: return a DictCursor (rows as dicts) instead of tuples.
            timeout: seconds a SELECT may run (MariaDB ``max_statement_time``, MySQL
                ``MAX_EXECUTION_TIME``); None: the server's default.
        Raises:
            QueryTimeoutError: the SELECT ran longer than ``timeout``.
            InvalidValueError: a text parameter that cannot be encoded (a lone surrogate).
            DataJointError subclasses, translated from the server error (spec §8.1).
            A lost connection outside a transaction is reconnected once and retried.
        """
        if timeout is not None:
            sql = with_time_limit(sql, timeout, self.is_mariadb)
        cursor_class = pymysql.cursors.DictCursor if as_dict else pymysql.cursors.Cursor
        if self.on_query is not None:
            self.on_query(sql, params)
        for attempt in (1, 2):
            cursor = self._conn.cursor(cursor_class)
            try:
                cursor.execute(sql, params)
                return cursor
            except UnicodeEncodeError as exc:  # text the connection's utf8mb4 cannot carry
                prefix = f"{table}: " if table else ""
                raise errors.InvalidValueError(
                    f"{prefix}a text value cannot be sent to the server ({exc.reason}: "
                    f"{exc.object[exc.start : exc.end]!r})",
                    table=table,
                ) from None
            except pymysql.MySQLError as exc:
                error = translate_error(exc, table)
                if (
                    isinstance(error, errors.LostConnectionError)
                    and attempt == 1
                    and not self._in_transaction
                ):
                    self._conn = self._open()
                    continue
                raise error from exc
        raise AssertionError("unreachable")

    def executemany(
        self, sql: str, rows: Sequence[Sequence[Any]], *, table: str | None = None
    ) -> int:
        """Execute a statement for many parameter rows (PyMySQL batches INSERT ... VALUES).

        Returns:
            the number of affected rows.
        """
        cursor = self._conn.cursor()
        try:
            return cursor.executemany(sql, rows)
        except pymysql.MySQLError as exc:
            raise translate_error(exc, table) from exc

    def start_transaction(self) -> None:
        """Open a transaction (``START TRANSACTION WITH CONSISTENT SNAPSHOT``).

        Raises:
            TransactionError: a transaction is already open (nesting is not supported).
        """
        if self._in_transaction:
            raise errors.TransactionError("Nested transactions are not supported")
        self.query("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        self._in_transaction = True

    def commit(self) -> None:
        """Commit the open transaction.

        Raises:
            LostConnectionError: the connection broke during COMMIT. The outcome is then
                unknown (the server may have committed), so the :meth:`on_rollback`
                callbacks are dropped rather than run: objects uploaded for the rows stay
                (``pipeline gc`` removes them if the rows were not committed).
        """
        try:
            self.query("COMMIT")
        except errors.LostConnectionError:
            self._in_transaction = False
            self._on_rollback = []
            raise
        self._in_transaction = False
        self._on_rollback = []

    def rollback(self) -> None:
        """Roll back the open transaction (no-op if none is open), then run the callbacks
        registered with :meth:`on_rollback`. A link lost meanwhile is not an error here:
        the server rolls back the transaction of a connection that breaks (the next query
        outside a transaction reconnects, or call :meth:`reconnect`)."""
        try:
            self.query("ROLLBACK")
        except errors.LostConnectionError:
            pass
        finally:
            self._in_transaction = False
            callbacks, self._on_rollback = self._on_rollback, []
            for callback in callbacks:
                callback()

    def on_rollback(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` if the open transaction is rolled back (not if it commits):
        used to remove objects uploaded for rows that were not committed (spec §5.1).

        Raises:
            TransactionError: no transaction is open.
        """
        if not self._in_transaction:
            raise errors.TransactionError("on_rollback needs an open transaction")
        self._on_rollback.append(callback)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """Context manager: commit on success, roll back on any exception (re-raised)."""
        self.start_transaction()
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        self.commit()

    @contextlib.contextmanager
    def unbuffered(
        self,
        sql: str,
        params: Sequence[Any] | None = None,
        *,
        timeout: float | None = None,
        as_dict: bool = True,
        write_timeout: int | None = None,
    ) -> Iterator[Any]:
        """A cursor reading the rows of one SELECT from the server as they are fetched
        (``SSDictCursor``; ``SSCursor``, rows as tuples, with ``as_dict=False``), on a
        second connection with the same settings so that this one stays usable meanwhile;
        inside a transaction, a buffered cursor on this connection (the second one would
        not see the transaction's rows).

        Args:
            timeout: seconds the SELECT may run (as :meth:`query`); None: no limit.
            write_timeout: seconds the server waits for the reader to take more rows
                before it gives up (``net_write_timeout`` of the second connection, which
                is closed afterwards; default: the server's, usually 60 s). For readers
                that pass rows on to a slower consumer (a download).
        Raises:
            DataJointError subclasses, translated from the server error.
        """
        if self._in_transaction:
            yield self.query(sql, params, as_dict=as_dict, timeout=timeout)
            return
        if timeout is not None:
            sql = with_time_limit(sql, timeout, self.is_mariadb)
        link = self._open()
        cursor = link.cursor(pymysql.cursors.SSDictCursor if as_dict else pymysql.cursors.SSCursor)
        rows = _Unbuffered(cursor)
        try:
            try:
                if write_timeout is not None:
                    link.cursor().execute(*session_write_timeout(write_timeout))
                cursor.execute(sql, params)
            except pymysql.MySQLError as exc:
                raise translate_error(exc) from exc
            yield rows
        finally:
            if rows.exhausted:
                with contextlib.suppress(Exception):
                    cursor.close()
            else:  # closing an unfinished unbuffered result would read all the rest first
                result = getattr(cursor, "_result", None)
                if result is not None:
                    result.unbuffered_active = False  # nor may its __del__ read it later
                cursor.connection = None
            with contextlib.suppress(Exception):
                link.close()  # an abandoned result: the server stops sending

    def connection_id(self) -> int:
        """Return the server's id of this connection (``CONNECTION_ID()``)."""
        return int(self.query("SELECT CONNECTION_ID()").fetchone()[0])

    @property
    def link_id(self) -> int:
        """The server's id of the current link, as the server announced it when the link
        opened (equal to ``CONNECTION_ID()``): no query, so other threads may read it (a
        worker's heartbeat does). It changes when the link is reopened (:meth:`reconnect`,
        or a query outside a transaction that found the link lost)."""
        return int(self._conn.thread_id())

    def reconnect(self) -> None:
        """Open a new link to the server with the same settings and close the old one (a
        lost link: the server has rolled back its transaction). Session variables set on
        the old link are gone; :meth:`connection_id` and :attr:`link_id` report the new
        link's id.

        Raises:
            TransactionError: a transaction is open (roll it back first).
            LostConnectionError / AccessError: the server cannot be reached or refuses
                (the old link is kept, so a later query tries again).
        """
        if self._in_transaction:
            raise errors.TransactionError("cannot reconnect inside a transaction")
        old, self._conn = self._conn, self._open()
        with contextlib.suppress(Exception):
            old.close()

    def current_user(self) -> str:
        """Return the server's name of this session's user (``USER()``, e.g. ``dj@localhost``)."""
        return str(self.query("SELECT USER()").fetchone()[0])

    def clone(self) -> Connection:
        """A new, separate connection with the same server, credentials and stores (e.g.
        for a heartbeat written beside a transaction of this one)."""
        clone = Connection(self.host, self.user, self._password, self.port, self._connect_timeout)
        clone.stores = self.stores
        return clone

    def close(self) -> None:
        """Close the connection; further queries raise."""
        with contextlib.suppress(Exception):
            self._conn.close()

    def ping(self) -> bool:
        """Return True if the server answers, reconnecting if the link was dropped."""
        try:
            self._conn.ping(reconnect=not self._in_transaction)
            return True
        except pymysql.MySQLError:
            return False


class _Unbuffered:
    """An unbuffered cursor whose read errors are translated (rows arrive while fetched)."""

    def __init__(self, cursor):
        self._cursor = cursor
        self.exhausted = False

    def fetchmany(self, size: int) -> list:
        """Up to ``size`` more rows (dicts); an empty list at the end of the result."""
        try:
            rows = self._cursor.fetchmany(size)
        except pymysql.MySQLError as exc:
            raise translate_error(exc) from exc
        self.exhausted = not rows
        return rows


def connect(
    host: str | None = None,
    user: str | None = None,
    password: str | None = None,
    port: int | None = None,
    stores: Mapping[str, Any] | None = None,
) -> Connection:
    """Open a new :class:`Connection`; what is not given comes from :data:`.config.config`.

    Args:
        host: ``host[:port]`` (IPv6 as ``[addr]:port``); default ``config['database.host']``.
        user, password: default ``config['database.user']``, ``config['database.password']``.
        port: used when ``host`` carries none; default ``config['database.port']``.
        stores: DataJoint's ``stores`` setting (spec §5.1); default ``config['stores']``
            (read now: later changes to the config need a new connection); ``{}``: none.
    Raises:
        DataJointError: no user or password configured, ``config['database.backend']`` is
            not ``"mysql"``, or ``config['database.use_tls']`` asks for TLS.
        LostConnectionError, AccessError, StoreError, DataJointError (a malformed host):
            see :class:`Connection`.
    """
    return Connection(**_connection_arguments(host, user, password, port, stores, None))


def _connection_arguments(host, user, password, port, stores, use_tls) -> dict[str, Any]:
    """Fill the missing arguments from the config and refuse what LabBook cannot do."""
    backend = config["database.backend"]
    if backend != "mysql":
        raise errors.DataJointError(
            f"config['database.backend'] is {backend!r}: LabBook connects to MySQL/MariaDB only"
        )
    use_tls = config["database.use_tls"] if use_tls is None else use_tls
    if use_tls not in (None, False):
        raise errors.DataJointError(
            f"use_tls={use_tls!r}: LabBook's connections do not use TLS; set "
            "config['database.use_tls'] (DJ_USE_TLS) to None or False"
        )
    arguments = {
        "host": config["database.host"] if host is None else host,
        "user": config["database.user"] if user is None else user,
        "password": config["database.password"] if password is None else password,
        "port": config["database.port"] if port is None else port,
        "stores": config["stores"] if stores is None else stores,
    }
    for name, key, env in (("user", "user", "DJ_USER"), ("password", "password", "DJ_PASS")):
        if arguments[name] is None:
            raise errors.DataJointError(
                f"Database {name} not configured: set config['database.{key}'] "
                f"(environment: {env}) or pass {name}="
            )
    return arguments


class _Shared:
    """Holder of the process's shared connection: the module's one deliberate state."""

    lock = threading.Lock()
    connection: Connection | None = None


def conn(
    host: str | None = None,
    user: str | None = None,
    password: str | None = None,
    *,
    reset: bool = False,
    use_tls: bool | None = None,
) -> Connection:
    """The persistent connection shared by the whole process (DataJoint's ``dj.conn``).

    The first call (or any call with ``reset=True``) opens a connection with the given
    arguments, the rest taken from :data:`.config.config` as :func:`connect` does;
    later calls return that same connection and, as in DataJoint 2.3.5, ignore their
    arguments. ``reset=True`` replaces it without closing the previous one (tables bound
    to it keep working). ``Schema(name)`` and ``VirtualModule(...)`` without a
    connection use it.

    This is process-wide state on purpose (DataJoint's model). A :class:`Connection` is
    not thread-safe: threaded code (the web app, Celery workers) keeps one connection per
    thread and passes it explicitly; pipeline code named in ``LABBOOK_PIPELINES`` declares
    its schemas on the connection its ``declare(connection, prefix)`` receives, never here.

    Raises:
        as :func:`connect`; DataJointError also for ``use_tls=True``.
    """
    with _Shared.lock:
        if reset or _Shared.connection is None:
            arguments = _connection_arguments(host, user, password, None, None, use_tls)
            _Shared.connection = Connection(**arguments)
        return _Shared.connection
