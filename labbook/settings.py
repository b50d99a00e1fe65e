"""Django settings for LabBook.

Everything that differs between machines comes from environment variables, read once
when Django loads this module (i.e. lazily, on first access to ``django.conf.settings``).
Every variable has a documented default (see README.md, "Environment variables"):

==========================  =================================================================
``SECRET_KEY``              required unless ``DEBUG`` is on (then a dev-only default is used)
``DEBUG``                   ``0`` (off); ``1/true/yes/on`` turns it on
``ALLOWED_HOSTS``           ``localhost,127.0.0.1,[::1]`` (comma separated)
``CSRF_TRUSTED_ORIGINS``    empty (comma separated origins, e.g. ``https://labbook.example``)
``DJ_HOST``                 ``127.0.0.1:3306`` - pipeline server, ``host[:port]``, ``[ipv6][:port]``
``DJ_USER``                 ``root``
``DJ_PASS``                 empty
``DATABASE_URL``            ``mysql://$DJ_USER:$DJ_PASS@$DJ_HOST/labbook`` - Django's own tables
``REDIS_URL``               ``redis://127.0.0.1:6379/0`` - Celery broker and result backend
``LABBOOK_STORES``          ``{}`` - JSON object of DataJoint stores
``LABBOOK_SCHEMA_PREFIX``   empty - only pipeline schemas starting with it are shown
``LABBOOK_CELERY_QUEUE``    ``labbook`` - the Celery queue LabBook sends to and workers read
``LABBOOK_RUN_TASKS``       ``8`` - Celery tasks a populate run fans out to (at most)
``LABBOOK_QUERY_TIMEOUT``   ``30`` - seconds a described query (API) may run; 0: no limit
``LABBOOK_EXPORT_MAX_ROWS``  empty (no cap) - most rows one export (CSV, TSV, JSON Lines) holds
``LABBOOK_AUDIT_DB``        ``labbook_audit`` - database of the audit trail (pipeline server)
``LABBOOK_MAX_UPLOAD_MB``   ``1024`` - largest attachment an entry form accepts, in MB
``LABBOOK_STALE_AFTER``     ``120`` - seconds after which a silent worker's reservation is stale
``LABBOOK_MAX_ATTEMPTS``    ``3`` - recoveries of a lost job key before it is an error
``LABBOOK_TRANSIENT_RETRIES`` ``3`` - retries of a key whose make() failed transiently
``LABBOOK_RETRY_BACKOFF``   ``1`` - seconds before the first such retry (doubling, <= 60 s)
``LABBOOK_LOG_LEVEL``       ``INFO``
``LABBOOK_DEFAULT_ROLE``    ``viewer`` - role of logged-in users where no grant matches (or none)
``LABBOOK_ANONYMOUS_ROLE``  ``none`` - role of visitors not logged in (none: log in; or viewer)
``LABBOOK_LOGIN_FAILURE_LIMIT`` ``5`` - failed logins (form or API token) before a lock-out
``LABBOOK_LOGIN_COOLOFF``   ``900`` - seconds a lock-out lasts
``LABBOOK_LOGIN_LOCKOUT``   ``username_ip`` - locked out: ``username_ip``, ``ip`` or ``username``
``LABBOOK_PROXY_COUNT``     ``0`` - reverse proxies in front (client address: X-Forwarded-For)
``SESSION_COOKIE_SECURE``   ``0`` - session cookie over HTTPS only
``CSRF_COOKIE_SECURE``      ``0`` - CSRF cookie over HTTPS only
``SECURE_SSL_REDIRECT``     ``0`` - redirect HTTP to HTTPS (``/healthz`` exempt)
``SECURE_HSTS_SECONDS``     ``0`` - Strict-Transport-Security max-age (0: no header)
``SECURE_HSTS_INCLUDE_SUBDOMAINS`` ``1`` - with ``includeSubDomains`` (when HSTS is on)
``SECURE_HSTS_PRELOAD``     ``1`` - with ``preload`` (when HSTS is on)
``SECURE_PROXY_SSL_HEADER`` empty - ``Header,value`` a TLS proxy sets: ``X-Forwarded-Proto,https``
==========================  =================================================================
"""

from __future__ import annotations

import datetime
import json
import os
import re
from pathlib import Path
from urllib.parse import quote

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from pipeline_core.datamodel.hostport import HostPortError, format_host_port, parse_host_port
from pipeline_core.ladder import ANONYMOUS_ROLES, parse_role_setting

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _env_bool(name: str, default: bool) -> bool:
    """Return the boolean value of environment variable ``name`` (``default`` when unset)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no, on/off)."
    )


def _env_list(name: str, default: str) -> list[str]:
    """Return the comma-separated environment variable ``name`` as a list of non-empty items."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _env_float(name: str, default: float) -> float:
    """Return environment variable ``name`` as a non-negative number (``default`` when unset)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise ImproperlyConfigured(f"{name}={raw!r} is not a non-negative number of seconds.")
    return value


def _env_int(name: str, default: int) -> int:
    """Return environment variable ``name`` as a whole number, 0 or more (``default`` unset).

    Raises:
        ImproperlyConfigured: not a whole number, or negative.
    """
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not re.fullmatch(r"[0-9]+", value):
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number (0 or more).")
    return int(value)


def _proxy_ssl_header(value: str) -> tuple[str, str] | None:
    """``SECURE_PROXY_SSL_HEADER`` from ``Header-Name,value`` (e.g. ``X-Forwarded-Proto,https``)
    as Django wants it: ``("HTTP_X_FORWARDED_PROTO", "https")``; None when empty.

    Raises:
        ImproperlyConfigured: not ``name,value`` with a header name of letters, digits, -, _.
    """
    if not value.strip():
        return None
    name, sep, expected = (part.strip() for part in value.partition(","))
    if not sep or not expected or not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise ImproperlyConfigured(
            f"SECURE_PROXY_SSL_HEADER={value!r} is not 'Header-Name,value' "
            "(e.g. X-Forwarded-Proto,https)."
        )
    meta = name.upper().replace("-", "_")
    return (meta if meta.startswith("HTTP_") else "HTTP_" + meta), expected


def _lockout_parameters(value: str) -> list:
    """django-axes' ``AXES_LOCKOUT_PARAMETERS`` from ``LABBOOK_LOGIN_LOCKOUT``.

    Raises:
        ImproperlyConfigured: not one of ``username_ip``, ``ip``, ``username``.
    """
    choices = {
        "username_ip": [["username", "ip_address"]],
        "ip": ["ip_address"],
        "username": ["username"],
    }
    if value not in choices:
        raise ImproperlyConfigured(
            f"LABBOOK_LOGIN_LOCKOUT={value!r} is not one of {', '.join(choices)}."
        )
    return choices[value]


def _env_count(name: str) -> int | None:
    """Return environment variable ``name`` as a positive whole number; None when unset,
    empty or ``0`` (no limit)."""
    raw = os.environ.get(name, "").strip()
    if not raw or raw == "0":
        return None
    if not raw.isdigit():
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number (0 or empty: no limit).")
    return int(raw)


def _parse_host_port(value: str, default_port: int = 3306) -> tuple[str, int]:
    """Split ``DJ_HOST`` (``host``, ``host:port``, ``[ipv6]``, ``[ipv6]:port`` or a bare IPv6
    address) into ``(host, port)`` with the project's one parser
    (:mod:`pipeline_core.datamodel.hostport`).

    Raises:
        ImproperlyConfigured: the value is not one of those forms (the parser's reason).
    """
    try:
        return tuple(parse_host_port(value, default_port))
    except HostPortError as exc:
        raise ImproperlyConfigured(f"DJ_HOST: {exc}") from None


def _env_role(name: str, default: str, allowed=None) -> str | None:
    """Return the role named by environment variable ``name`` (``default`` when unset or
    empty): a role name (``"viewer"``) or None for ``none``.

    Raises:
        ImproperlyConfigured: not a role (or not one of ``allowed``), the choices listed.
    """
    raw = os.environ.get(name, "").strip() or default
    return parse_role_setting(name, raw, allowed)


def _pipeline_db() -> dict:
    """Connection settings of the pipeline (DataJoint) server, from DJ_HOST/DJ_USER/DJ_PASS."""
    host, port = _parse_host_port(os.environ.get("DJ_HOST", "127.0.0.1:3306"))
    return {
        "host": host,
        "port": port,
        "user": os.environ.get("DJ_USER", "root"),
        "password": os.environ.get("DJ_PASS", ""),
    }


def _default_database_url(pipeline: dict) -> str:
    """Django's own database defaults to a ``labbook`` database on the pipeline server."""
    address = format_host_port(pipeline["host"], pipeline["port"])  # IPv6 in brackets
    user = quote(pipeline["user"], safe="")
    password = quote(pipeline["password"], safe="")
    return f"mysql://{user}:{password}@{address}/labbook"


def _stores() -> dict:
    """Parse LABBOOK_STORES (a JSON object mapping store names to store specs)."""
    raw = os.environ.get("LABBOOK_STORES", "").strip() or "{}"
    try:
        stores = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(f"LABBOOK_STORES is not valid JSON: {exc}") from None
    if not isinstance(stores, dict):
        raise ImproperlyConfigured("LABBOOK_STORES must be a JSON object {store_name: {...}}.")
    return stores


# --- core ----------------------------------------------------------------------------------

DEBUG = _env_bool("DEBUG", False)

# Django itself refuses to run ("The SECRET_KEY setting must not be empty.") the first time
# an empty key is used, so a production deployment without SECRET_KEY fails loudly.
SECRET_KEY = os.environ.get("SECRET_KEY", "") or (
    "django-insecure-labbook-development-key-do-not-use-in-production" if DEBUG else ""
)

ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS", "")

# HTTPS (README "Deploying"): all off by default, for http://127.0.0.1 during development;
# behind a TLS proxy set SECURE_PROXY_SSL_HEADER to the header it sets. /healthz stays
# reachable over plain HTTP for load balancers.
SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = _env_bool("CSRF_COOKIE_SECURE", False)
SECURE_SSL_REDIRECT = _env_bool("SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]
SECURE_HSTS_SECONDS = _env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = _env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_PROXY_SSL_HEADER = _proxy_ssl_header(os.environ.get("SECURE_PROXY_SSL_HEADER", ""))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "axes",
    "csp",
    "pipeline_core",
]

# Django's database sessions, read on each request with one statement written once
# (pipeline_core/session_store.py; the table and format are Django's).
SESSION_ENGINE = "pipeline_core.session_store"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # last, as django-axes requires: turns its lock-out of a login into a 429 page
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "labbook.urls"
WSGI_APPLICATION = "labbook.wsgi.application"
ASGI_APPLICATION = "labbook.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "frontend_templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pipeline_core.web.context.schema_role",
                "pipeline_core.web.context.site_links",
            ],
        },
    },
]

# Content-Security-Policy (django-csp; README "Deploying"): scripts, styles, images and fonts
# from LabBook itself only; no inline script or <style> and no style attributes (pages use
# static files; the inline Graphviz and chart SVGs style with presentation attributes);
# images also as data: and blob: URLs (thumbnails made in the browser, pasted files).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- databases -----------------------------------------------------------------------------

# The pipeline (DataJoint) server, used by pipeline_core.datamodel through PyMySQL.
LABBOOK_PIPELINE_DB = _pipeline_db()

# Django's own tables (auth, sessions, admin log, audit) through mysqlclient.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "") or _default_database_url(LABBOOK_PIPELINE_DB),
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"charset": "utf8mb4", "init_command": "SET sql_mode='STRICT_TRANS_TABLES'"}
    )
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- LabBook -------------------------------------------------------------------------------

LABBOOK_STORES = _stores()
LABBOOK_SCHEMA_PREFIX = os.environ.get("LABBOOK_SCHEMA_PREFIX", "")
# The demo pipeline (pipelines/demo.py) is declared by `make run` and registered for populate
# unless LABBOOK_DEMO=0 (set it when pointing LabBook at a lab's own database).
LABBOOK_DEMO = _env_bool("LABBOOK_DEMO", True)
# Pipeline modules whose classes carry make(): "module:function" items, each function taking
# (connection, prefix) and returning a namespace of table classes.
LABBOOK_PIPELINES = _env_list("LABBOOK_PIPELINES", "pipelines.demo:declare" if LABBOOK_DEMO else "")
LABBOOK_CELERY_QUEUE = os.environ.get("LABBOOK_CELERY_QUEUE", "") or "labbook"
# Celery tasks a populate run fans out to (fewer when it has fewer keys to do).
LABBOOK_RUN_TASKS = max(1, int(_env_float("LABBOOK_RUN_TASKS", 8)))
# Seconds a JSON-described query (POST /api/v1/query/) may take; 0: no limit.
LABBOOK_QUERY_TIMEOUT = _env_float("LABBOOK_QUERY_TIMEOUT", 30.0)
# Most rows one export (CSV, TSV, JSON Lines of a table or query) holds; empty or 0: no cap.
LABBOOK_EXPORT_MAX_ROWS = _env_count("LABBOOK_EXPORT_MAX_ROWS")
# The database (on the pipeline server) of the audit trail's append-only event table.
LABBOOK_AUDIT_DB = os.environ.get("LABBOOK_AUDIT_DB", "").strip() or "labbook_audit"
if not re.fullmatch(r"[A-Za-z0-9_$]{1,64}", LABBOOK_AUDIT_DB):
    raise ImproperlyConfigured(
        f"LABBOOK_AUDIT_DB={LABBOOK_AUDIT_DB!r} is not a database name (letters, digits, _, $)."
    )
# Largest file (MB, 10^6 bytes) an entry form accepts as an attachment.
LABBOOK_MAX_UPLOAD_MB = _env_float("LABBOOK_MAX_UPLOAD_MB", 1024.0)
# Dead workers (pipeline_core/datamodel/recovery.py): a reserved job whose connection is gone,
# or whose worker's heartbeat (without one: the reservation) is older than this many seconds,
# returns to pending; after LABBOOK_MAX_ATTEMPTS such recoveries of a key it is an error
# "worker lost". The task recover_stale applies this every 30 s under celery beat.
LABBOOK_STALE_AFTER = _env_float("LABBOOK_STALE_AFTER", 120.0)
LABBOOK_MAX_ATTEMPTS = int(_env_float("LABBOOK_MAX_ATTEMPTS", 3))
if LABBOOK_STALE_AFTER <= 0 or LABBOOK_MAX_ATTEMPTS < 0:
    raise ImproperlyConfigured(
        "LABBOOK_STALE_AFTER must be more than 0 seconds and LABBOOK_MAX_ATTEMPTS 0 or more."
    )
# Transient make() failures (pipeline_core/datamodel/transient.py: lost connection, deadlock,
# lock wait timeout) are retried this many times per key, the first after about this many
# seconds, each further one after twice as long (at most 60 s); then the job is an error.
LABBOOK_TRANSIENT_RETRIES = int(_env_float("LABBOOK_TRANSIENT_RETRIES", 3))
LABBOOK_RETRY_BACKOFF = _env_float("LABBOOK_RETRY_BACKOFF", 1.0)
REDIS_URL = os.environ.get("REDIS_URL", "") or "redis://127.0.0.1:6379/0"
# Roles (pipeline_core/roles.py): the role of logged-in users on schemas no grant covers
# (a role name or none), and of visitors who are not logged in (none: login required;
# viewer: a public read-only site; anonymous visitors never write).
LABBOOK_DEFAULT_ROLE = _env_role("LABBOOK_DEFAULT_ROLE", "viewer")
LABBOOK_ANONYMOUS_ROLE = _env_role("LABBOOK_ANONYMOUS_ROLE", "none", ANONYMOUS_ROLES)

# --- Celery (read by labbook/celery.py with namespace "CELERY") ----------------------------

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_DEFAULT_QUEUE = LABBOOK_CELERY_QUEUE
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# celery beat (`celery -A labbook beat`): stale reservations of dead workers, every 30 s
CELERY_BEAT_SCHEDULE = {
    "recover-stale": {"task": "recover_stale", "schedule": 30.0},
}

# --- auth ----------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-rules answers user.has_perm("pipeline_core.<action>", schema) (pipeline_core/roles.py)
AUTHENTICATION_BACKENDS = [
    # first: refuses a locked-out client before a password is checked (django-axes)
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    # Django's ModelBackend, reading the user's role grants with the user (one query)
    "pipeline_core.auth_backend.ModelBackend",
]
# Login throttling (django-axes; README "Deploying"): after LABBOOK_LOGIN_FAILURE_LIMIT failed
# logins (login form, admin, or API token) a client is locked out for LABBOOK_LOGIN_COOLOFF
# seconds (429); by default per user name and address together, so that nobody can lock a
# colleague out from elsewhere. A successful login resets the count.
AXES_FAILURE_LIMIT = max(1, _env_int("LABBOOK_LOGIN_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = datetime.timedelta(seconds=_env_int("LABBOOK_LOGIN_COOLOFF", 900))
AXES_LOCKOUT_PARAMETERS = _lockout_parameters(
    os.environ.get("LABBOOK_LOGIN_LOCKOUT", "").strip() or "username_ip"
)
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "pipeline_core.lockout.lockout_response"  # 429: JSON under /api/
AXES_VERBOSE = False
# the client's address: REMOTE_ADDR, or behind LABBOOK_PROXY_COUNT reverse proxies the
# address they append to X-Forwarded-For (django-ipware)
LABBOOK_PROXY_COUNT = _env_int("LABBOOK_PROXY_COUNT", 0)
if LABBOOK_PROXY_COUNT:
    AXES_IPWARE_PROXY_COUNT = LABBOOK_PROXY_COUNT
    AXES_IPWARE_PROXY_ORDER = "right-most"
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# --- API -----------------------------------------------------------------------------------

# Token (``Authorization: Token <key>``; keys made on /account/token/ or with
# `manage.py api_token`) or the session of a logged-in browser (with its CSRF token). Token
# comes first so that a request without credentials gets 401 with `WWW-Authenticate: Token`.
# No HTTP Basic: passwords are not sent with every request.
REST_FRAMEWORK = {
    # every API view declares its action (labbook_action), checked against the role ladder
    "DEFAULT_PERMISSION_CLASSES": ["pipeline_core.api.permissions.RolePermission"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "pipeline_core.api.authentication.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # data-model errors as JSON, with the status of pipeline_core.http_errors
    "EXCEPTION_HANDLER": "pipeline_core.api.exceptions.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "LabBook API",
    "DESCRIPTION": (
        "Browse and query DataJoint-style scientific data pipelines. Authenticate with "
        "`Authorization: Token <key>` (make a key on the page /account/token/) or, from a "
        "browser, with the session of a logged-in user (unsafe methods need its CSRF token)."
    ),
    "VERSION": "1",
    # 3.1: its schemas are JSON Schema 2020-12, which the query description's schema is
    "OAS_VERSION": "3.1.0",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    # schema and docs for logged-in users only (token or session), as the rest of the site
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI's files from the drf-spectacular-sidecar package: no CDN
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        # after the enum hook, which must not rewrite the query description's schema
        "pipeline_core.api.query_schema.add_query_description_components",
    ],
}

# --- i18n, static --------------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- logging -------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "pipeline_core": {
            "handlers": ["console"],
            "level": os.environ.get("LABBOOK_LOG_LEVEL", "INFO").upper(),
            "propagate": False,
        },
    },
}
