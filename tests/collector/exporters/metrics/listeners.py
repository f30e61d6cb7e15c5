"""Real DogStatsD listeners for the tests: a UDP socket on 127.0.0.1 and a Unix datagram socket in a temp dir,
each read by a thread, with the datagrams decoded the way the Agent reads them."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Line:
    name: str
    kind: str  # c | d
    values: tuple[float, ...]
    tags: tuple[str, ...]

    def tag(self, key: str) -> str | None:
        return next((t.split(":", 1)[1] for t in self.tags if t.split(":", 1)[0] == key), None)


def decode(datagram: bytes) -> list[Line]:
    """DogStatsD protocol v1.1: ``name:v[:v...]|type[|@rate][|#tag,tag]``, lines separated by newlines."""
    out = []
    for raw in datagram.decode().split("\n"):
        if not raw:
            continue
        head, *fields = raw.split("|")
        name, _, values = head.partition(":")
        tags: tuple[str, ...] = ()
        for part in fields[1:]:
            assert part.startswith("#"), f"unexpected field {part!r} in {raw!r}"
            tags = tuple(part[1:].split(","))
        out.append(Line(name, fields[0], tuple(float(v) for v in values.split(":")), tags))
    return out


class Listener:
    """Collects every datagram sent to ``sock`` until closed."""

    def __init__(self, sock: socket.socket, url: str):
        self.sock = sock
        self.url = url
        self.datagrams: list[bytes] = []
        self._lock = threading.Lock()
        sock.settimeout(0.05)
        self._stop = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop:
            try:
                data = self.sock.recv(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.datagrams.append(data)

    @property
    def lines(self) -> list[Line]:
        with self._lock:
            return [line for d in self.datagrams for line in decode(d)]

    def total(self, name: str, **tags: str) -> float:
        """Sum of a count's values (or number of a distribution's samples) over the lines with these tags."""
        return sum(
            sum(line.values) if line.kind == "c" else len(line.values)
            for line in self.lines
            if line.name == name and all(line.tag(k) == v for k, v in tags.items())
        )

    def wait_for(self, done: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, f"timed out; got {len(self.datagrams)} datagram(s): {self.lines[:5]}"
            time.sleep(0.01)

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        self.sock.close()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def udp_listener() -> Listener:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind(("127.0.0.1", 0))
    return Listener(sock, f"udp://127.0.0.1:{sock.getsockname()[1]}")


def unix_listener(path: Path) -> Listener:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    return Listener(sock, f"unix://{path}")
