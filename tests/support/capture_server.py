"""An HTTP server on 127.0.0.1 that records requests and answers from a script.

Stands in for Datadog's agentless intake (and any other HTTP destination) so tests can
see the exact bytes the relay sent -- including gzip bodies, which the test agent
decompresses before recording -- and can script failures (429, 503, slow answers).
Stdlib only (``ThreadingHTTPServer``); chunked request bodies are de-chunked by hand.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only header map (a repeated header keeps its last value)."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._d = {k.lower(): (k, v) for k, v in items}

    def __getitem__(self, key: str) -> str:
        return self._d[key.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._d.values())

    def __len__(self) -> int:
        return len(self._d)

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


@dataclass
class CapturedRequest:
    """One request as received. ``raw_body`` is the entity as sent (de-chunked, still
    compressed); ``body`` is it gunzipped when ``Content-Encoding: gzip`` (None if that failed)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Headers
    raw_body: bytes
    body: bytes | None
    chunked: bool
    response_status: int = 0
    received_at: float = 0.0  # time.monotonic() when the request was fully read

    def json(self) -> Any:
        if self.body is None:
            raise ValueError("the body could not be decompressed")
        return json.loads(self.body)


Response = tuple  # (status, headers, body) or (status, headers, body, delay_seconds)


@dataclass
class _Script:
    queue: deque = field(default_factory=deque)
    default: Response = (202, {"Content-Type": "application/json"}, b"{}")
    path_queues: dict[str, deque] = field(default_factory=dict)  # path → responses (``respond_to``)
    path_defaults: dict[str, Response] = field(default_factory=dict)  # path → answer (``set_default_for``)


class CaptureServer:
    """Records every request; answers from ``respond_with`` queue, then the default.

    Per-path scripting (``respond_to``, ``set_default_for``) comes first for requests whose path (without
    the query string) equals the scripted path. The answer to a request is the first of:
    its path's queue → its path's default → the global queue → the global default.
    """

    def __init__(self, port: int = 0) -> None:
        """``port`` 0 picks a free port at ``start``; a fixed port lets a test stop the server and start a new
        one at the same address (an outage the client under test must ride out)."""
        self.port = port
        self.requests: list[CapturedRequest] = []
        self._cond = threading.Condition()
        self._script = _Script()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = f"http://127.0.0.1:{port}" if port else ""

    # -- scripting -----------------------------------------------------------------------
    def respond_with(self, responses: Iterable[Response]) -> None:
        """Queue responses to give in order, e.g. ``[(429, {"Retry-After": "1"}, b"")]``.

        A 4th element delays that answer by so many seconds (for timeout tests).
        """
        with self._cond:
            self._script.queue.extend(responses)

    def set_default(
        self, status: int, headers: Mapping[str, str] | None = None, body: bytes | str = b"", delay: float = 0.0
    ) -> None:
        """Answer given once the queue is empty (initially 202 ``{}``), optionally ``delay`` seconds late."""
        with self._cond:
            self._script.default = (
                (status, dict(headers or {}), body, delay) if delay else (status, dict(headers or {}), body)
            )

    def respond_to(self, path: str, responses: Iterable[Response]) -> None:
        """Queue responses for requests to exactly ``path`` (e.g. ``"/v1/logs"``), given in order and before
        anything else; other paths are not affected. Same tuple shapes as ``respond_with``."""
        with self._cond:
            self._script.path_queues.setdefault(path, deque()).extend(responses)

    def set_default_for(
        self,
        path: str,
        status: int,
        headers: Mapping[str, str] | None = None,
        body: bytes | str = b"",
        delay: float = 0.0,
    ) -> None:
        """The answer for requests to exactly ``path`` once that path's queue is empty (it then wins over the
        global queue and default for this path); optionally ``delay`` seconds late."""
        with self._cond:
            self._script.path_defaults[path] = (
                (status, dict(headers or {}), body, delay) if delay else (status, dict(headers or {}), body)
            )

    def _next_response(self, path: str | None = None) -> Response:
        with self._cond:
            by_path = self._script.path_queues.get(path) if path is not None else None
            if by_path:
                return by_path.popleft()
            if path is not None and path in self._script.path_defaults:
                return self._script.path_defaults[path]
            return self._script.queue.popleft() if self._script.queue else self._script.default

    # -- recording -----------------------------------------------------------------------
    def _record(self, req: CapturedRequest) -> None:
        with self._cond:
            self.requests.append(req)
            self._cond.notify_all()

    def wait_for(self, n: int, timeout: float = 10.0) -> list[CapturedRequest]:
        """Block until at least ``n`` requests were recorded; return a copy of them."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.requests) >= n, timeout=timeout):
                seen = "\n".join(f"  {r.method} {r.path} -> {r.response_status}" for r in self.requests)
                raise AssertionError(
                    f"capture server: wanted {n} request(s) within {timeout}s, got "
                    f"{len(self.requests)}:\n{seen or '  <none>'}"
                )
            return list(self.requests)

    def wait_until(self, predicate: Callable[[list[CapturedRequest]], bool], timeout: float = 10.0) -> bool:
        """Block until ``predicate(requests so far)`` holds (re-checked on every new request); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.requests), timeout=timeout)

    def clear(self) -> None:
        """Forget recorded requests and any queued responses (per-path queues too; defaults stay)."""
        with self._cond:
            self.requests.clear()
            self._script.queue.clear()
            self._script.path_queues.clear()

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> CaptureServer:
        self._stopping.clear()  # a stopped server can be started again (same port when one was fixed)
        self._server = _QuietServer(("127.0.0.1", self.port), _handler_for(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="capture-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # cut short any scripted delays
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> CaptureServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that vanishes mid-connection (a killed process) is expected here, not a traceback."""
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def _read_chunked(rfile) -> bytes:
    """Decode a ``Transfer-Encoding: chunked`` body (http.server does not)."""
    out = bytearray()
    while True:
        size_line = rfile.readline(65537)
        if not size_line:
            raise ValueError("connection closed inside chunked body")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                pass  # skip trailers
            return bytes(out)
        out += rfile.read(size)
        rfile.readline(3)  # CRLF after each chunk


def _handler_for(server: CaptureServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real intakes do; always send Content-Length

        def _handle(self) -> None:
            if server._stopping.is_set():
                # Stopped: a kept-alive connection from before the stop must not be served either.
                self.close_connection = True
                return
            chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
            try:
                if chunked:
                    raw = _read_chunked(self.rfile)
                else:
                    raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            except ValueError as e:
                self.send_error(400, f"bad body: {e}")
                return
            body: bytes | None = raw
            if self.headers.get("Content-Encoding", "").lower() == "gzip":
                try:
                    body = gzip.decompress(raw)
                except (OSError, EOFError):
                    body = None
            url = urlsplit(self.path)
            req = CapturedRequest(
                method=self.command,
                path=url.path,
                query=parse_qs(url.query, keep_blank_values=True),
                headers=Headers(self.headers.items()),
                raw_body=raw,
                body=body,
                chunked=chunked,
                received_at=time.monotonic(),
            )
            status, headers, resp_body, *delay = server._next_response(url.path)
            req.response_status = status
            server._record(req)
            if delay and server._stopping.wait(delay[0]):
                return
            if isinstance(resp_body, str):
                resp_body = resp_body.encode()
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(resp_body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(resp_body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep pytest output clean

    return Handler
