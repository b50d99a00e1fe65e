"""The one ``host[:port]`` parser (pipeline_core/datamodel/hostport.py): its forms, its
errors, its command line run by the system python3, and the copy of it that
scripts/ensure_services.sh calls."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline_core.datamodel.hostport import (
    HostPort,
    HostPortError,
    format_host_port,
    parse_host_port,
    parse_port,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "pipeline_core" / "datamodel" / "hostport.py"
ENSURE = REPO_ROOT / "scripts" / "ensure_services.sh"
SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin:/bin") or shutil.which("python3")

VALID = [
    # IPv4
    ("127.0.0.1", ("127.0.0.1", 3306)),
    ("127.0.0.1:3307", ("127.0.0.1", 3307)),
    ("  10.0.0.5:1  ", ("10.0.0.5", 1)),
    # host names
    ("localhost", ("localhost", 3306)),
    ("db.example.org:65535", ("db.example.org", 65535)),
    ("mysql_primary-2", ("mysql_primary-2", 3306)),
    ("db:3306", ("db", 3306)),
    # IPv6 in brackets, with or without a port
    ("[::1]:3308", ("::1", 3308)),
    ("[::1]", ("::1", 3306)),
    ("[2001:db8::17]:13306", ("2001:db8::17", 13306)),
    ("[fe80::1%eth0]:5", ("fe80::1%eth0", 5)),
    # bare IPv6: never a port
    ("::1", ("::1", 3306)),
    ("2001:db8::17", ("2001:db8::17", 3306)),
    ("::ffff:127.0.0.1", ("::ffff:127.0.0.1", 3306)),
]


@pytest.mark.parametrize(("value", "expected"), VALID)
def test_valid_forms(value, expected):
    result = parse_host_port(value)
    assert result == expected
    assert isinstance(result, HostPort) and isinstance(result.port, int)
    assert (result.host, result.port) == expected


def test_default_port_is_used_only_without_a_port():
    assert parse_host_port("db", 13306) == ("db", 13306)
    assert parse_host_port("db", "13306") == ("db", 13306)
    assert parse_host_port("[::1]", 1) == ("::1", 1)
    assert parse_host_port("::1", 1) == ("::1", 1)
    assert parse_host_port("db:3307", 13306) == ("db", 3307)
    assert parse_host_port("[::1]:3307", 13306) == ("::1", 3307)


INVALID = [
    ("", "the host is empty"),
    ("   ", "the host is empty"),
    (":3306", "the host before ':' is empty"),
    ("db:", "the port is empty"),
    ("db:abc", "port 'abc' is not a number"),
    ("db:-1", "port '-1' is not a number"),
    ("db:+5", "port '+5' is not a number"),
    ("db:3306.0", "port '3306.0' is not a number"),
    ("db: 3306", "port ' 3306' is not a number"),
    ("db:0", "port 0 is outside 1-65535"),
    ("db:65536", "port 65536 is outside 1-65535"),
    ("db:99999999999999999999", "is outside 1-65535"),
    ("db:٣٣٠٦", "is not a number"),  # Arabic-Indic digits are digits, but not ASCII
    ("[::1", "'[' is not closed by ']'"),
    ("[::1:3306", "'[' is not closed by ']'"),
    ("::1]:3306", "unbalanced bracket"),
    ("db]", "unbalanced bracket"),
    ("[]", "the host between '[' and ']' is empty"),
    ("[]:3306", "the host between '[' and ']' is empty"),
    ("[db.example.org]:3306", "'db.example.org' in brackets is not an IPv6 address"),
    ("[::1]3306", "unexpected '3306' after ']'"),
    ("[::1]:", "the port is empty"),
    ("[::1]:x", "port 'x' is not a number"),
    ("a:b:c", "is neither host:port nor an IPv6 address"),
    ("db:3306:1", "is neither host:port nor an IPv6 address"),
    ("999.1.1.1", "'999.1.1.1' is not an IPv4 address"),
    ("1.2.3", "'1.2.3' is not an IPv4 address"),
    ("me@db", "contains '@'"),
    ("db host", "contains ' '"),
    ("mysql://db:3306", "looks like a URL"),
]


@pytest.mark.parametrize(("value", "reason"), INVALID)
def test_invalid_forms_raise_a_value_error_quoting_the_value(value, reason):
    with pytest.raises(HostPortError) as info:
        parse_host_port(value)
    assert isinstance(info.value, ValueError)
    assert reason in str(info.value)
    assert repr(value) in str(info.value)  # the message quotes the bad value
    assert info.value.value == value


@pytest.mark.parametrize("value", [None, 3306, b"db"])
def test_non_text_is_refused(value):
    with pytest.raises(HostPortError, match="expected text"):
        parse_host_port(value)


@pytest.mark.parametrize(
    ("default", "reason"),
    [
        ("abc", "default port 'abc' is not a number"),
        (0, "default port 0 is outside"),
        (True, "default port True is not a number"),
        (3306.0, "is not a whole number"),
    ],
)
def test_bad_default_port(default, reason):
    with pytest.raises(HostPortError, match=reason):
        parse_host_port("db", default)


def test_parse_port():
    assert parse_port(1) == 1 and parse_port("65535") == 65535
    for bad in (0, 65536, -3, "", "3e3", True, None, 3.0):
        with pytest.raises(HostPortError):
            parse_port(bad)


@pytest.mark.parametrize(("value", "_"), VALID)
def test_format_round_trips(value, _):
    host, port = parse_host_port(value)
    text = format_host_port(host, port)
    assert parse_host_port(text, default_port=1) == (host, port)
    assert text.startswith("[") == (":" in host)


# --- the command line, run by the system python3 (no venv, no package import) ------------


def _cli(*args: str, cwd: Path, isolated: bool = True) -> subprocess.CompletedProcess:
    # -I (as ensure_services.sh runs it): isolated mode, neither the script's folder nor
    # PYTHON* variables are used, so the script cannot lean on the package (importing it
    # would import pymysql). Without -I the script must still work (it drops its own folder,
    # whose types.py would shadow the standard library's).
    return subprocess.run(
        [SYSTEM_PYTHON, *(["-I"] if isolated else []), str(SCRIPT), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(("value", "expected"), VALID)
def test_command_line_prints_host_and_port(value, expected, tmp_path):
    result = _cli(value, "3306", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{expected[0]} {expected[1]}\n"
    assert result.stderr == ""


@pytest.mark.parametrize(("value", "reason"), INVALID)
def test_command_line_exits_2_with_the_reason(value, reason, tmp_path):
    result = _cli(value, "3306", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert reason in result.stderr and repr(value) in result.stderr


def test_command_line_without_isolated_mode(tmp_path):
    assert _cli("[::1]:3307", "1", cwd=tmp_path, isolated=False).stdout == "::1 3307\n"
    assert _cli("::1", "1", cwd=SCRIPT.parent, isolated=False).stdout == "::1 1\n"


def test_command_line_default_port_and_usage(tmp_path):
    assert _cli("db", "13306", cwd=tmp_path).stdout == "db 13306\n"
    bad_default = _cli("db", "x", cwd=tmp_path)
    assert bad_default.returncode == 2 and "default port 'x'" in bad_default.stderr
    usage = _cli("db", cwd=tmp_path)
    assert usage.returncode == 2 and "usage: hostport.py VALUE DEFAULT_PORT" in usage.stderr


# --- scripts/ensure_services.sh: its parse_host_port function is this parser --------------


def _ensure_function(snippet: str, *args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    # Sourcing the script defines its functions without running any step.
    return subprocess.run(
        ["bash", "-c", f'source "{ENSURE}" && {snippet}', "_", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path)},
    )


@pytest.mark.parametrize(("value", "expected"), VALID)
def test_ensure_services_parses_with_the_same_parser(value, expected, tmp_path):
    result = _ensure_function('parse_host_port "$1" 3306', value, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{expected[0]} {expected[1]}\n"


def test_ensure_services_refuses_a_bad_dj_host_before_doing_anything(tmp_path):
    bad = _ensure_function('parse_host_port "$1" 3306', "[::1:3306", tmp_path=tmp_path)
    assert bad.returncode == 2 and "'[' is not closed by ']'" in bad.stderr
    # the mariadb step stops on it with both messages (and starts nothing)
    result = subprocess.run(
        ["bash", str(ENSURE), "mariadb"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path), "DJ_HOST": "db:0"},
    )
    assert result.returncode == 1
    assert "port 0 is outside 1-65535" in result.stderr
    assert "ensure_services: ERROR: DJ_HOST='db:0'" in result.stderr


def test_ensure_services_writes_ipv6_hosts_in_urls(tmp_path):
    result = _ensure_function(
        'read -r h p <<<"$(parse_host_port "$1" 3306)" && printf "mysql://x@%s:%s/labbook" '
        '"$(url_host "$h")" "$p"',
        "[::1]:3307",
        tmp_path=tmp_path,
    )
    assert result.stdout == "mysql://x@[::1]:3307/labbook", result.stderr
