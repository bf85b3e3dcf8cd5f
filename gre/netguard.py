"""A process-wide network guard: no connection and no name look-up beyond loopback.

``--offline`` keeps gre's own tools off the network; the guard also holds for every
library underneath (a model hub client, a search package), because it replaces the
socket layer itself. ``GRE_NETWORK_GUARD=loopback`` switches it on for a ``gre``
process: a connection to anything but 127.0.0.1 / ::1 / a Unix socket, or a DNS
look-up of any other name, raises :class:`NetworkBlocked` (an ``OSError``, so callers
see a failed connection). The test suite uses the same guard.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from gre.errors import GreError

ENV = "GRE_NETWORK_GUARD"
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})

_real: dict[str, Any] = {
    "connect": socket.socket.connect,
    "connect_ex": socket.socket.connect_ex,
    "getaddrinfo": socket.getaddrinfo,
}


class NetworkBlocked(GreError, OSError):
    """A connection or look-up beyond loopback while the guard is on."""


def is_loopback(address: Any) -> bool:
    """True for a Unix socket path, a loopback IP or a loopback host name."""
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _connect(self: socket.socket, address: Any) -> None:
    if not is_loopback(address):
        raise NetworkBlocked(f"network access blocked (loopback only): {address!r}")
    _real["connect"](self, address)


def _connect_ex(self: socket.socket, address: Any) -> int:
    if not is_loopback(address):
        raise NetworkBlocked(f"network access blocked (loopback only): {address!r}")
    result: int = _real["connect_ex"](self, address)
    return result


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if host is not None and not is_loopback((host, 0)):
        raise NetworkBlocked(f"name look-up blocked (loopback only): {host!r}")
    return _real["getaddrinfo"](host, *args, **kwargs)


def install() -> None:
    """Switch the guard on for this process (idempotent)."""
    setattr(socket.socket, "connect", _connect)  # noqa: B010 - patching the class itself
    setattr(socket.socket, "connect_ex", _connect_ex)  # noqa: B010
    setattr(socket, "getaddrinfo", _getaddrinfo)  # noqa: B010


def uninstall() -> None:
    """Switch the guard off."""
    setattr(socket.socket, "connect", _real["connect"])  # noqa: B010
    setattr(socket.socket, "connect_ex", _real["connect_ex"])  # noqa: B010
    setattr(socket, "getaddrinfo", _real["getaddrinfo"])  # noqa: B010
