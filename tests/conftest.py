"""Shared fixtures for LabBook's tests. They use the REAL services, nothing is mocked:

* the MariaDB/MySQL server at ``DJ_HOST`` (``dj_params``, ``dj_connect``), with a unique
  database prefix per test session (``pipeline_prefix``) whose databases are dropped at the end;
* Django's test database, named ``test_<name>_lbt_<session id>`` so concurrent sessions on one
  server do not collide;
* a real Celery worker subprocess on a unique queue (``celery_worker``);
* Debian's Chromium driven by Playwright (``browser``, ``page``, ``browser_login``);
* users with known passwords (``admin_user``, a superuser; ``lab_user``, with the ``entry``
  role everywhere; ``user.plain_password``).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

# Playwright's sync API runs an event loop in the main thread; Django would otherwise refuse
# synchronous database calls made from the test functions.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

REPO_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ADMIN_PASSWORD = "admin-Pass-4321"
LAB_PASSWORD = "lab-Pass-4321"


def pytest_configure(config: pytest.Config) -> None:
    """Give Django a secret key for this session when none is set (DEBUG is off in tests),
    and a fast password hasher.

    Django checks SECRET_KEY lazily, on first use, so setting it here is early enough; the
    environment variable is inherited by the worker subprocess.
    """
    from django.conf import settings as django_settings

    # users are made in many tests: a fast hasher (the production one costs 0.2 s a hash)
    django_settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if not os.environ.get("SECRET_KEY"):
        os.environ["SECRET_KEY"] = "labbook-test-" + secrets.token_urlsafe(32)
        from django.conf import settings

        settings.SECRET_KEY = os.environ["SECRET_KEY"]


# --------------------------------------------------------------------------------------------
# database helpers
# --------------------------------------------------------------------------------------------


def connect_pipeline_server(params: dict):
    """Open an autocommit PyMySQL connection to the pipeline server described by ``params``."""
    import pymysql

    return pymysql.connect(
        host=params["host"],
        port=int(params["port"]),
        user=params["user"],
        password=params["password"],
        autocommit=True,
        charset="utf8mb4",
        connect_timeout=10,
    )


def list_prefixed_databases(params: dict, prefix: str) -> list[str]:
    """Names of the databases on the pipeline server whose name starts with ``prefix``."""
    if not prefix:
        raise ValueError("refusing to list databases for an empty prefix")
    conn = connect_pipeline_server(params)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
            return sorted(name for (name,) in cur.fetchall() if name.startswith(prefix))
    finally:
        conn.close()


def drop_prefixed_databases(params: dict, prefix: str) -> list[str]:
    """Drop every database whose name starts with ``prefix``; return the names dropped.

    Foreign keys may cross databases, so checks are switched off on this connection.
    """
    if not prefix:
        raise ValueError("refusing to drop databases for an empty prefix")
    names = list_prefixed_databases(params, prefix)
    conn = connect_pipeline_server(params)
    try:
        with conn.cursor() as cur:
            cur.execute("SET FOREIGN_KEY_CHECKS=0")
            for name in names:
                cur.execute("DROP DATABASE IF EXISTS `{}`".format(name.replace("`", "``")))
    finally:
        conn.close()
    return names


def _database_url(db: dict) -> str:
    """Build a DATABASE_URL for the Django database settings ``db`` (MySQL backend)."""
    host = db.get("HOST") or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    port = db.get("PORT") or 3306
    user = quote(str(db.get("USER") or ""), safe="")
    password = quote(str(db.get("PASSWORD") or ""), safe="")
    return f"mysql://{user}:{password}@{host}:{port}/{quote(db['NAME'], safe='')}"


# --------------------------------------------------------------------------------------------
# session identity, Django test database, pipeline databases
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def session_id() -> str:
    """Eight hex digits identifying this test session (databases, queue, worker name)."""
    return secrets.token_hex(4)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, session_id) -> None:
    """Give Django's test database a per-session name so concurrent sessions do not collide."""
    from django.conf import settings

    for db in settings.DATABASES.values():
        if db["ENGINE"] == "django.db.backends.sqlite3":
            continue
        test = db.setdefault("TEST", {})
        test["NAME"] = f"{test.get('NAME') or 'test_' + db['NAME']}_lbt_{session_id}"


@pytest.fixture(scope="session")
def dj_params() -> dict:
    """Pipeline server connection parameters (host, port, user, password) from DJ_HOST,
    DJ_USER and DJ_PASS, with the same defaults as the settings."""
    from django.conf import settings

    return dict(settings.LABBOOK_PIPELINE_DB)


@pytest.fixture(scope="session")
def dj_connect(dj_params):
    """A function returning a new autocommit PyMySQL connection to the pipeline server."""
    return lambda: connect_pipeline_server(dj_params)


@pytest.fixture(scope="session")
def pipeline_prefix(session_id, dj_params):
    """A unique prefix ``lbt_<8 hex>_`` for this session's pipeline databases.

    Sets LABBOOK_SCHEMA_PREFIX (environment and Django settings) to it for the session, and
    LABBOOK_AUDIT_DB to ``<prefix>audit``, and drops every database whose name starts with
    it at the end.
    """
    from django.conf import settings

    prefix = f"lbt_{session_id}_"
    values = {"LABBOOK_SCHEMA_PREFIX": prefix, "LABBOOK_AUDIT_DB": f"{prefix}audit"}
    old = {name: (os.environ.get(name), getattr(settings, name)) for name in values}
    for name, value in values.items():
        os.environ[name] = value
        setattr(settings, name, value)
    try:
        yield prefix
    finally:
        for name, (old_env, old_setting) in old.items():
            setattr(settings, name, old_setting)
            if old_env is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old_env
        drop_prefixed_databases(dj_params, prefix)


# --------------------------------------------------------------------------------------------
# Celery worker
# --------------------------------------------------------------------------------------------


def _stop_process(proc: subprocess.Popen, grace: float = 15.0) -> None:
    """Stop ``proc``: SIGTERM, wait up to ``grace`` seconds, then SIGKILL."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def celery_worker(session_id, pipeline_prefix, dj_params, django_db_setup):
    """A REAL Celery worker subprocess (solo pool) consuming a queue unique to this session.

    The worker gets the same DJ_* / REDIS_URL settings, LABBOOK_SCHEMA_PREFIX and Django's
    *test* database; the test process sends its tasks to the same queue. Yields a dict with
    ``name`` (for ``app.control`` destinations), ``queue``, ``log`` (path) and ``process``.
    Note: the worker sees Django rows only once committed (use ``transactional_db``).
    """
    from django.conf import settings

    from labbook.celery import app

    queue = f"lbt_{session_id}"
    name = f"lbt_{session_id}@{socket.gethostname()}"
    host = dj_params["host"]
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "labbook.settings"),
            "LABBOOK_CELERY_QUEUE": queue,
            "LABBOOK_SCHEMA_PREFIX": pipeline_prefix,
            "LABBOOK_AUDIT_DB": settings.LABBOOK_AUDIT_DB,
            "DJ_HOST": f"[{host}]:{dj_params['port']}"
            if ":" in host
            else f"{host}:{dj_params['port']}",
            "DJ_USER": dj_params["user"],
            "DJ_PASS": dj_params["password"],
            "REDIS_URL": settings.REDIS_URL,
            "DATABASE_URL": _database_url(settings.DATABASES["default"]),
            "SECRET_KEY": os.environ["SECRET_KEY"],
            "PYTHONUNBUFFERED": "1",
        }
    )
    cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "labbook",
        "worker",
        "-l",
        "info",
        "-c",
        "1",
        "-P",
        "solo",
        "-Q",
        queue,
        "-n",
        name,
        "--without-heartbeat",
        "--without-mingle",
        "--without-gossip",
    ]
    with tempfile.NamedTemporaryFile(
        prefix=f"labbook-worker-{session_id}-", suffix=".log", delete=False
    ) as log:
        log_path = Path(log.name)
        proc = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    old_setting = settings.CELERY_TASK_DEFAULT_QUEUE
    old_conf = app.conf.task_default_queue
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    app.conf.task_default_queue = queue
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"Celery worker exited with status {proc.returncode}; its log "
                    f"({log_path}):\n{log_path.read_text(errors='replace')}"
                )
            if app.control.ping(destination=[name], timeout=1.0):
                break
            if time.monotonic() > deadline:
                pytest.fail(
                    f"Celery worker {name} did not answer ping within 60 s; its log "
                    f"({log_path}):\n{log_path.read_text(errors='replace')}"
                )
        yield {"name": name, "queue": queue, "log": log_path, "process": proc}
    finally:
        _stop_process(proc)
        settings.CELERY_TASK_DEFAULT_QUEUE = old_setting
        app.conf.task_default_queue = old_conf
        log_path.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# browser
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, through Playwright's sync API (never `playwright install`)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


#: Logs every Content-Security-Policy violation of a page to its console (Chromium also logs
#: "Refused to ..." itself; this also catches violations it reports only as events).
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.violatedDirective + " " + e.blockedURI + " "
    + (e.sourceFile || "") + ":" + (e.lineNumber || "") + " " + (e.sample || ""));
});
"""


def _csp_violation(message) -> bool:
    text = message.text
    return message.type == "error" and (
        "CSP violation" in text or "Content Security Policy" in text
    )


def watch_csp(context) -> list[str]:
    """The Content-Security-Policy violations of every page of a browser ``context``, as
    they happen: a list it appends ``"<url>: <message>"`` to."""
    context.add_init_script(_CSP_LISTENER)
    violations: list[str] = []
    context.on(
        "console",
        lambda message: (
            violations.append(f"{message.page.url if message.page else ''}: {message.text}")
            if _csp_violation(message)
            else None
        ),
    )
    return violations


@pytest.fixture
def page(browser):
    """A fresh browser context and page for one test, closed afterwards. The test fails if a
    page broke the Content-Security-Policy (issue #15: no inline script or style)."""
    context = browser.new_context()
    context.set_default_timeout(15_000)
    violations = watch_csp(context)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
    if violations:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(violations))


@pytest.fixture
def browser_login(live_server):
    """A function ``login(page, user)`` logging ``user`` in through the real login form."""

    def login(page, user) -> None:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", user.get_username())
        page.fill("#id_password", user.plain_password)
        page.click("button[type=submit]")
        page.wait_for_load_state()

    return login


# --------------------------------------------------------------------------------------------
# users
# --------------------------------------------------------------------------------------------


@pytest.fixture
def admin_user(db, django_user_model):
    """A staff superuser ``admin``; its password is ``user.plain_password``."""
    user = django_user_model.objects.create_superuser(
        username="admin", email="admin@example.org", password=ADMIN_PASSWORD
    )
    user.plain_password = ADMIN_PASSWORD
    return user


@pytest.fixture
def lab_user(db, django_user_model):
    """An ordinary (non-staff) user ``lab`` holding the ``entry`` role on every schema (a
    grant on ``%``: browse and insert, no populate); its password is
    ``user.plain_password``."""
    from pipeline_core.models import RoleGrant

    user = django_user_model.objects.create_user(
        username="lab", email="lab@example.org", password=LAB_PASSWORD
    )
    RoleGrant.objects.create(user=user, schema_pattern="%", role="entry", created_by="tests")
    user.plain_password = LAB_PASSWORD
    return user


# --------------------------------------------------------------------------------------------
# LabBook's own data-model connection and fresh database names
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dm_conn(dj_params):
    """A LabBook :class:`~pipeline_core.datamodel.Connection` to the test server."""
    from pipeline_core import datamodel as dm

    conn = dm.connect(
        dj_params["host"], dj_params["user"], dj_params["password"], port=int(dj_params["port"])
    )
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def _db_counter():
    import itertools

    return itertools.count()


@pytest.fixture
def new_db(pipeline_prefix, _db_counter):
    """A function returning a fresh, unused database name under the session prefix (dropped
    with the other prefixed databases at the end of the session)."""
    return lambda label="db": f"{pipeline_prefix}{label}{next(_db_counter)}"


# --------------------------------------------------------------------------------------------
# object stores: a real S3-protocol server (moto's standalone server) on loopback
# --------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server():
    """moto's standalone S3 server in a subprocess on 127.0.0.1 (real HTTP). Yields
    ``{"endpoint": "127.0.0.1:PORT", "access_key", "secret_key"}``."""
    port = _free_port()
    with tempfile.NamedTemporaryFile(prefix="labbook-moto-", suffix=".log", delete=False) as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + 30
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"moto server exited: {Path(log.name).read_text(errors='replace')}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("moto server did not listen within 30 s")
                time.sleep(0.1)
        yield {
            "endpoint": f"127.0.0.1:{port}",
            "access_key": "labbook-test",
            "secret_key": "labbook-secret",
        }
    finally:
        _stop_process(proc, grace=5)
        Path(log.name).unlink(missing_ok=True)


@pytest.fixture
def s3_bucket(s3_server):
    """A new, empty bucket on the S3 server; returns its name."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=f"http://{s3_server['endpoint']}",
        aws_access_key_id=s3_server["access_key"],
        aws_secret_access_key=s3_server["secret_key"],
        region_name="us-east-1",
    )
    name = f"lbt-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    return name


@pytest.fixture(params=["file", "s3"])
def store_spec(request, tmp_path):
    """A store spec (as in LABBOOK_STORES) of each protocol: a folder under ``tmp_path``, or a
    fresh bucket on the loopback S3 server (key prefix ``lab/data``)."""
    if request.param == "file":
        location = tmp_path / "store"
        location.mkdir()
        return {"protocol": "file", "location": str(location)}
    server = request.getfixturevalue("s3_server")
    return {
        "protocol": "s3",
        "endpoint": server["endpoint"],
        "bucket": request.getfixturevalue("s3_bucket"),
        "location": "lab/data",
        "access_key": server["access_key"],
        "secret_key": server["secret_key"],
        "secure": False,
    }


@pytest.fixture
def stores_conn(dj_params, store_spec):
    """A LabBook connection whose store ``main`` (also the default) is ``store_spec``."""
    from pipeline_core import datamodel as dm

    conn = dm.connect(
        dj_params["host"],
        dj_params["user"],
        dj_params["password"],
        port=int(dj_params["port"]),
        stores={"default": "main", "main": store_spec},
    )
    yield conn
    conn.close()
