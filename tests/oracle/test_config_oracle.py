"""``config``/``conn()``/``Schema(name)``/``VirtualModule(...)`` compared with datajoint 2.3.5.

* In this process: the same code sets ``config['database.host'|'user'|'password']`` and then
  calls ``conn()``, ``Schema(name)`` (declaring tests/oracle/pipelines.py) and
  ``VirtualModule(module, schema)`` without a connection, once with ``datajoint`` and once
  with ``pipeline_core.datamodel``; both see the same tables in both databases.
* In subprocesses: with the same environment (``DJ_HOST``, ``DJ_USER``, ``DJ_PASS`` and
  DataJoint's other variables), every key of our config equals ``datajoint.config``'s, both
  refuse the same bad values, and ``conn()`` of each reaches the same server port as the
  same user. The known differences are pinned too (see ``test_documented_differences``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.hostport import format_host_port
from pipeline_core.datamodel.settings import SETTINGS
from tests.integration.test_connection_hostport import Relay, _can_listen

from . import pipelines

pytestmark = pytest.mark.oracle

REPO_ROOT = Path(__file__).resolve().parents[2]


# --- in this process: the same code path with each library --------------------------------


def _script(lib, settings: dict, database: str):
    """What a DataJoint script does: configure, conn(), Schema(name) and declare. Returns
    the shared connection and the schema's tables."""
    for key, value in settings.items():
        lib.config[key] = value
    shared = lib.conn(reset=True)
    assert lib.conn() is shared
    schema = lib.Schema(database)
    assert schema.connection is shared
    pipelines.declare(lib, schema)
    return shared, sorted(schema.list_tables())


def _virtual_classes(lib, database: str) -> dict:
    """``{class name: [part class names]}`` of ``lib.VirtualModule(..., database)`` built
    without a connection (so on the shared one)."""
    module = lib.VirtualModule(f"vm_{database}", database)
    return {
        name: sorted(p for p in vars(cls) if isinstance(getattr(cls, p), type) and p[:1].isupper())
        for name, cls in vars(module).items()
        if isinstance(cls, type) and hasattr(cls, "full_table_name")
    }


def _override(lib, settings: dict):
    if lib is dm:
        return dm.config.override(settings)
    return lib.config.override(**{k.replace(".", "__"): v for k, v in settings.items()})


def test_same_script_with_each_library_sees_the_same_tables(dj, dj_params, pipeline_prefix):
    settings = {
        "database.host": format_host_port(dj_params["host"], int(dj_params["port"])),
        "database.user": dj_params["user"],
        "database.password": dj_params["password"],
    }
    ours_db, theirs_db = pipeline_prefix + "cfg_lb", pipeline_prefix + "cfg_dj"
    # Both configs are changed for the test only (the overrides restore the keys the script
    # assigns); our shared connection is reopened from the restored config at the end.
    with _override(dj, settings), _override(dm, settings):
        their_conn, their_tables = _script(dj, settings, theirs_db)
        our_conn, our_tables = _script(dm, settings, ours_db)
        their_view = {db: _virtual_classes(dj, db) for db in (ours_db, theirs_db)}
        our_view = {db: _virtual_classes(dm, db) for db in (ours_db, theirs_db)}
    try:
        assert our_tables == their_tables and len(our_tables) >= 8
        # each library sees both databases, with the same classes and parts
        assert our_view[ours_db] == their_view[ours_db] == our_view[theirs_db]
        assert their_view[theirs_db] == our_view[theirs_db]
        assert {"Subject", "Session", "Analysis"} <= set(our_view[ours_db])
        assert our_view[ours_db]["Session"] == ["Trial"]
        # the same server and user through both shared connections
        query = "SELECT @@port, CURRENT_USER()"
        assert our_conn.query(query).fetchone() == tuple(their_conn.query(query).fetchone())
        assert {ours_db, theirs_db} <= set(dm.list_schemas()) & set(dj.list_schemas())
    finally:
        their_conn.close()
        our_conn.close()
        dm.conn(reset=True)


# --- in subprocesses: the environment ------------------------------------------------------

_PROBE = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
keys, connect = json.loads(sys.argv[1]), sys.argv[2] == "1"

def failure(exc):
    return {"error": type(exc).__name__, "message": str(exc),
            "is_value_error": isinstance(exc, ValueError)}

def plain(value):
    return str(value) if value.__class__.__name__.endswith("Path") else value

def read(lib):
    try:
        values = {key: plain(lib.config[key]) for key in keys}
    except BaseException as exc:
        return failure(exc)
    if connect:
        try:
            shared = lib.conn()
            row = shared.query("SELECT @@port, CURRENT_USER()").fetchone()
            values["@server"] = [int(row[0]), row[1]]
        except BaseException as exc:
            values["@server"] = {"error": type(exc).__name__, "message": str(exc)}
    return values

out = {}
try:
    import datajoint
    out["dj"] = read(datajoint)
except BaseException as exc:  # datajoint validates its environment on import
    out["dj"] = failure(exc)
from pipeline_core import datamodel
out["dm"] = read(datamodel)
print(json.dumps(out, default=str))
"""


def _probe(env: dict, tmp_path: Path, *, connect: bool = False) -> tuple[dict, dict]:
    """``(datajoint's values, ours)`` of every config key in a fresh process whose
    environment is exactly ``env`` (plus PATH, HOME and PYTHONPATH)."""
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(list(SETTINGS)), "1" if connect else "0"],
        cwd=tmp_path,  # no datajoint.json above it
        env={**base, "PYTHONPATH": str(REPO_ROOT), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    return out["dj"], out["dm"]


def test_environment_filled_like_datajoint_and_both_connect_alike(dj_params, tmp_path):
    host, port = dj_params["host"], int(dj_params["port"])
    env = {
        "DJ_HOST": f"{host}:{port}",
        "DJ_USER": dj_params["user"],
        "DJ_PASS": dj_params["password"],
        "DJ_PORT": "1",  # the port in DJ_HOST wins, in both
        "DJ_USE_TLS": "false",
        "DJ_RECONNECT": "no",
        "DJ_SAFEMODE": "Off",
        "DJ_CREATE_TABLES": "0",
        "DJ_LOG_LEVEL": "WARNING",
        "DJ_DOWNLOAD_PATH": str(tmp_path / "downloads"),
        "DJ_QUERY_CACHE": str(tmp_path / "cache"),
        "DJ_STORES": json.dumps(
            {"default": "main", "main": {"protocol": "file", "location": str(tmp_path)}}
        ),
        "DJ_DIAGRAM_DIRECTION": "TB",
        "DJ_DATABASE_PREFIX": "lab_",
        "DJ_JOBS_KEEP_COMPLETED": "true",
        "DJ_JOBS_STALE_TIMEOUT": "60",
        "DJ_PROVENANCE_CAPTURE": "1",
        "DJ_PROVENANCE_SOURCE": '{"system": "PyRat"}',
    }
    theirs, ours = _probe(env, tmp_path, connect=True)
    assert "error" not in theirs and "error" not in ours, (theirs, ours)
    assert ours == theirs
    assert ours["database.host"] == f"{host}:{port}" and ours["database.port"] == 1
    assert ours["@server"] == [port, theirs["@server"][1]]
    assert ours["@server"][1].startswith(dj_params["user"] + "@")


def test_defaults_like_datajoint(tmp_path):
    theirs, ours = _probe({}, tmp_path)
    assert ours == theirs
    assert (ours["database.host"], ours["database.user"], ours["database.password"]) == (
        "localhost",
        None,
        None,
    )


_MATRIX = [
    # accepted alike
    {"DJ_BACKEND": "postgresql"},
    {"DJ_BACKEND": "postgresql", "DJ_PORT": " 6000 "},
    {"DJ_HOST": "db.example.org", "DJ_USER": "", "DJ_PASS": ""},
    {"DJ_SAFEMODE": "Y", "DJ_RECONNECT": "F", "DJ_USE_TLS": "TRUE", "DJ_IGNORE_CONFIG_FILE": "1"},
    {"DJ_STORES": "", "DJ_JOBS_VERSION_METHOD": "git", "DJ_DIAGRAM_THEME": "dark"},
    {"DJ_JOBS_DEFAULT_PRIORITY": "255", "DJ_DATABASE_NAME": "x"},
    # refused alike
    {"DJ_PORT": "abc"},
    {"DJ_PORT": ""},
    {"DJ_USE_TLS": ""},
    {"DJ_SAFEMODE": "maybe"},
    {"DJ_LOG_LEVEL": "debug"},
    {"DJ_BACKEND": "sqlite"},
    {"DJ_STORES": "[1]"},
    {"DJ_STORES": "{not json"},
    {"DJ_JOBS_DEFAULT_PRIORITY": "300"},
    {"DJ_JOBS_STALE_TIMEOUT": "-1"},
    {"DJ_DIAGRAM_DIRECTION": "RL"},
    {"DJ_PROVENANCE_SOURCE": "[]"},
]


@pytest.mark.parametrize(
    "env", _MATRIX, ids=lambda env: " ".join(f"{k}={v}" for k, v in env.items())
)
def test_environment_matrix_like_datajoint(env, tmp_path):
    theirs, ours = _probe(env, tmp_path)
    if "error" in theirs:
        assert "error" in ours, ours
        assert theirs["is_value_error"] and ours["is_value_error"]
        assert ours["error"] == "ConfigError"
        name = next(iter(env))
        assert f"{name}={env[name]!r}" in ours["message"]  # names the variable and value
    else:
        assert ours == theirs


def test_documented_differences(tmp_path):
    """Where LabBook deliberately differs from datajoint 2.3.5 (README, config.py)."""
    # DataJoint takes any text as a host and any integer as a port; ours checks them.
    for env, message in [
        ({"DJ_HOST": ""}, "the host is empty"),
        ({"DJ_HOST": "db:x"}, "port 'x' is not a number"),
        ({"DJ_PORT": "0"}, "port 0 is outside 1-65535"),
        ({"DJ_PORT": "99999"}, "port 99999 is outside 1-65535"),
    ]:
        theirs, ours = _probe(env, tmp_path)
        assert "error" not in theirs
        assert ours["error"] == "ConfigError" and message in ours["message"]
    # DataJoint also reads some unprefixed variables (a pydantic-settings side effect);
    # ours reads DJ_* only.
    theirs, ours = _probe({"LIMIT": "5", "CHARSET": "latin1"}, tmp_path)
    assert (theirs["display.limit"], theirs["connection.charset"]) == (5, "latin1")
    assert (ours["display.limit"], ours["connection.charset"]) == (12, "")


@pytest.mark.skipif(not _can_listen("::1", socket.AF_INET6), reason="no IPv6 loopback here")
def test_ipv6_dj_host_connects_here_but_not_with_datajoint(dj_params, tmp_path):
    """``DJ_HOST=[::1]:port``: DataJoint keeps the text and then cannot split it
    (``host.split(":")``); ours connects to ::1 on that port."""
    relay = Relay("::1", socket.AF_INET6, (dj_params["host"], int(dj_params["port"])))
    try:
        env = {
            "DJ_HOST": f"[::1]:{relay.port}",
            "DJ_USER": dj_params["user"],
            "DJ_PASS": dj_params["password"],
        }
        theirs, ours = _probe(env, tmp_path, connect=True)
    finally:
        relay.close()
    assert theirs["database.host"] == ours["database.host"] == f"[::1]:{relay.port}"
    assert theirs["@server"]["error"] == "ValueError"  # too many values to unpack
    assert ours["@server"][0] == int(dj_params["port"])
    assert len(relay.accepted) == 1 and relay.accepted[0][0] == "::1"
