"""Loaded by the wiring tests' Python apps (via PYTHONPATH): any DNS lookup or connection that is not to
loopback is refused and written to $GLASSBOX_NETGUARD_LOG, so a library phoning home fails the test."""

import os
import socket

_LOG = os.environ.get("GLASSBOX_NETGUARD_LOG")


def _loopback(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    return host in ("localhost", "::1") or str(host).startswith("127.")


def _refuse(what: str) -> None:
    with open(_LOG, "a") as log:
        log.write(what + "\n")


if _LOG:
    _getaddrinfo, _connect, _connect_ex = socket.getaddrinfo, socket.socket.connect, socket.socket.connect_ex

    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not _loopback(host):
            _refuse(f"python getaddrinfo {host!r}")
            raise socket.gaierror(f"wiring test: lookup of {host!r} refused (nothing may leave the machine)")
        return _getaddrinfo(host, *args, **kwargs)

    def _check(address) -> None:
        if isinstance(address, tuple) and not _loopback(address[0]):
            _refuse(f"python connect {address!r}")
            raise OSError(f"wiring test: connection to {address!r} refused (nothing may leave the machine)")

    def connect(self, address):
        _check(address)
        return _connect(self, address)

    def connect_ex(self, address):
        _check(address)
        return _connect_ex(self, address)

    socket.getaddrinfo = getaddrinfo
    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
