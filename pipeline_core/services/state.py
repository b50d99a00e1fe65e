"""The services' per-thread state behind one small interface: :class:`PipelineSession`.

Each thread (a gunicorn thread, a Celery worker, a test) has its own session, which owns
that thread's data-model connection, the cached list of databases on the server and the
registry of pipeline classes (the classes with ``make()``), all built lazily.

Introspection is shared by every thread of the process: each connection's catalog shares
the one :class:`~pipeline_core.datamodel.catalog_cache.SharedCatalog` of
:attr:`PipelineSession.catalogs`, and :meth:`PipelineSession.begin_request` only has it
check the databases it uses against their fingerprints again (once per request or task),
so a table declared, altered or dropped by anyone shows on the next request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Hashable

from django.conf import settings

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.catalog import Catalog, catalog_of
from pipeline_core.datamodel.catalog_cache import SharedCatalog


class PipelineSession:
    """This thread's connection to the pipeline server and what is cached with it.

    Get it with :meth:`current`; never share one between threads. The connection follows
    the settings (``LABBOOK_PIPELINE_DB``, ``LABBOOK_STORES``): when they change, the old
    connection is closed and everything cached with it is forgotten.
    """

    _threads = threading.local()
    #: Introspection shared by the connections of every thread of the process.
    catalogs = SharedCatalog()

    def __init__(self) -> None:
        self._connection: dm.Connection | None = None
        self._connection_key: tuple | None = None
        self._schemas: list[str] | None = None
        self._registry: dict[Hashable, dict[dm.TableRef, type]] = {}

    @classmethod
    def current(cls) -> PipelineSession:
        """The session of the calling thread (created on first use)."""
        session = getattr(cls._threads, "session", None)
        if session is None:
            session = cls._threads.session = cls()
        return session

    def connection(self) -> dm.Connection:
        """The data-model connection, opened on first use (or when the settings changed)
        from ``settings.LABBOOK_PIPELINE_DB`` and ``settings.LABBOOK_STORES``.

        Raises:
            LostConnectionError / AccessError: the pipeline server cannot be reached.
        """
        params = settings.LABBOOK_PIPELINE_DB
        stores = settings.LABBOOK_STORES
        key = (
            params["host"],
            int(params["port"]),
            params["user"],
            params["password"],
            json.dumps(stores, sort_keys=True),
        )
        if self._connection is None or self._connection_key != key:
            self.close()
            self._connection = dm.connect(
                params["host"],
                params["user"],
                params["password"],
                port=int(params["port"]),
                stores=stores,
            )
            self._connection.catalog = Catalog(self._connection, shared=self.catalogs)
            self._connection_key = key
        return self._connection

    def is_open(self) -> bool:
        """True if this thread's connection has been opened (and not closed since)."""
        return self._connection is not None

    def begin_request(self) -> None:
        """Have cached introspection checked again (each database's fingerprint, once, on
        first use) and forget the database list, so that tables declared, altered or
        dropped elsewhere are seen; call at the start of a request or task."""
        catalog_of(self.connection()).revalidate()
        self._schemas = None

    def server_schemas(self, refresh: bool = False) -> list[str]:
        """Names of the databases on the server, cached until :meth:`begin_request` (or
        read again when ``refresh``)."""
        conn = self.connection()
        if refresh or self._schemas is None:
            self._schemas = dm.list_schemas(conn)
        return self._schemas

    def pipeline_classes(
        self, key: Hashable, build: Callable[[dm.Connection], dict[dm.TableRef, type]]
    ) -> dict[dm.TableRef, type]:
        """The registry of pipeline classes stored under ``key``, built once per connection
        by ``build(connection)`` (TableRef -> class).

        Raises:
            whatever ``build`` raises (nothing is cached then).
        """
        conn = self.connection()
        if key not in self._registry:
            self._registry[key] = build(conn)
        return self._registry[key]

    def close(self) -> None:
        """Close the connection (if open) and forget everything cached with it."""
        if self._connection is not None:
            self._connection.close()
        self._connection = self._connection_key = self._schemas = None
        self._registry = {}
