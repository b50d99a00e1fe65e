"""The one mapping of data-model errors to HTTP statuses and titles, shared by both front
doors: the web pages (:mod:`pipeline_core.web.errors`) and the JSON API
(:mod:`pipeline_core.api.exceptions`). It builds no responses itself."""

from __future__ import annotations

from pipeline_core import datamodel as dm
from pipeline_core import services
from pipeline_core.datamodel.stores import StoreError, StorePathError

#: (error class, HTTP status, title), most specific first; the first class the error is an
#: instance of decides.
ERROR_STATUS: tuple[tuple[type[dm.DataJointError], int, str], ...] = (
    (services.NotFoundError, 404, "Not found"),
    (dm.MissingTableError, 404, "Table not found"),
    (dm.AccessError, 403, "Access denied by the database"),
    (dm.LostConnectionError, 503, "Pipeline database unavailable"),
    (services.BrokerUnavailable, 503, "Task broker unavailable"),
    (services.NotDownloadableError, 415, "Not downloadable"),
    # a stored value's path leaving its store (a link out, ``..``): there is no such
    # object in the store (404, not 403: nothing is said about what lies outside)
    (StorePathError, 404, "Not in the store"),
    (StoreError, 503, "Stored value unavailable"),
    (services.NoMakeError, 409, "No make() registered"),
    (services.NotEnterableError, 409, "Not entered by people"),
    (services.DeleteRefused, 409, "Cannot delete"),
    (services.UndoRefused, 409, "Cannot undo"),
    (dm.PopulateError, 409, "Cannot populate"),
    (dm.QueryTimeoutError, 504, "Query took too long"),
    (dm.QueryError, 400, "Bad request"),
    (dm.UnknownAttributeError, 400, "Unknown attribute"),
    (dm.InvalidValueError, 400, "Invalid value"),
    (dm.DuplicateError, 409, "Duplicate entry"),
    (dm.IntegrityError, 409, "Dependency error"),
    (dm.DataJointError, 500, "Pipeline error"),
)

#: Status and title of a data-model error that no entry above names.
DEFAULT_STATUS = (500, "Pipeline error")


def status_of(exc: dm.DataJointError) -> tuple[int, str]:
    """``(HTTP status, title)`` of a data-model error, e.g. ``(404, "Not found")`` for a
    :class:`~pipeline_core.services.NotFoundError`; :data:`DEFAULT_STATUS` when no entry of
    :data:`ERROR_STATUS` matches."""
    for cls, status, title in ERROR_STATUS:
        if isinstance(exc, cls):
            return status, title
    return DEFAULT_STATUS
