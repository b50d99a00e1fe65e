"""The parsed host and port reach the server (issue #10 item 3).

Every form is checked from the server's side: the connection's ``CONNECTION_ID()`` is looked
up in the processlist from a separate administrative connection and its client address must
be the one this test expects. The test server listens on 127.0.0.1 only, so IPv6 forms go
through a small TCP relay listening on ``[::1]`` (a real socket forwarder, no library code
involved); the relay records the local address of each upstream connection it opens, and the
server must report exactly that address for our connection.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading

import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.hostport import HostPortError, parse_host_port
from tests.conftest import connect_pipeline_server

pytestmark = pytest.mark.integration


class Relay:
    """Forward TCP connections accepted on ``(listen_host, ephemeral port)`` to ``target``.

    Attributes:
        port: the port it listens on.
        accepted: ``(client address, upstream local "ip:port")`` per accepted connection.
    """

    def __init__(self, listen_host: str, family: int, target: tuple[str, int]):
        self._target = target
        self._server = socket.socket(family, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind((listen_host, 0))
        self._server.listen(8)
        self.port = self._server.getsockname()[1]
        self.accepted: list[tuple[str, str]] = []
        self._sockets: list[socket.socket] = [self._server]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, address = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._target, timeout=10)
            upstream.settimeout(None)
            local = upstream.getsockname()
            self.accepted.append((address[0], f"{local[0]}:{local[1]}"))
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()


def _can_listen(host: str, family: int) -> bool:
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
        return True
    except OSError:
        return False


def _server_side(conn: dm.Connection, dj_params: dict) -> tuple[int, str]:
    """``(@@port, client address)`` of ``conn`` as the server sees it, the address read from
    the processlist by a different connection (so it is the server's record, not ours)."""
    connection_id = conn.connection_id()
    port = int(conn.query("SELECT @@port").fetchone()[0])
    admin = connect_pipeline_server(dj_params)
    try:
        with admin.cursor() as cur:
            cur.execute(
                "SELECT HOST FROM information_schema.PROCESSLIST WHERE ID = %s", (connection_id,)
            )
            (host,) = cur.fetchone()
    finally:
        admin.close()
    return port, host


@pytest.fixture
def relay(dj_params):
    relays: list[Relay] = []

    def make(listen_host: str, family: int) -> Relay:
        relays.append(Relay(listen_host, family, (dj_params["host"], int(dj_params["port"]))))
        return relays[-1]

    yield make
    for r in relays:
        r.close()


def _connect(dj_params, host, **kwargs) -> dm.Connection:
    return dm.Connection(host, dj_params["user"], dj_params["password"], **kwargs)


def test_host_with_port_and_default_port_reach_the_server(dj_params):
    host, port = dj_params["host"], int(dj_params["port"])
    forms = [
        (f"{host}:{port}", {}),  # the port in the host
        (host, {"port": port}),  # the port argument
        (f"{host}:{port}", {"port": 1}),  # the host's port wins (DataJoint's rule)
    ]
    if port == 3306:
        forms.append((host, {}))  # the default port
    for text, kwargs in forms:
        conn = _connect(dj_params, text, **kwargs)
        try:
            assert (conn.host, conn.port) == (host, port), text
            server_port, client = _server_side(conn, dj_params)
            assert server_port == port, text
            # the server's view of the client matches this socket's local address
            local = conn._conn._sock.getsockname()
            assert client == f"{local[0]}:{local[1]}", text
        finally:
            conn.close()


def test_ipv4_relay_on_another_port(dj_params, relay):
    """A non-default port in ``host:port`` is the one dialled (a relay on a fresh port)."""
    r = relay("127.0.0.1", socket.AF_INET)
    conn = _connect(dj_params, f"127.0.0.1:{r.port}")
    try:
        assert conn.port == r.port != int(dj_params["port"])
        assert conn.query("SELECT 1").fetchone() == (1,)
        ((client, upstream),) = r.accepted
        assert client == "127.0.0.1"
        assert _server_side(conn, dj_params) == (int(dj_params["port"]), upstream)
    finally:
        conn.close()


@pytest.mark.skipif(not _can_listen("::1", socket.AF_INET6), reason="no IPv6 loopback here")
@pytest.mark.parametrize("form", ["[::1]:{port}", "[::1]", "::1"])
def test_ipv6_forms_reach_the_server_through_an_ipv6_relay(dj_params, relay, form):
    """``[::1]:port``, ``[::1]`` with ``port=`` and bare ``::1`` with ``port=`` all dial
    ``::1`` on that port: the relay listening only there accepts an IPv6 client, and the
    server reports the relay's upstream address for our CONNECTION_ID()."""
    r = relay("::1", socket.AF_INET6)
    text = form.format(port=r.port)
    kwargs = {} if "{port}" in form else {"port": r.port}
    conn = _connect(dj_params, text, **kwargs)
    try:
        assert (conn.host, conn.port) == ("::1", r.port)
        assert repr(conn).endswith(f"@[::1]:{r.port})")
        ((client, upstream),) = r.accepted
        assert client == "::1"
        assert _server_side(conn, dj_params) == (int(dj_params["port"]), upstream)
    finally:
        conn.close()


def _server_listens_on_ipv6(port: int) -> bool:
    try:
        with socket.create_connection(("::1", port), timeout=2):
            return True
    except OSError:
        return False


def test_ipv6_loopback_directly_when_the_server_listens_there(dj_params):
    port = int(dj_params["port"])
    if not _server_listens_on_ipv6(port):
        pytest.skip(f"the server does not listen on [::1]:{port} (the relay test covers IPv6)")
    conn = _connect(dj_params, f"[::1]:{port}")
    try:
        server_port, client = _server_side(conn, dj_params)
        assert server_port == port and client.startswith("::1:")
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("host", "reason"),
    [("[::1", "'[' is not closed"), ("db:x", "port 'x' is not a number"), ("", "host is empty")],
)
def test_malformed_hosts_fail_before_dialling(dj_params, host, reason):
    """The parser's error, as a DataJointError (mapped by the front doors), before any
    connection is attempted."""
    with pytest.raises(HostPortError, match=re.escape(reason)):
        parse_host_port(host)
    for call in (
        lambda: _connect(dj_params, host),
        lambda: dm.connect(host, dj_params["user"], dj_params["password"]),
    ):
        with pytest.raises(dm.DataJointError, match=re.escape(reason)):
            call()
