"""``config``: DataJoint 2.x's settings mapping (``dj.config``), for connections and stores.

DataJoint code sets ``config['database.host']``, ``config['stores']`` ... and then calls
``conn()``, ``Schema(name)`` and ``VirtualModule(module, schema)`` without a connection;
those read this mapping (see :func:`~.connection.conn`). Keys are DataJoint 2.3.5's dotted
keys, with its defaults and environment variables (``datajoint/settings.py``):

=============================  ===============  ========================  =================
key                            default          environment               LabBook uses it
=============================  ===============  ========================  =================
``database.host``              ``"localhost"``  ``DJ_HOST``               yes: host[:port]
``database.user``              None             ``DJ_USER``               yes
``database.password``          None             ``DJ_PASS``               yes
``database.port``              3306             ``DJ_PORT``               yes
``database.backend``           ``"mysql"``      ``DJ_BACKEND``            only mysql works
``database.use_tls``           None             ``DJ_USE_TLS``            True is refused
``stores``                     ``{}``           ``DJ_STORES`` (JSON)      yes (spec §5.1)
=============================  ===============  ========================  =================

and, kept with DataJoint's types and defaults so that code setting them runs, though
LabBook does not act on them: ``database.name`` (``DJ_DATABASE_NAME``),
``database.reconnect`` (True, ``DJ_RECONNECT``), ``database.database_prefix``
(``DJ_DATABASE_PREFIX``), ``database.create_tables`` (``DJ_CREATE_TABLES``),
``connection.charset``, ``display.limit|width|show_tuple_count``,
``display.diagram_direction|diagram_theme`` (``DJ_DIAGRAM_DIRECTION|THEME``),
``jobs.*`` (``DJ_JOBS_<NAME>``), ``provenance.capture|source`` (``DJ_PROVENANCE_<NAME>``),
``loglevel`` (``DJ_LOG_LEVEL``), ``safemode`` (``DJ_SAFEMODE``; LabBook never prompts),
``ignore_config_file``, ``query_cache`` (``DJ_QUERY_CACHE``), ``download_path``
(``DJ_DOWNLOAD_PATH``; ``fetch`` takes ``download_path=``).

Precedence, lowest first: defaults; the environment, read once, at first use of the
mapping; in a Django process, ``settings.LABBOOK_PIPELINE_DB`` and ``LABBOOK_STORES``,
copied in at start-up (``pipeline_core.apps``; so there ``LABBOOK_STORES`` wins over
``DJ_STORES`` and LabBook's ``DJ_HOST`` default ``127.0.0.1:3306`` over ``localhost``);
assignments in code. Unlike DataJoint, no ``datajoint.json`` or ``.secrets/`` folder is read,
and only ``DJ_*`` names (DataJoint also picks up unprefixed ``LIMIT``, ``WIDTH``, ``CHARSET``
...). A connection keeps the stores it was opened with (``conn(reset=True)`` after changing
``stores``; DataJoint reads them at each use).

Values are validated on assignment where DataJoint validates them (same coercions: ``"3307"``
becomes 3307, ``"yes"`` True), plus: ``database.host`` must parse as ``host[:port]``
(:mod:`.hostport`, IPv6 in brackets), a port must be 1-65535, and ``stores`` must map names
to specs (the specs themselves are checked by :class:`~.stores.config.StoreConfig` when a
connection is opened, as DataJoint checks them when a store is used). A bad value raises
:class:`ConfigError` (a ``ValueError``); an unknown key raises
:class:`UnknownSettingError` (a ``KeyError`` and a ``ConfigError``), where DataJoint
raises KeyError, pydantic's ValueError or AttributeError depending on the key's depth.

The one instance, :data:`config`, is module-level state on purpose: it is DataJoint's
global configuration. Code that must not depend on it passes connections explicitly.
``pipeline_core.datamodel.config`` is that instance (this module is named ``settings`` as
DataJoint's is, so that the instance does not hide the module).
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from .errors import DataJointError
from .hostport import HostPortError, parse_host_port, parse_port


class ConfigError(DataJointError, ValueError):
    """A setting's value is invalid; the message names the key (or environment variable)
    and quotes the value."""


class UnknownSettingError(ConfigError, KeyError):
    """The key is not one of DataJoint 2.3.5's settings (or no such store is configured)."""


# --- converters: value -> validated value, or ValueError(reason) ----------------------------

_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text, not {type(value).__name__}")
    return value


def _optional(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else convert(value)


def _host(value: Any) -> str:
    parse_host_port(_text(value))  # raises HostPortError (a ValueError) with the reason
    return value


def _port(value: Any) -> int:
    return parse_port(value.strip() if isinstance(value, str) else value)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError("must be a boolean (true/false, yes/no, on/off, 1/0)")


def _integer(low: int | None = None, high: int | None = None) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            value = int(value.strip())
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError("must be a whole number")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"must be between {low} and {high}" if high else f"must be >= {low}")
        return value

    return convert


def _choice(*options: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if value not in options:
            raise ValueError(f"must be one of {', '.join(map(repr, options))}")
        return value

    return convert


def _json_object(value: Any) -> dict:
    if not isinstance(value, Mapping):
        raise ValueError(f"must be an object (a dict), not {type(value).__name__}")
    try:
        json.dumps(value, default=str)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"must be JSON-serializable ({exc})") from None
    return copy.deepcopy(dict(value))


def _store_entry(name: Any, spec: Any) -> Any:
    if not isinstance(name, str) or not name:
        raise ValueError(f"store names must be non-empty text, not {name!r}")
    if name in ("default", "filepath_default"):
        if spec is not None and not isinstance(spec, str):
            raise ValueError(f"stores.{name} must be a store name (text), not {spec!r}")
        return spec
    if not isinstance(spec, Mapping):
        raise ValueError(f"stores.{name} must be an object (a store spec), not {spec!r}")
    return copy.deepcopy(dict(spec))


def _stores(value: Any) -> dict:
    stores = _json_object(value)
    return {name: _store_entry(name, spec) for name, spec in stores.items()}


def _path(value: Any) -> Path:
    if not isinstance(value, (str, os.PathLike)):
        raise ValueError(f"must be a path, not {type(value).__name__}")
    return Path(value)


class Setting(NamedTuple):
    """One key: its default, its converter and the environment variable DataJoint reads
    (whose text is JSON when ``json_env``)."""

    key: str
    default: Any
    convert: Callable[[Any], Any]
    env: str | None = None
    json_env: bool = False


_SETTINGS = (
    Setting("database.host", "localhost", _host, "DJ_HOST"),
    Setting("database.user", None, _optional(_text), "DJ_USER"),
    Setting("database.password", None, _optional(_text), "DJ_PASS"),
    Setting("database.port", 3306, _port, "DJ_PORT"),
    Setting("database.backend", "mysql", _choice("mysql", "postgresql"), "DJ_BACKEND"),
    Setting("database.name", None, _optional(_text), "DJ_DATABASE_NAME"),
    Setting("database.reconnect", True, _bool, "DJ_RECONNECT"),
    Setting("database.use_tls", None, _optional(_bool), "DJ_USE_TLS"),
    Setting("database.database_prefix", "", _text, "DJ_DATABASE_PREFIX"),
    Setting("database.create_tables", True, _bool, "DJ_CREATE_TABLES"),
    Setting("connection.charset", "", _text),
    Setting("display.limit", 12, _integer()),
    Setting("display.width", 14, _integer()),
    Setting("display.show_tuple_count", True, _bool),
    Setting("display.diagram_direction", "LR", _choice("TB", "LR"), "DJ_DIAGRAM_DIRECTION"),
    Setting("display.diagram_theme", "auto", _choice("light", "dark", "auto"), "DJ_DIAGRAM_THEME"),
    Setting("jobs.auto_refresh", True, _bool, "DJ_JOBS_AUTO_REFRESH"),
    Setting("jobs.keep_completed", False, _bool, "DJ_JOBS_KEEP_COMPLETED"),
    Setting("jobs.stale_timeout", 3600, _integer(0), "DJ_JOBS_STALE_TIMEOUT"),
    Setting("jobs.default_priority", 5, _integer(0, 255), "DJ_JOBS_DEFAULT_PRIORITY"),
    Setting(
        "jobs.version_method", None, _optional(_choice("git", "none")), "DJ_JOBS_VERSION_METHOD"
    ),
    Setting(
        "jobs.allow_new_pk_fields_in_computed_tables",
        False,
        _bool,
        "DJ_JOBS_ALLOW_NEW_PK_FIELDS_IN_COMPUTED_TABLES",
    ),
    Setting("jobs.add_job_metadata", False, _bool, "DJ_JOBS_ADD_JOB_METADATA"),
    Setting("provenance.capture", False, _bool, "DJ_PROVENANCE_CAPTURE"),
    Setting("provenance.source", {}, _json_object, "DJ_PROVENANCE_SOURCE", json_env=True),
    Setting("stores", {}, _stores, "DJ_STORES", json_env=True),
    Setting(
        "loglevel", "INFO", _choice("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), "DJ_LOG_LEVEL"
    ),
    Setting("safemode", True, _bool, "DJ_SAFEMODE"),
    Setting("ignore_config_file", False, _bool, "DJ_IGNORE_CONFIG_FILE"),
    Setting("query_cache", None, _optional(_path), "DJ_QUERY_CACHE"),
    Setting("download_path", ".", _text, "DJ_DOWNLOAD_PATH"),
)
SETTINGS: Mapping[str, Setting] = {s.key: s for s in _SETTINGS}
"""Every key, in DataJoint's order: ``{key: Setting(key, default, convert, env)}``."""

_STORES_PREFIX = "stores."


def _default_port(backend: str) -> int:
    return 5432 if backend == "postgresql" else 3306


class Config(Mapping):
    """DataJoint's settings as a mapping of dotted keys (see the module docstring).

    Args:
        environ: where environment variables are read from (default ``os.environ``), once,
            on first use.

    Reading: ``config[key]``, ``config.get(key, default)``, ``key in config``, iteration
    over every key (``stores`` included, its stores not), ``len``. Stores are reachable
    as ``config['stores.<name>']`` and ``config['stores.<name>.<attribute>']`` too, and
    ``config['stores']`` is the live dict, so ``config['stores']['raw'] = {...}`` works as
    in DataJoint (unvalidated until a connection is opened).

    Writing: ``config[key] = value`` (validated), ``update(mapping, **key__with__underscores)``
    (all validated before any is applied), ``del config[key]`` (back to the default; for
    ``stores.<name>``: the store is removed), ``override(...)`` (temporary).

    Raises:
        UnknownSettingError: unknown key (a KeyError); ConfigError: invalid value, also for
        an invalid environment variable, on first use.
    """

    def __init__(self, environ: Mapping[str, str] | None = None):
        self._environ = environ
        self._values: dict[str, Any] | None = None
        self._lock = threading.Lock()

    # --- loading ----------------------------------------------------------------------

    def _data(self) -> dict[str, Any]:
        if self._values is None:
            with self._lock:
                if self._values is None:
                    self._values = self._from_environment()
        return self._values

    def _from_environment(self) -> dict[str, Any]:
        environ = os.environ if self._environ is None else self._environ
        values = {key: copy.deepcopy(s.default) for key, s in SETTINGS.items()}
        for key, setting in SETTINGS.items():
            raw = environ.get(setting.env) if setting.env else None
            if raw is None or (key == "stores" and not raw):  # DJ_STORES="" is ignored
                continue
            try:
                values[key] = setting.convert(json.loads(raw) if setting.json_env else raw)
            except ValueError as exc:  # json.JSONDecodeError is one
                raise ConfigError(
                    f"{setting.env}={raw!r} (config[{key!r}]): {_reason(exc)}"
                ) from None
        if "DJ_PORT" not in environ:
            values["database.port"] = _default_port(values["database.backend"])
        return values

    # --- reading ----------------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        data = self._data()
        if key in data:
            return data[key]
        if isinstance(key, str) and key.startswith(_STORES_PREFIX):
            value: Any = data["stores"]
            for part in key[len(_STORES_PREFIX) :].split("."):
                if not isinstance(value, Mapping) or part not in value:
                    raise UnknownSettingError(f"config has no {key!r} ({_configured(data)})")
                value = value[part]
            return value
        raise _unknown(key)

    def __iter__(self) -> Iterator[str]:
        return iter(SETTINGS)

    def __len__(self) -> int:
        return len(SETTINGS)

    def __repr__(self) -> str:
        shown = {
            key: ("***" if key == "database.password" and value else value)
            for key, value in self._data().items()
            if key != "stores"
        }
        return f"Config({shown}, stores={sorted(self._data()['stores'])})"

    # --- writing ----------------------------------------------------------------------

    def _convert(self, key: str, value: Any) -> Any:
        """The validated value for ``key`` (not yet stored)."""
        if key in SETTINGS:
            if key == "database.port" and value is None:  # as DataJoint: the backend's
                return _default_port(self._data()["database.backend"])
            try:
                return SETTINGS[key].convert(value)
            except ValueError as exc:
                raise ConfigError(f"config[{key!r}] = {value!r}: {_reason(exc)}") from None
        if isinstance(key, str) and key.startswith(_STORES_PREFIX):
            parts = key[len(_STORES_PREFIX) :].split(".")
            try:
                if len(parts) == 1:
                    return _store_entry(parts[0], value)
                if len(parts) == 2 and parts[0] and parts[1]:
                    json.dumps(value, default=str)
                    return copy.deepcopy(value)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"config[{key!r}] = {value!r}: {_reason(exc)}") from None
        raise _unknown(key)

    def _store(self, key: str, value: Any) -> None:
        data = self._data()
        if key in SETTINGS:
            data[key] = value
            return
        name, _, attribute = key[len(_STORES_PREFIX) :].partition(".")
        if not attribute:
            data["stores"][name] = value
        elif isinstance(data["stores"].get(name), dict):
            data["stores"][name][attribute] = value
        else:
            data["stores"][name] = {attribute: value}

    def __setitem__(self, key: str, value: Any) -> None:
        self._store(key, self._convert(key, value))

    def __delitem__(self, key: str) -> None:
        """Reset ``key`` to its default (a ``stores.<name>`` key: remove that store)."""
        if key in SETTINGS:
            default = SETTINGS[key].default
            if key == "database.port":
                default = _default_port(self._data()["database.backend"])
            self._data()[key] = copy.deepcopy(default)
            return
        if not isinstance(key, str) or not key.startswith(_STORES_PREFIX):
            raise _unknown(key)
        if key not in self:
            raise UnknownSettingError(f"config has no {key!r} ({_configured(self._data())})")
        name, _, attribute = key[len(_STORES_PREFIX) :].partition(".")
        if attribute:
            del self._data()["stores"][name][attribute]
        else:
            del self._data()["stores"][name]

    def update(self, other: Mapping[str, Any] | None = None, /, **kwargs: Any) -> None:
        """Set several keys at once: all are validated before any is stored.

        ``kwargs`` use ``__`` for the dot (``database__host="db"``), as DataJoint's
        ``override``.
        """
        changes = _merge(other, kwargs)
        converted = [(key, self._convert(key, value)) for key, value in changes.items()]
        for key, value in converted:
            self._store(key, value)

    @contextlib.contextmanager
    def override(
        self, other: Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> Iterator[Config]:
        """Temporarily set keys (DataJoint's ``dj.config.override(safemode=False,
        database__host="db")``; a mapping of dotted keys is accepted too); the previous
        values are restored on exit, also after an exception.

        Raises:
            UnknownSettingError / ConfigError: before anything changes (DataJoint silently
                skips unknown keys).
        """
        changes = _merge(other, kwargs)
        converted = [(key, self._convert(key, value)) for key, value in changes.items()]
        data = self._data()
        saved = {key: data[key] for key, _ in converted if key in SETTINGS}
        stores = data["stores"]  # stores.<name> keys change this dict in place: copy it
        stores_content = copy.deepcopy(stores) if any(k not in SETTINGS for k in changes) else None
        for key, value in converted:
            self._store(key, value)
        try:
            yield self
        finally:
            data.update(saved)
            if stores_content is not None:
                stores.clear()
                stores.update(stores_content)
                data["stores"] = stores


def _merge(other: Mapping[str, Any] | None, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    changes = dict(other or {})
    changes.update({key.replace("__", "."): value for key, value in kwargs.items()})
    return changes


def _reason(exc: BaseException) -> str:
    return exc.reason if isinstance(exc, HostPortError) else str(exc)


def _configured(data: Mapping[str, Any]) -> str:
    names = sorted(n for n in data["stores"] if n not in ("default", "filepath_default"))
    return f"configured stores: {', '.join(names) or 'none'}"


def _unknown(key: object) -> UnknownSettingError:
    close = difflib.get_close_matches(str(key), SETTINGS, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return UnknownSettingError(
        f"{key!r} is not a DataJoint setting ({hint}the keys are listed in "
        "pipeline_core.datamodel.settings.SETTINGS; stores are 'stores.<name>')"
    )


config = Config()
"""The process-wide configuration (DataJoint's ``dj.config``); environment read on first use."""
