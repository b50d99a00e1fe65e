"""Access to the pipeline server: one data-model connection per thread, the visible
schemas (``settings.LABBOOK_SCHEMA_PREFIX``) and their tables.

Names arriving from URLs and requests are looked up here and nowhere else: a schema that is
absent, outside the prefix, Django's own database or the audit database, a table that does
not exist, has a name no table can have, or is one of DataJoint's hidden tables (``~``:
jobs, lineage, 0.14 external references, spec §1.4), and an attribute that is not in the
heading are all :class:`NotFoundError` (404 at both front doors), with the name shown
printably (:func:`shown`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.conf import settings

from pipeline_core import datamodel as dm
from pipeline_core import roles
from pipeline_core.datamodel.catalog import catalog_of
from pipeline_core.datamodel.heading import Attribute, TableInfo
from pipeline_core.datamodel.sql.introspection import SERVER_DATABASES
from pipeline_core.display import shown
from pipeline_core.principal import Actor, acting_as, current_actor

from .audit import attach, detach
from .state import PipelineSession


class NotFoundError(dm.DataJointError):
    """The schema, table or attribute does not exist or is not visible (outside the schema
    prefix, Django's or the audit database, a hidden table)."""


#: First character of DataJoint's hidden tables (``~lineage``, ``~~<table>`` jobs tables,
#: 0.14's ``~external_<store>``, ``~log``, ``~jobs``; spec §1.4, §11): never browsable.
HIDDEN_PREFIX = "~"


def connection() -> dm.Connection:
    """This thread's data-model connection, opened on first use from the settings
    (see :meth:`PipelineSession.connection`).

    Raises:
        LostConnectionError / AccessError: the pipeline server cannot be reached.
    """
    return PipelineSession.current().connection()


def begin_request() -> None:
    """Forget cached introspection, and record this thread's writes as the current actor
    (:func:`.audit.attach`); call at the start of each request, command or task, inside
    :func:`pipeline_core.principal.acting_as`."""
    PipelineSession.current().begin_request()
    attach()


@contextlib.contextmanager
def serving(actor: Actor) -> Iterator[Actor]:
    """Serve one request, command or task as ``actor``: the principal of
    :func:`pipeline_core.principal.acting_as`, fresh introspection, this thread's writes
    recorded as the actor's; on exit (also on errors) the connection records nothing more."""
    with acting_as(actor):
        try:
            begin_request()
            yield actor
        finally:
            detach()


def _server_schemas(refresh: bool = False) -> list[str]:
    """Database names on the server, cached until :func:`begin_request` (or ``refresh``)."""
    return PipelineSession.current().server_schemas(refresh)


def schema_prefix() -> str:
    """The prefix that visible schema names start with (may be empty)."""
    return getattr(settings, "LABBOOK_SCHEMA_PREFIX", "") or ""


def _django_databases() -> set[str]:
    """Names of Django's own databases and of the audit database (``LABBOOK_AUDIT_DB``,
    default ``labbook_audit``): never shown as pipelines, even when they start with the
    prefix."""
    from django.db import connections

    names = {connections[alias].settings_dict.get("NAME") for alias in connections}
    names.add(getattr(settings, "LABBOOK_AUDIT_DB", None) or "labbook_audit")
    return names


def prefixed_databases() -> list[str]:
    """Every database whose name starts with the prefix (Django's excluded), whether or
    not it holds DataJoint tables yet."""
    names = dm.list_schemas(connection(), prefix=schema_prefix())
    django = _django_databases()
    return [n for n in names if n not in django]


def visible_schemas() -> list[str]:
    """Names of the pipeline schemas shown to users, ordered by name: those starting with
    the prefix that hold DataJoint tables (or a ``~lineage`` table), Django's excluded."""
    conn = connection()
    names = prefixed_databases()
    catalog = catalog_of(conn)
    catalog.load(names)
    return [
        n
        for n in names
        if "~lineage" in catalog.hidden_tables(n) or any(t.tier for t in catalog.tables(n))
    ]


def may_view(user, schema: str) -> bool:
    """True if ``schema`` is visible (see :func:`check_schema`) and ``user`` may view it."""
    if not roles.may(user, "view", schema):
        return False
    try:
        check_schema(schema)
    except NotFoundError:
        return False
    return True


def check_schema(schema: str) -> str:
    """Return ``schema`` if it is visible.

    Raises:
        NotFoundError: not a string, outside the prefix, Django's or the audit database,
            one of the server's own (``mysql`` ...), or absent.
    """
    if (
        not isinstance(schema, str)
        or not schema.startswith(schema_prefix())
        or schema in _django_databases()
        or schema.lower() in SERVER_DATABASES
    ):
        raise NotFoundError(roles.HIDDEN_SCHEMA.format(schema=shown(schema)))
    if catalog_of(connection()).hidden_tables(schema) or catalog_of(connection()).tables(schema):
        return schema  # it has tables now (checked once per request): it exists
    if schema not in _server_schemas() and schema not in _server_schemas(refresh=True):
        raise NotFoundError(roles.HIDDEN_SCHEMA.format(schema=shown(schema)))
    return schema


def check_viewable(schema: str, user) -> str:
    """Return ``schema`` if it is visible and ``user`` may view it; a schema the user may
    not view is reported exactly as an unknown one (its existence is not revealed).

    Raises:
        NotFoundError: absent, outside the prefix, or not viewable by ``user``.
    """
    if not roles.may(user, "view", schema):
        raise NotFoundError(roles.HIDDEN_SCHEMA.format(schema=shown(schema)))
    return check_schema(schema)


def viewable_schemas(user) -> list[str]:
    """:func:`visible_schemas` that ``user`` may view (:func:`pipeline_core.roles.viewable`)."""
    return roles.viewable(user, visible_schemas())


def table_info(schema: str, table: str) -> TableInfo:
    """TableInfo of a visible table, by raw name (``#subject_type``, ``__detection``).

    Raises:
        NotFoundError: no such schema; a hidden table (:data:`HIDDEN_PREFIX`: DataJoint's
            jobs, lineage and external tables are not browsable, though their names are
            valid); a name no table can have (backquotes, dots, spaces, too long, ...);
            no such table.
    """
    check_schema(schema)
    if not isinstance(table, str):
        raise NotFoundError(f"Table {shown(table)} does not exist in schema `{schema}`")
    if table.startswith(HIDDEN_PREFIX):
        raise NotFoundError(
            f"Table {shown(table)} of schema `{schema}` is one of DataJoint's hidden tables "
            "(jobs, lineage, external references): it cannot be browsed here"
        )
    try:
        return catalog_of(connection()).table(schema, table)
    except dm.MissingTableError as exc:
        raise NotFoundError(
            f"Table {shown(table)} does not exist in schema `{schema}`",
            table=exc.table,  # None for a name no table can have
        ) from None


def tier_phrase(info: TableInfo) -> str:
    """What a table is, for messages refusing an action its tier does not allow:
    ``a Computed table``; for a name implying no tier (a legacy or hand-made table,
    ``bad name``): ``not a DataJoint table (DataJoint would not declare a table named
    'bad name')``."""
    if info.tier is None:
        return (
            f"not a DataJoint table (DataJoint would not declare a table named {info.table_name!r})"
        )
    return f"a {info.tier} table"


def attribute_of(info: TableInfo, name: str) -> Attribute:
    """The attribute ``name`` of a table's heading, as a URL names it.

    Raises:
        NotFoundError: the heading has no such attribute (hidden ``_`` columns included).
    """
    if not isinstance(name, str) or name not in info.heading:
        raise NotFoundError(
            f"{info.full_name} has no attribute {shown(name)}", table=info.full_name
        )
    return info.heading[name]


def table_named(full_table_name: str) -> TableInfo:
    """TableInfo of a visible table named by its full name (`` `db`.`tbl` `` or ``db.tbl``),
    as tasks and the command line pass it.

    Raises:
        NotFoundError: not a full table name, or no such visible table.
    """
    try:
        ref = dm.TableRef.parse(full_table_name)
    except dm.DataJointError as exc:
        raise NotFoundError(str(exc)) from None
    return table_info(ref.database, ref.table)


def resolve_table(schema: str, name: str) -> TableInfo:
    """Find a table by raw name (``__detection``) or class name (``Detection.Blob``); a
    schema name without the prefix is accepted too (for the command line).

    Raises:
        NotFoundError: nothing matches.
    """
    prefix = schema_prefix()
    if schema not in _server_schemas(refresh=True) and prefix and not schema.startswith(prefix):
        schema = prefix + schema
    check_schema(schema)
    found = catalog_of(connection()).named(schema, name)
    if found is not None:
        return found
    raise NotFoundError(f"No table or class `{name}` in schema `{schema}`", table=name)


def trusted_server_code(user) -> bool:
    """True when ``user`` is None under a trusted actor (:meth:`Actor.shell`: the command
    line without ``--user``, or a task queued by code on the server): no role applies."""
    if user is not None:
        return False
    actor = current_actor()
    return actor is not None and actor.trusted


def may(user, action: str, schema: str) -> bool:
    """:func:`pipeline_core.roles.may`, with trusted server code allowed
    (:func:`trusted_server_code`)."""
    return trusted_server_code(user) or roles.may(user, action, schema)


def require(user, action: str, schema: str) -> None:
    """Refuse unless ``user`` may do ``action`` on ``schema`` (trusted server code may).

    Raises:
        NotFoundError: the user may not view the schema (reported as an unknown one).
        RoleRequired: the user's role is too low (403).
    """
    if trusted_server_code(user):
        return
    verdict = roles.decide(user, action, schema)
    if verdict.decision is roles.Decision.HIDDEN:
        raise NotFoundError(verdict.message)
    if not verdict.allowed:
        raise roles.RoleRequired(verdict)
