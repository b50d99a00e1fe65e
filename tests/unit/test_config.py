"""``pipeline_core.datamodel.config``: DataJoint 2.3.5's settings as a mapping of dotted keys
(defaults, environment variables, validation, overrides). Each test builds its own
``Config`` with an explicit environment; the process-wide instance is only inspected.
tests/oracle/test_config_oracle.py compares these behaviours with datajoint itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.errors import DataJointError
from pipeline_core.datamodel.settings import (
    SETTINGS,
    Config,
    ConfigError,
    UnknownSettingError,
)

FILE_STORE = {"protocol": "file", "location": "/data/raw"}


def test_the_process_wide_config_is_exported():
    assert isinstance(dm.config, Config)
    assert dm.ConfigError is ConfigError


def test_defaults_are_datajoints():
    c = Config({})
    assert c["database.host"] == "localhost"
    assert c["database.user"] is None and c["database.password"] is None
    assert c["database.port"] == 3306
    assert c["database.backend"] == "mysql"
    assert c["database.use_tls"] is None and c["database.reconnect"] is True
    assert c["stores"] == {} and c["safemode"] is True and c["loglevel"] == "INFO"
    assert c["download_path"] == "." and c["query_cache"] is None


def test_mapping_protocol():
    c = Config({})
    assert list(c) == list(SETTINGS) and len(c) == len(SETTINGS) == 31
    assert list(c)[:4] == ["database.host", "database.user", "database.password", "database.port"]
    assert "database.host" in c and "stores" in c
    assert "database.hots" not in c and "database" not in c and 3 not in c
    assert c.get("database.hots") is None and c.get("database.hots", "x") == "x"
    assert c.get("database.port") == 3306
    assert dict(c.items())["database.host"] == "localhost"


def test_environment_variables_are_datajoints():
    env = {
        "DJ_HOST": "db.example.org:3307",
        "DJ_USER": "alice",
        "DJ_PASS": "",
        "DJ_PORT": " 3308 ",
        "DJ_USE_TLS": "false",
        "DJ_RECONNECT": "no",
        "DJ_SAFEMODE": "off",
        "DJ_LOG_LEVEL": "WARNING",
        "DJ_DOWNLOAD_PATH": "/tmp/d",
        "DJ_QUERY_CACHE": "/tmp/q",
        "DJ_STORES": '{"default": "raw", "raw": {"protocol": "file", "location": "/r"}}',
        "DJ_JOBS_DEFAULT_PRIORITY": "7",
        "DJ_PROVENANCE_SOURCE": '{"system": "PyRat"}',
        "DJ_DIAGRAM_DIRECTION": "TB",
        "LIMIT": "5",  # datajoint reads this unprefixed name (a pydantic-settings accident)
        "DJ_LIMIT": "5",  # and neither this one
    }
    c = Config(env)
    assert c["database.host"] == "db.example.org:3307"  # kept as given, as in DataJoint
    assert (c["database.user"], c["database.password"], c["database.port"]) == ("alice", "", 3308)
    assert c["database.use_tls"] is False and c["database.reconnect"] is False
    assert c["safemode"] is False and c["loglevel"] == "WARNING"
    assert c["download_path"] == "/tmp/d" and c["query_cache"] == Path("/tmp/q")
    assert c["stores"] == {"default": "raw", "raw": {"protocol": "file", "location": "/r"}}
    assert c["stores.raw.location"] == "/r" and c["stores.default"] == "raw"
    assert c["jobs.default_priority"] == 7 and c["provenance.source"] == {"system": "PyRat"}
    assert c["display.diagram_direction"] == "TB"
    assert c["display.limit"] == 12


def test_environment_is_read_lazily_on_first_use():
    env = {"DJ_HOST": "first"}
    c = Config(env)
    env["DJ_HOST"] = "second"
    assert c["database.host"] == "second"
    env["DJ_HOST"] = "third"
    assert c["database.host"] == "second"  # read once


def test_backend_sets_the_default_port():
    assert Config({"DJ_BACKEND": "postgresql"})["database.port"] == 5432
    assert Config({"DJ_BACKEND": "postgresql", "DJ_PORT": "6000"})["database.port"] == 6000
    c = Config({})
    c["database.backend"] = "postgresql"
    c["database.port"] = None  # None means the backend's default, as in DataJoint
    assert c["database.port"] == 5432


def test_empty_dj_stores_is_ignored():
    assert Config({"DJ_STORES": ""})["stores"] == {}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DJ_PORT": "abc"}, "DJ_PORT='abc' (config['database.port']): port 'abc' is not a number"),
        ({"DJ_PORT": ""}, "DJ_PORT='' (config['database.port']): the port is empty"),
        ({"DJ_HOST": "[::1"}, "DJ_HOST='[::1' (config['database.host']): '[' is not closed"),
        ({"DJ_HOST": ""}, "DJ_HOST='' (config['database.host']): the host is empty"),
        ({"DJ_SAFEMODE": "maybe"}, "DJ_SAFEMODE='maybe' (config['safemode']): must be a boolean"),
        ({"DJ_USE_TLS": ""}, "DJ_USE_TLS='' (config['database.use_tls']): must be a boolean"),
        ({"DJ_LOG_LEVEL": "debug"}, "DJ_LOG_LEVEL='debug' (config['loglevel']): must be one of"),
        ({"DJ_STORES": "{"}, "DJ_STORES='{' (config['stores']): "),
        ({"DJ_STORES": "[1]"}, "DJ_STORES='[1]' (config['stores']): must be an object"),
        ({"DJ_STORES": '{"raw": 1}'}, "stores.raw must be an object (a store spec), not 1"),
        ({"DJ_JOBS_DEFAULT_PRIORITY": "300"}, "must be between 0 and 255"),
    ],
)
def test_bad_environment_values_name_the_variable(env, message):
    c = Config(env)
    with pytest.raises(ConfigError) as info:
        c["database.host"]
    assert message in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, DataJointError)


# --- assignment ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [
        ("database.port", "3307", 3307),
        ("database.port", 3307, 3307),
        ("database.host", "[::1]:3307", "[::1]:3307"),
        ("database.host", "::1", "::1"),
        ("database.user", None, None),
        ("database.password", "s3cret", "s3cret"),
        ("database.reconnect", "yes", True),
        ("database.reconnect", 0, False),
        ("safemode", "OFF", False),
        ("database.use_tls", None, None),
        ("loglevel", "DEBUG", "DEBUG"),
        ("query_cache", "/tmp/q", Path("/tmp/q")),
        ("display.limit", "-3", -3),
        ("jobs.version_method", "git", "git"),
    ],
)
def test_values_are_coerced_as_in_datajoint(key, value, stored):
    c = Config({})
    c[key] = value
    assert c[key] == stored and type(c[key]) is type(stored)


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("database.port", "abc", "port 'abc' is not a number"),
        ("database.port", 0, "port 0 is outside 1-65535"),
        ("database.port", 70000, "port 70000 is outside 1-65535"),
        ("database.port", True, "is not a number"),
        ("database.port", 3306.5, "is not a whole number"),
        ("database.host", 5, "must be text"),
        ("database.host", "db:x", "port 'x' is not a number"),
        ("database.host", "a:b:c", "neither host:port nor an IPv6 address"),
        ("database.password", 5, "must be text"),
        ("database.reconnect", "maybe", "must be a boolean"),
        ("database.reconnect", 2, "must be a boolean"),
        ("database.backend", "sqlite", "must be one of 'mysql', 'postgresql'"),
        ("loglevel", "debug", "must be one of"),
        ("stores", [], "must be an object"),
        ("stores", {"raw": "x"}, "stores.raw must be an object"),
        ("stores", {"default": 3}, "stores.default must be a store name"),
        ("stores", {"": {}}, "store names must be non-empty text"),
        ("provenance.source", "x", "must be an object"),
        ("download_path", 5, "must be text"),
        ("jobs.default_priority", 256, "must be between 0 and 255"),
    ],
)
def test_invalid_values_are_refused_naming_key_and_value(key, value, reason):
    c = Config({})
    before = c[key]
    with pytest.raises(ConfigError) as info:
        c[key] = value
    assert f"config[{key!r}] = {value!r}: " in str(info.value) and reason in str(info.value)
    assert isinstance(info.value, ValueError)
    assert c[key] == before


@pytest.mark.parametrize("key", ["foo", "database.foo", "foo.bar", "database", "Database.host"])
def test_unknown_keys(key):
    c = Config({})
    for action in (lambda: c[key], lambda: c.__setitem__(key, 1), lambda: c.__delitem__(key)):
        with pytest.raises(UnknownSettingError) as info:
            action()
        # a KeyError (DataJoint: KeyError for top-level keys) and a ValueError (DataJoint:
        # pydantic's ValueError for nested ones)
        assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
        assert repr(key) in str(info.value)


def test_unknown_key_suggests_the_closest():
    with pytest.raises(UnknownSettingError, match=r"did you mean 'database\.host'"):
        Config({})["databse.host"] = "x"


def test_stores_is_a_live_dict_copied_on_assignment():
    c = Config({})
    given = {"raw": dict(FILE_STORE)}
    c["stores"] = given
    given["raw"]["location"] = "/elsewhere"  # the caller's object is not shared
    assert c["stores"]["raw"]["location"] == "/data/raw"
    c["stores"]["other"] = {"protocol": "file", "location": "/o"}  # DataJoint's usage
    assert "stores.other" in c and c["stores.other.location"] == "/o"


def test_store_subkeys():
    c = Config({})
    c["stores.raw"] = dict(FILE_STORE)
    c["stores.raw.subfolding"] = [2, 2]
    c["stores.new.protocol"] = "file"  # creates the store, as datajoint.json's flat keys do
    c["stores.default"] = "raw"
    assert c["stores"] == {
        "raw": {**FILE_STORE, "subfolding": [2, 2]},
        "new": {"protocol": "file"},
        "default": "raw",
    }
    del c["stores.raw.subfolding"]
    del c["stores.new"]
    assert c["stores"] == {"raw": FILE_STORE, "default": "raw"}
    with pytest.raises(UnknownSettingError, match="configured stores: raw"):
        c["stores.missing"]
    with pytest.raises(UnknownSettingError):
        del c["stores.missing"]
    with pytest.raises(ConfigError, match=r"stores\.raw must be an object"):
        c["stores.raw"] = "text"


def test_del_resets_to_the_default():
    c = Config({"DJ_HOST": "db"})
    c["safemode"] = False
    c["database.port"] = 1234
    del c["safemode"], c["database.port"], c["database.host"]
    assert c["safemode"] is True and c["database.port"] == 3306
    assert c["database.host"] == "localhost"  # the default, not the environment's value


def test_update_is_all_or_nothing():
    c = Config({})
    with pytest.raises(ConfigError, match=r"database\.port"):
        c.update({"database.host": "db"}, database__port="x")
    assert c["database.host"] == "localhost"
    c.update({"database.host": "db"}, database__port="3307", safemode=False)
    assert (c["database.host"], c["database.port"], c["safemode"]) == ("db", 3307, False)


def test_override_restores_previous_values():
    c = Config({})
    c["stores"] = {"raw": dict(FILE_STORE)}
    stores = c["stores"]
    with c.override(database__host="db:1", safemode=False) as inside:
        assert inside is c
        assert c["database.host"] == "db:1" and c["safemode"] is False
        with c.override({"database.host": "inner", "stores.tmp": {"protocol": "file"}}):
            assert c["database.host"] == "inner" and "stores.tmp" in c
        assert c["database.host"] == "db:1" and "stores.tmp" not in c
    assert c["database.host"] == "localhost" and c["safemode"] is True
    assert c["stores"] is stores and stores == {"raw": FILE_STORE}


def test_override_restores_after_an_exception_and_refuses_bad_keys_first():
    c = Config({})

    def fail_inside():
        with c.override(stores={"x": {}}, database__port=1):
            assert c["stores"] == {"x": {}}
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail_inside()
    assert c["stores"] == {} and c["database.port"] == 3306
    with pytest.raises(UnknownSettingError), c.override(safemode=False, database__nope=1):
        pass  # pragma: no cover
    assert c["safemode"] is True  # nothing was applied


def test_repr_hides_the_password():
    c = Config({"DJ_PASS": "s3cret", "DJ_STORES": '{"raw": {"secret_key": "k"}}'})
    text = repr(c)
    assert "s3cret" not in text and "'k'" not in text
    assert "'database.password': '***'" in text and "stores=['raw']" in text
