"""DogStatsD datagrams, written here, and the socket they go through (UDP or a Unix datagram socket).

Why not the ``datadog`` package's ``DogStatsd`` client (checked with 0.56): its public calls return nothing and a
failed send is only logged and dropped, so the relay could neither retry nor count it; it adds the relay's own
``DD_ENV``/``DD_SERVICE``/``DD_VERSION`` to every metric as constant tags (a second ``env:`` beside the span's);
and it sends one line per distribution value, where protocol v1.1 packs many values on one line. The protocol
is a line per metric (``name:value[:value...]|type|#tag,tag``), lines joined by ``\\n`` into datagrams of at
most ``UDP_PAYLOAD`` / ``UDS_PAYLOAD`` bytes (the client's sizes: one Ethernet MTU for UDP, the Agent's buffer
for UDS).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable, Iterator

from glassbox.collector.exporters.metrics.config import dogstatsd_address
from glassbox.collector.exporters.metrics.derive import Key

UDP_PAYLOAD = 1432
UDS_PAYLOAD = 8192


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def lines(counts: dict[Key, float], values: dict[Key, list[float]], max_bytes: int) -> list[bytes]:
    """One line per count; distribution values packed several to a line, each line within ``max_bytes``."""
    out = [_line(name, number(total), "c", tags) for (name, tags), total in counts.items()]
    for (name, tags), samples in values.items():
        room = max_bytes - len(_line(name, "", "d", tags))
        chunk: list[str] = []
        used = 0
        for sample in samples:
            text = number(sample)
            if chunk and used + len(text) + 1 > room:
                out.append(_line(name, ":".join(chunk), "d", tags))
                chunk, used = [], 0
            chunk.append(text)
            used += len(text) + 1
        if chunk:
            out.append(_line(name, ":".join(chunk), "d", tags))
    return out


def _line(name: str, value: str, kind: str, tags: tuple[str, ...]) -> bytes:
    return f"{name}:{value}|{kind}{'|#' + ','.join(tags) if tags else ''}".encode()


def datagrams(encoded: Iterable[bytes], max_bytes: int) -> Iterator[tuple[bytes, int]]:
    """(datagram, lines in it): lines joined by newlines up to ``max_bytes`` (a longer line goes alone)."""
    batch: list[bytes] = []
    size = 0
    for line in encoded:
        if batch and size + 1 + len(line) > max_bytes:
            yield b"\n".join(batch), len(batch)
            batch, size = [], 0
        size += len(line) + (1 if batch else 0)
        batch.append(line)
    if batch:
        yield b"\n".join(batch), len(batch)


class DogStatsdSocket:
    """A connected datagram socket to the Agent, opened on first use and again after any error. Connected, so
    the kernel tells us what it can: a Unix socket that is missing or full, or (on the next send) a UDP port
    nobody listens on. Over UDP a datagram the Agent drops is invisible, as with every DogStatsD client."""

    def __init__(self, url: str):
        self.url = url
        self.scheme, self.address = dogstatsd_address(url)
        self.max_bytes = UDS_PAYLOAD if self.scheme == "unix" else UDP_PAYLOAD
        self._sock: socket.socket | None = None

    async def _connect(self) -> socket.socket:
        if self._sock is not None:
            return self._sock
        if self.scheme == "unix":
            family, address = socket.AF_UNIX, self.address
        else:
            host, port = self.address
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
            family, address = infos[0][0], infos[0][4]
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.connect(address)
        except OSError:
            sock.close()
            raise
        self._sock = sock
        return sock

    async def send(self, datagram: bytes) -> None:
        """One datagram; waits while a Unix socket's queue is full. OSError when it cannot be sent."""
        sock = await self._connect()
        try:
            await asyncio.get_running_loop().sock_sendall(sock, datagram)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
