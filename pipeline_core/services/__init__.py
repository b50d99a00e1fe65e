"""LabBook's use cases: the only bridge between Django (web, API, tasks, commands) and
:mod:`pipeline_core.datamodel`.

* One data-model connection per thread, built lazily from ``settings.LABBOOK_PIPELINE_DB``
  (:func:`connection`); :func:`begin_request` forgets cached introspection so a page shows
  tables declared elsewhere.
* Only schemas whose name starts with ``settings.LABBOOK_SCHEMA_PREFIX`` are visible; any
  other name raises :class:`NotFoundError`. Of those, a user sees the ones their role lets
  them view (:mod:`pipeline_core.roles`): :func:`list_schemas` and :func:`run_query` take
  the user; a schema they may not view is reported exactly as an unknown one.
* Classes with a ``make()`` come from the pipeline modules listed in ``LABBOOK_PIPELINES``
  (``"module:function"``; each function takes ``(connection, prefix)`` and returns a
  namespace of classes). Calling them declares their schemas (idempotent).

Data entry: :mod:`.fk` searches the parent rows a foreign key may take, and
:func:`insert_entry` inserts a master row with its part rows in one transaction, reporting
every problem as an :class:`EntryError`.

Rows (the grid and the rows API): :func:`page_of_rows` (keyset pages), :func:`save_rows`
(new rows, part rows and updates checked whole, then one transaction and one audit batch),
:func:`update_row`, :func:`delete_rows` (cascade preview, then the delete) and
:func:`undo` (a saved batch taken back from the audit trail).

Stored values: pages fetch them lazily (metadata only); :func:`open_download` streams an
attachment or stored file and :func:`load_value` reads one stored blob or array, both
raising ``StoreError`` when the store cannot be read.

Dead workers: populating processes keep a heartbeat; :func:`recover_stale` returns the
stale reservations of lost workers to ``pending`` (:mod:`.recovery`). The workers view:
:func:`list_workers` (Celery nodes and worker processes, online or offline, :mod:`.workers`).

Progress: :func:`job_rate` (a table's throughput and ETA) and :func:`schema_progress` (the
counts of a schema's auto-populated tables) in :mod:`.progress`.

Rows: :func:`row_page` (one row with its parent rows, child row counts and part rows;
:mod:`.rowpage`), :func:`load_attribute` (one value of it read whole).
Table pages: :func:`rows_window` (a keyset page forwards, backwards or from the end, of the
table restricted by a JSON condition and ordered by any sortable attribute), :func:`row_estimate`
and :func:`count_rows` (:mod:`.table_rows`).

Queries: :func:`run_query` runs a JSON query description (no SQL from users) over the
visible schemas and returns one page of JSON-safe rows; :func:`export_table` and
:func:`export_query` stream every row of a table or a description as CSV, TSV or JSON
Lines (:mod:`.export`).
"""

from .access import (
    NotFoundError,
    begin_request,
    check_schema,
    check_viewable,
    connection,
    resolve_table,
    schema_prefix,
    serving,
    table_info,
    table_named,
    tier_phrase,
    viewable_schemas,
    visible_schemas,
)
from .audit import (
    attach,
    detach,
    grant_state,
    history,
    new_request_id,
    record_grant,
    request_id,
    writer,
)
from .browse import (
    PAGE_SIZE,
    TIER_ORDER,
    dependency_graph,
    describe_schemas,
    fetch_value,
    graph_version,
    inspect_schemas,
    list_schemas,
    part_tables,
    rows_page,
    schema_tables,
    table_page,
    value_fingerprint,
)
from .entry import EntryError, Problem, insert_entry
from .export import Export, export_query, export_table, parse_description
from .export import max_rows as export_max_rows
from .files import (
    DOWNLOADABLE_CODECS,
    Download,
    NotDownloadableError,
    is_downloadable,
    load_value,
    open_download,
)
from .health import health
from .jobs import (
    ignore_jobs,
    job_counts,
    job_traceback,
    jobs_of,
    list_jobs,
    reprioritize_jobs,
    reset_stale_jobs,
    retry_jobs,
)
from .populate import (
    DEFAULT_PIPELINES,
    NoMakeError,
    clear_errors,
    enqueue_populate,
    error_traceback,
    has_make,
    make_class,
    pipeline_classes,
    pipeline_specs,
    populate,
    populate_status,
)
from .progress import job_rate, schema_progress
from .query import QUERY_PAGE_SIZE, json_value, run_query
from .recovery import recover_stale, worker_heartbeats
from .rowpage import RowPage, load_attribute, row_children, row_page
from .rows import (
    DeleteRefused,
    NotEnterableError,
    delete_rows,
    enterable,
    page_of_rows,
    save_rows,
    update_row,
)
from .runs import (
    BrokerUnavailable,
    cancel_run,
    get_run,
    list_runs,
    run_json,
    run_populate,
    run_refused,
    start_run,
)
from .stores import collect_garbage
from .table_rows import count_rows, restricted, row_estimate, rows_window, sort_order, sortable
from .undo import UndoRefused, undo
from .workers import list_workers, prune_workers, worker_processes

__all__ = [
    "DEFAULT_PIPELINES",
    "DOWNLOADABLE_CODECS",
    "PAGE_SIZE",
    "QUERY_PAGE_SIZE",
    "TIER_ORDER",
    "BrokerUnavailable",
    "DeleteRefused",
    "Download",
    "EntryError",
    "Export",
    "NoMakeError",
    "NotDownloadableError",
    "NotEnterableError",
    "NotFoundError",
    "Problem",
    "RowPage",
    "UndoRefused",
    "attach",
    "begin_request",
    "cancel_run",
    "check_schema",
    "check_viewable",
    "clear_errors",
    "collect_garbage",
    "connection",
    "count_rows",
    "delete_rows",
    "dependency_graph",
    "describe_schemas",
    "detach",
    "enqueue_populate",
    "enterable",
    "error_traceback",
    "export_max_rows",
    "export_query",
    "export_table",
    "fetch_value",
    "get_run",
    "grant_state",
    "graph_version",
    "has_make",
    "health",
    "history",
    "ignore_jobs",
    "insert_entry",
    "inspect_schemas",
    "is_downloadable",
    "job_counts",
    "job_rate",
    "job_traceback",
    "jobs_of",
    "json_value",
    "list_jobs",
    "list_runs",
    "list_schemas",
    "list_workers",
    "load_attribute",
    "load_value",
    "make_class",
    "new_request_id",
    "open_download",
    "page_of_rows",
    "parse_description",
    "part_tables",
    "pipeline_classes",
    "pipeline_specs",
    "populate",
    "populate_status",
    "prune_workers",
    "record_grant",
    "recover_stale",
    "reprioritize_jobs",
    "request_id",
    "reset_stale_jobs",
    "resolve_table",
    "restricted",
    "retry_jobs",
    "row_children",
    "row_estimate",
    "row_page",
    "rows_page",
    "rows_window",
    "run_json",
    "run_populate",
    "run_query",
    "run_refused",
    "save_rows",
    "schema_prefix",
    "schema_progress",
    "schema_tables",
    "serving",
    "sort_order",
    "sortable",
    "start_run",
    "table_info",
    "table_named",
    "table_page",
    "tier_phrase",
    "undo",
    "update_row",
    "value_fingerprint",
    "viewable_schemas",
    "visible_schemas",
    "worker_heartbeats",
    "worker_processes",
    "writer",
]
