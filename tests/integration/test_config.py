"""``config`` drives ``connect()``, ``conn()``, ``Schema(name)``, ``VirtualModule(...)`` and
``list_schemas()`` without a connection, on the real server; Django's settings fill it.

Tests change the process-wide ``config`` only inside ``config.override(...)`` and leave the
shared connection open on the settings' server (fixture ``shared_restored``)."""

from __future__ import annotations

import socket

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from pipeline_core import datamodel as dm
from pipeline_core.apps import fill_datamodel_config
from pipeline_core.datamodel.hostport import format_host_port
from pipeline_core.datamodel.stores import StoreError
from tests.integration.test_connection_hostport import Relay, _can_listen, _server_side

pytestmark = pytest.mark.integration


@pytest.fixture
def shared_restored():
    """After the test, the shared connection is a fresh one opened from the (restored)
    config, whatever the test pointed it at."""
    yield
    dm.conn().close()
    dm.conn(reset=True)


@pytest.fixture
def db_config(dj_params):
    """The test server's settings as config keys (host carries the port)."""
    return {
        "database.host": format_host_port(dj_params["host"], int(dj_params["port"])),
        "database.user": dj_params["user"],
        "database.password": dj_params["password"],
    }


# --- Django fills the config ------------------------------------------------------------------


def test_django_settings_fill_the_config(settings):
    db = settings.LABBOOK_PIPELINE_DB
    assert dm.config["database.host"] == db["host"]
    assert dm.config["database.port"] == int(db["port"])
    assert dm.config["database.user"] == db["user"]
    assert dm.config["database.password"] == db["password"]
    assert dm.config["stores"] == settings.LABBOOK_STORES
    assert dm.config["stores"] is not settings.LABBOOK_STORES  # a copy, not shared


def test_changed_settings_reach_the_config_and_are_restored(tmp_path, settings):
    stores = {"default": "main", "main": {"protocol": "file", "location": str(tmp_path)}}
    before = dict(dm.config["stores"])
    with override_settings(LABBOOK_STORES=stores):
        assert dm.config["stores"] == stores
    assert dm.config["stores"] == before
    db = {**settings.LABBOOK_PIPELINE_DB, "host": "::1", "port": 3307}
    with override_settings(LABBOOK_PIPELINE_DB=db):
        assert (dm.config["database.host"], dm.config["database.port"]) == ("::1", 3307)
    assert dm.config["database.host"] == settings.LABBOOK_PIPELINE_DB["host"]


def test_settings_the_config_refuses_are_improperly_configured(settings):
    bad = {**settings.LABBOOK_PIPELINE_DB, "port": 0}
    refused = pytest.raises(ImproperlyConfigured, match=r"config\['database.port'\] = 0")
    with refused, override_settings(LABBOOK_PIPELINE_DB=bad):
        pass  # pragma: no cover
    fill_datamodel_config()  # the settings are valid again
    assert dm.config["database.port"] == int(settings.LABBOOK_PIPELINE_DB["port"])


# --- connect() and conn() ----------------------------------------------------------------------


def test_connect_without_arguments_uses_the_config(dj_params):
    conn = dm.connect()
    try:
        assert (conn.host, conn.port) == (dj_params["host"], int(dj_params["port"]))
        assert conn.current_user().startswith(f"{dj_params['user']}@")
        assert _server_side(conn, dj_params)[0] == int(dj_params["port"])
    finally:
        conn.close()


def test_connect_takes_the_port_from_the_config_unless_the_host_has_one(dj_params, db_config):
    relay = Relay("127.0.0.1", socket.AF_INET, (dj_params["host"], int(dj_params["port"])))
    try:
        with dm.config.override(database__host="127.0.0.1", database__port=relay.port):
            conn = dm.connect()
            assert conn.port == relay.port and len(relay.accepted) == 1
            assert _server_side(conn, dj_params)[1] == relay.accepted[0][1]
            conn.close()
        with dm.config.override(db_config, database__port=relay.port):
            conn = dm.connect()  # the host's port wins over config['database.port']
            assert conn.port == int(dj_params["port"]) and len(relay.accepted) == 1
            conn.close()
    finally:
        relay.close()


def test_connect_arguments_win_over_the_config(dj_params):
    with dm.config.override(database__host="nowhere.invalid", database__user="nobody"):
        conn = dm.connect(dj_params["host"], dj_params["user"], port=int(dj_params["port"]))
        try:  # the password still came from the config
            assert conn.current_user().startswith(f"{dj_params['user']}@")
        finally:
            conn.close()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"database.user": None}, r"Database user not configured: set config\['database.user'\]"),
        ({"database.password": None}, r"password not configured.*DJ_PASS"),
        ({"database.backend": "postgresql"}, "LabBook connects to MySQL/MariaDB only"),
        ({"database.use_tls": True}, "do not use TLS"),
    ],
)
def test_connect_refuses_what_it_cannot_do(override, message):
    with dm.config.override(override), pytest.raises(dm.DataJointError, match=message):
        dm.connect()
    with dm.config.override(override), pytest.raises(dm.DataJointError, match=message):
        dm.conn(reset=True)


def test_stores_come_from_the_config(tmp_path):
    spec = {"protocol": "file", "location": str(tmp_path)}
    with dm.config.override(stores={"default": "main", "main": spec}):
        conn = dm.connect()
        assert "main" in conn.stores and conn.stores.spec(None).location == str(tmp_path)
        conn.close()
        conn = dm.connect(stores={})  # explicitly none
        assert len(conn.stores) == 0
        conn.close()
    refused = pytest.raises(StoreError, match=r'stores\["main"\] is missing: location')
    with dm.config.override(stores={"main": {"protocol": "file"}}), refused:
        dm.connect()


def test_conn_is_shared_until_reset(dj_params, shared_restored):
    first = dm.conn(reset=True)
    assert dm.conn() is first and dm.conn() is first
    # as DataJoint: arguments are ignored while a shared connection exists
    assert dm.conn("nowhere.invalid", "nobody", "x") is first
    second = dm.conn(reset=True)
    assert second is not first and dm.conn() is second
    assert second.connection_id() != first.connection_id()
    assert first.query("SELECT 1").fetchone() == (1,)  # the old one was not closed
    first.close()


def test_conn_with_arguments_replaces_it_only_on_reset(dj_params, shared_restored):
    conn = dm.conn(
        dj_params["host"], dj_params["user"], dj_params["password"], reset=True, use_tls=False
    )
    assert dm.conn() is conn
    with pytest.raises(dm.DataJointError, match="do not use TLS"):
        dm.conn(reset=True, use_tls=True)
    assert dm.conn() is conn


@pytest.mark.skipif(not _can_listen("::1", socket.AF_INET6), reason="no IPv6 loopback here")
def test_conn_reaches_an_ipv6_host_set_in_the_config(dj_params, shared_restored):
    relay = Relay("::1", socket.AF_INET6, (dj_params["host"], int(dj_params["port"])))
    try:
        with dm.config.override(database__host=f"[::1]:{relay.port}"):
            conn = dm.conn(reset=True)
            ((client, upstream),) = relay.accepted
            assert client == "::1" and (conn.host, conn.port) == ("::1", relay.port)
            assert _server_side(conn, dj_params) == (int(dj_params["port"]), upstream)
    finally:
        dm.conn().close()
        relay.close()


# --- Schema, VirtualModule and list_schemas without a connection -------------------------------


def test_schema_and_virtual_module_use_the_shared_connection(new_db, shared_restored):
    database = new_db("cfg")
    shared = dm.conn(reset=True)
    schema = dm.Schema(database)
    assert schema.connection is shared

    @schema
    class Animal(dm.Manual):
        definition = """
        animal_id : int32
        ---
        name : varchar(20)
        """

    @schema
    class Visit(dm.Manual):
        definition = """
        -> Animal
        visit : int32
        """

        class Note(dm.Part):
            definition = """
            -> master
            note_id : int16
            """

    Animal.insert1(dict(animal_id=1, name="rex"))
    assert database in dm.list_schemas()
    module = dm.VirtualModule("cfg_module", database)
    assert module.connection is shared
    assert sorted(schema.list_tables()) == ["animal", "visit", "visit__note"]
    assert module.Animal.fetch1("name") == "rex"
    assert module.Visit.Note.full_table_name == Visit.Note.full_table_name
    assert module.Animal.full_table_name == f"`{database}`.`animal`"
