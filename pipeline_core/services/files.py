"""Stored values for the front doors: downloads of attachments and stored files, and the
full value of a stored blob or ``<npy@>`` array. The store is read only here, when a
person asks for one value; table pages show stored values from their metadata
(:func:`~pipeline_core.services.browse.rows_page` fetches lazily).
"""

from __future__ import annotations

import dataclasses
import io
import posixpath
from typing import IO, Any

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.stores import Attachment, BlobRef, NpyRef, ObjectRef, StoreError
from pipeline_core.datamodel.stores.spec import relative_parts

from .access import NotFoundError, attribute_of, table_info
from .browse import fetch_value

#: Codecs whose values are files that can be downloaded.
DOWNLOADABLE_CODECS = ("attach", "object", "filepath")


class NotDownloadableError(dm.DataJointError):
    """The attribute does not hold files (e.g. a number, a ``<blob>`` or an ``<npy@>``
    array): there is nothing to download."""


@dataclasses.dataclass
class Download:
    """A file to send.

    Attributes:
        name: file name offered to the browser (final path component, no folders).
        stream: binary file object positioned at the start; the caller closes it (Django's
            ``FileResponse`` does).
        size: length in bytes, or None when unknown without reading.
    """

    name: str
    stream: IO[bytes]
    size: int | None


def is_downloadable(attr) -> bool:
    """True for attributes whose values are files: ``<attach>``, ``<attach@s>``,
    ``<object@s>`` and ``<filepath@s>``."""
    return attr.codec in DOWNLOADABLE_CODECS


def _where(info, key: dict, attribute: str) -> str:
    shown = " · ".join(f"{k}={key.get(k)}" for k in info.heading.primary_key)
    return f"{info.full_name}: attribute `{attribute}` of the row {shown}"


#: Longest ``?path=`` accepted inside a folder (characters).
MAX_SUBPATH = 1024


def _subpath(where: str, path: str, info, attribute: str) -> str:
    """A file path inside a folder object, as a query string gives it: relative,
    ``/``-separated (``\\`` read as ``/``), ``.`` segments and repeated ``/`` dropped.
    Nothing that could leave the folder is normalised away: a ``..`` segment anywhere
    (``a/../b`` too), a leading ``/``, a NUL character, an empty or over-long path are
    refused. The store then resolves it (a file store refuses symbolic links leading out
    of its location, :meth:`~pipeline_core.datamodel.stores.backends.FileBackend.resolve`).

    Raises:
        QueryError: the path is malformed as above (400).
    """
    text = path.strip()
    parts, reason = relative_parts(text)
    if len(text) > MAX_SUBPATH:
        reason = f"longer than {MAX_SUBPATH} characters"
    if reason:
        raise dm.QueryError(
            f"{where}: {path[:80]!r} is not a file path inside the folder ({reason})",
            table=info.full_name,
            attribute=attribute,
        )
    return "/".join(parts)


def open_download(
    schema: str, table: str, key: dict, attribute: str, path: str | None = None
) -> Download:
    """Open the file held by ``attribute`` in the row with primary key ``key``: an
    attachment (inline or in a store), an ``<object@s>`` / ``<filepath@s>`` file, or the
    file ``path`` (relative, ``/``-separated) inside an ``<object@s>`` folder.

    Attachments are read whole (their file name is stored with the contents); store files
    are streamed.

    Raises:
        NotFoundError: no such table, row or attribute, the value is NULL, or ``path`` is
            not in the folder.
        NotDownloadableError: the attribute does not hold files.
        QueryError: ``path`` given for a value that is not a folder, missing for a folder,
            malformed (absolute, ``..``, NUL; see :func:`_subpath`) or naming a folder; the
            key lacks a primary-key attribute.
        StorePathError: the file's path leaves its store: the row's JSON holds ``..`` or an
            absolute path, or a symbolic link (the file, or a folder on the way) leads
            outside the store's location (404 at the front doors; its contents are never
            read).
        StoreError: the store is not configured, unreachable, or the object is missing.
    """
    info = table_info(schema, table)
    attr = attribute_of(info, attribute)
    where = _where(info, key, attribute)
    if not is_downloadable(attr):
        raise NotDownloadableError(
            f"{info.full_name}: attribute `{attribute}` ({attr.type}) does "
            "not hold files and cannot be downloaded (only <attach>, "
            "<object@> and <filepath@> values can)",
            table=info.full_name,
            attribute=attribute,
        )
    value = fetch_value(schema, table, key, attribute, lazy=True)
    if value is None:
        raise NotFoundError(
            f"{where} is NULL: there is no file to download",
            table=info.full_name,
            attribute=attribute,
        )
    try:
        if isinstance(value, Attachment):
            if path:
                raise dm.QueryError(
                    f"{where} is an attachment, not a folder: it has no file {path!r}",
                    table=info.full_name,
                    attribute=attribute,
                )
            contents = value.contents
            return Download(
                posixpath.basename(value.name.replace("\\", "/")) or attribute,
                io.BytesIO(contents),
                len(contents),
            )
        if isinstance(value, ObjectRef):
            return _open_object(value, path, where, info, attribute)
    except StoreError as exc:  # same class (a StorePathError stays one): where, then why
        raise type(exc)(f"{where}: {exc}", table=info.full_name, attribute=attribute) from exc
    raise NotDownloadableError(
        f"{where} holds a {type(value).__name__}, not a file",
        table=info.full_name,
        attribute=attribute,
    )


def _open_object(ref: ObjectRef, path: str | None, where: str, info, attribute: str) -> Download:
    """Stream an object file or a file inside an object folder."""
    if not ref.is_dir:
        if path:
            raise dm.QueryError(
                f"{where} is a file, not a folder: it has no file {path!r}",
                table=info.full_name,
                attribute=attribute,
            )
        stream = ref.open()  # first: refuses a path that is not one (StorePathError)
        size = ref.size if isinstance(ref.size, int) and not isinstance(ref.size, bool) else None
        return Download(posixpath.basename(ref.path) or attribute, stream, size)
    if not path:
        raise dm.QueryError(
            f"{where} is a folder ({ref.item_count} files): name a file inside it with ?path=",
            table=info.full_name,
            attribute=attribute,
        )
    sub = _subpath(where, path, info, attribute)
    if not ref.exists(sub):
        raise NotFoundError(
            f"{where} is a folder without a file {sub!r}", table=info.full_name, attribute=attribute
        )
    if ref.is_folder(sub):
        raise dm.QueryError(
            f"{where}: {sub!r} is a folder inside the folder: name a file in it with ?path=",
            table=info.full_name,
            attribute=attribute,
        )
    return Download(posixpath.basename(sub), ref.open(sub), None)


def load_value(schema: str, table: str, key: dict, attribute: str) -> Any:
    """The fully decoded value of ``attribute`` in the row ``key``: a stored blob unpacked,
    an ``<npy@s>`` array read into an ndarray, ``<hash@s>`` bytes; other values as
    :func:`~pipeline_core.services.browse.fetch_value` returns them (attachments and
    objects stay references: they are downloaded, not loaded).

    Raises:
        NotFoundError: no such table, row or attribute;
        StoreError: the store is not configured, unreachable, the object is missing or
        corrupt, or not a .npy array where one is expected (names table and attribute);
        StorePathError: its path leaves the store.
    """
    info = table_info(schema, table)
    value = fetch_value(schema, table, key, attribute, lazy=True)
    try:
        if isinstance(value, (BlobRef, NpyRef)):
            return value.load()
    except StoreError as exc:  # same class (a StorePathError stays one)
        raise type(exc)(
            f"{_where(info, key, attribute)}: {exc}", table=info.full_name, attribute=attribute
        ) from exc
    except (ValueError, EOFError) as exc:  # numpy: the object is not a .npy array
        raise StoreError(
            f"{_where(info, key, attribute)}: the stored object is not a .npy array ({exc})",
            table=info.full_name,
            attribute=attribute,
        ) from exc
    return value
