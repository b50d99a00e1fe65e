"""The one parser of ``host[:port]`` values (``DJ_HOST``, ``config['database.host']``).

Standard library only, and runnable as a script, because ``scripts/ensure_services.sh``
calls it by file path with the system ``python3`` before the venv exists::

    python3 -I pipeline_core/datamodel/hostport.py VALUE DEFAULT_PORT   # prints "host port"

(exit status 2 and a message on standard error when VALUE or DEFAULT_PORT is invalid).

Accepted forms (surrounding whitespace is ignored):

=========================  =============================  ====================================
value                      result (default port 3306)     note
=========================  =============================  ====================================
``db.example.org``         ``("db.example.org", 3306)``   host name: letters, digits, ``.-_``
``db.example.org:3307``    ``("db.example.org", 3307)``
``127.0.0.1[:3307]``       ``("127.0.0.1", 3306|3307)``   all digits and dots: must be IPv4
``[::1]`` / ``[::1]:3307`` ``("::1", 3306|3307)``         brackets: must hold an IPv6 address
``::1``                    ``("::1", 3306)``              bare IPv6: never has a port (RFC 3986
                                                          brackets are needed for one)
=========================  =============================  ====================================

A port is decimal digits only, 1-65535. Everything else (empty host or port, a stray or
unbalanced bracket, ``host:port:x`` that is not an IPv6 address, a scheme or user part
such as ``mysql://db`` or ``me@db``) raises :class:`HostPortError`, a ``ValueError``
whose message quotes the value and says what is wrong.

DataJoint 2.3.5 itself splits ``host:port`` with ``host.split(":")``, so it cannot take
IPv6 addresses at all; for every value it does accept this parser gives the same answer.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if __name__ == "__main__" and sys.path and os.path.abspath(sys.path[0] or ".") == _HERE:
    # Run by path, Python puts this folder first on sys.path, where types.py would shadow
    # the standard library's ``types`` (imported by ``ipaddress``); drop it.
    del sys.path[0]

import ipaddress  # noqa: E402
from typing import NamedTuple  # noqa: E402

MIN_PORT, MAX_PORT = 1, 65535
_NAME_PUNCTUATION = frozenset(".-_")


class HostPortError(ValueError):
    """A ``host[:port]`` value (or a port) is invalid. The message quotes the value.

    Attributes:
        value: the text that was parsed.
        reason: what is wrong with it, without the value.
    """

    def __init__(self, value: object, reason: str):
        super().__init__(f"invalid host:port {value!r}: {reason}")
        self.value = value
        self.reason = reason


class HostPort(NamedTuple):
    """A parsed address: ``host`` without brackets (``"::1"``) and ``port`` (an int)."""

    host: str
    port: int


def parse_port(value: object, *, source: object = None) -> int:
    """Return ``value`` (an int, or a string of decimal digits) as a TCP port number.

    Args:
        value: the port; ``bool`` is refused even though it is an int, and text must be
            digits only (no sign, no spaces).
        source: the whole text the port came from, quoted in the error (default ``value``).
    Raises:
        HostPortError: not a whole number, or outside 1-65535.
    """
    source = value if source is None else source
    if isinstance(value, bool):
        raise HostPortError(source, f"port {value!r} is not a number")
    if isinstance(value, str):
        if not value:
            raise HostPortError(source, "the port is empty")
        if not (value.isascii() and value.isdigit()):
            raise HostPortError(source, f"port {value!r} is not a number")
        value = int(value)
    if not isinstance(value, int):
        raise HostPortError(source, f"port {value!r} is not a whole number")
    if not MIN_PORT <= value <= MAX_PORT:
        raise HostPortError(source, f"port {value} is outside {MIN_PORT}-{MAX_PORT}")
    return value


def parse_host_port(value: str, default_port: int | str = 3306) -> HostPort:
    """Split ``host``, ``host:port``, ``[ipv6]``, ``[ipv6]:port`` or a bare IPv6 address.

    Args:
        value: the text, e.g. ``DJ_HOST``; see the module docstring for the forms.
        default_port: port used when ``value`` names none (validated like a port).
    Returns:
        ``HostPort(host, port)``; an IPv6 host is returned without brackets.
    Raises:
        HostPortError: ``value`` is not a string or not one of the accepted forms, or
            ``default_port`` is not a valid port.
    """
    if not isinstance(value, str):
        raise HostPortError(value, f"expected text, not {type(value).__name__}")
    try:
        default_port = parse_port(default_port)
    except HostPortError as exc:
        raise HostPortError(default_port, f"default {exc.reason}") from None
    text = value.strip()
    if not text:
        raise HostPortError(value, "the host is empty")
    if "://" in text or "/" in text:
        raise HostPortError(value, "this looks like a URL or path; give host or host:port")
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise HostPortError(value, "'[' is not closed by ']'")
        host, rest = text[1:close], text[close + 1 :]
        _check_ipv6(value, host, bracketed=True)
        if not rest:
            return HostPort(host, default_port)
        if not rest.startswith(":"):
            raise HostPortError(value, f"unexpected {rest!r} after ']' (expected ':port')")
        return HostPort(host, parse_port(rest[1:], source=value))
    if "[" in text or "]" in text:
        raise HostPortError(value, "unbalanced bracket (an IPv6 address is written [addr]:port)")
    if text.count(":") >= 2:
        _check_ipv6(value, text, bracketed=False)
        return HostPort(text, default_port)
    host, colon, port = text.partition(":")
    _check_name(value, host)
    if not colon:
        return HostPort(host, default_port)
    return HostPort(host, parse_port(port, source=value))


def format_host_port(host: str, port: int) -> str:
    """The inverse of :func:`parse_host_port`: ``host:port``, with IPv6 in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _check_ipv6(value: str, host: str, *, bracketed: bool) -> None:
    if not host:
        raise HostPortError(value, "the host between '[' and ']' is empty")
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        if bracketed:
            raise HostPortError(value, f"{host!r} in brackets is not an IPv6 address") from None
        raise HostPortError(
            value,
            f"{host!r} is neither host:port nor an IPv6 address "
            "(write an IPv6 address with a port as [addr]:port)",
        ) from None


def _check_name(value: str, host: str) -> None:
    if not host:
        raise HostPortError(value, "the host before ':' is empty")
    bad = sorted({c for c in host if not (c.isalnum() or c in _NAME_PUNCTUATION)})
    if bad:
        raise HostPortError(
            value, f"host {host!r} contains {''.join(bad)!r} (not a host name or address)"
        )
    if all(c.isdigit() or c == "." for c in host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise HostPortError(value, f"{host!r} is not an IPv4 address") from None


def main(argv: list[str]) -> int:
    """Command line: ``hostport.py VALUE DEFAULT_PORT`` prints ``host port``.

    Returns:
        0 on success; 2 (with a message on standard error) on bad input or usage.
    """
    if len(argv) != 2:
        print("usage: hostport.py VALUE DEFAULT_PORT  (prints 'host port')", file=sys.stderr)
        return 2
    try:
        host, port = parse_host_port(argv[0], argv[1])
    except HostPortError as exc:
        print(f"hostport.py: {exc}", file=sys.stderr)
        return 2
    print(host, port)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
