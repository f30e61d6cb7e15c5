"""Run Datadog's ``ddapm-test-agent`` (1.69.1) as a stand-in for the Datadog Agent.

The test agent pins an old ``opentelemetry-proto``, so it lives in its own venv
(``<repo>/.venv-testagent``, override with ``GLASSBOX_TESTAGENT_VENV``; ``make testagent``
creates it) and runs as a subprocess. Only the stdlib is used here so importing this
module never drags in dependency conflicts.

Shape of one record from ``GET /test/session/requests`` as observed with 1.69.1::

    {"headers": {"Host": "127.0.0.1:P", "Content-Type": "application/json",
                 "X-Datadog-EVP-Subdomain": "llmobs-intake", "Content-Length": "9", ...},
     "body": "W3siYSI6MX1d",                      # base64 of the body
     "url": "http://127.0.0.1:P/evp_proxy/v2/api/v2/llmobs?x=1",   # full URL incl. query
     "method": "POST"}

Observed details that matter for tests:

* Records come back oldest first (the handler reverses a newest-first list).
* Header names keep the sender's casing; a repeated header keeps only its first value.
* ``body`` is already gunzipped when the request had ``Content-Encoding: gzip`` (aiohttp
  decompresses on read) while ``Content-Length`` still shows the compressed size, so the
  raw wire bytes are not recoverable here -- use the capture server for that.
* Chunked bodies are recorded de-chunked.
* OTLP posts to the OTLP HTTP port show up too (url on that port); both ports serve
  ``/test/session/requests`` and ``/test/session/clear`` over the same store.
* ``.../api/v2/llmobs/update`` posts are answered but never recorded.
* The test agent never validates bodies; validate them with ``tests.support.schemas``.

``requests()`` normalises each record to
``{"method", "url", "path", "query", "headers" (lower-cased names), "body" (bytes)}``.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .net import free_ports

REPO_ROOT = Path(__file__).resolve().parents[2]
LLMOBS_SPANS_PATH = "/evp_proxy/v2/api/v2/llmobs"
EVAL_METRIC_PATH = "/evp_proxy/v2/api/intake/llm-obs/v2/eval-metric"

# Anything that would make the test agent validate keys or proxy to a real Datadog.
_KEEP_ENV = ("PATH", "HOME", "LANG")


def testagent_binary() -> Path:
    """Path of the ``ddapm-test-agent`` executable; RuntimeError (never a skip) if absent."""
    venv = Path(os.environ.get("GLASSBOX_TESTAGENT_VENV") or REPO_ROOT / ".venv-testagent")
    binary = venv / "bin" / "ddapm-test-agent"
    if not binary.exists():
        raise RuntimeError(
            f"ddapm-test-agent not found at {binary}; run `make testagent` "
            "(or set GLASSBOX_TESTAGENT_VENV to a venv with ddapm-test-agent==1.69.1)"
        )
    return binary


def _clean_env() -> dict[str, str]:
    """Only PATH/HOME/LANG: no DD_* (key validation, proxying) and no OTEL_* leak in."""
    env = {k: os.environ[k] for k in _KEEP_ENV if k in os.environ}
    env["PYTHONUNBUFFERED"] = "1"  # so the log file is current when we report a failure
    return env


class TestAgent:
    """A running ddapm-test-agent on free 127.0.0.1 ports; use as a context manager."""

    __test__ = False  # its name starts with "Test"; stop pytest from collecting it

    def __init__(self, startup_timeout: float = 30.0) -> None:
        self.startup_timeout = startup_timeout
        self.port = self.otlp_http_port = self.otlp_grpc_port = 0
        self.url = self.otlp_http_url = self.otlp_grpc_endpoint = ""
        self._proc: subprocess.Popen | None = None
        self._tmp: str | None = None
        self.log_path: Path | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> TestAgent:
        """Start the agent and wait for ``GET /info`` to answer 200.

        Retries with new ports if the process dies early (a freed port can be taken by
        someone else between picking and binding).
        """
        binary = testagent_binary()
        self._tmp = tempfile.mkdtemp(prefix="glassbox-testagent-")
        self.log_path = Path(self._tmp) / "testagent.log"
        last_error = ""
        for _ in range(3):
            self.port, self.otlp_http_port, self.otlp_grpc_port = free_ports(3)
            self.url = f"http://127.0.0.1:{self.port}"
            self.otlp_http_url = f"http://127.0.0.1:{self.otlp_http_port}"
            self.otlp_grpc_endpoint = f"127.0.0.1:{self.otlp_grpc_port}"
            cmd = [
                str(binary),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--otlp-http-port",
                str(self.otlp_http_port),
                "--otlp-grpc-port",
                str(self.otlp_grpc_port),
                "--disable-llmobs-data-forwarding",
            ]
            with open(self.log_path, "ab") as log:
                self._proc = subprocess.Popen(
                    cmd,
                    env=_clean_env(),
                    cwd=self._tmp,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            last_error = self._wait_ready()
            if not last_error:
                return self
            exited = self._proc.poll() is not None
            self._terminate()
            if not exited:  # hung rather than crashed: new ports will not help
                break
        tail = self.log_tail()
        self.stop()
        raise RuntimeError(f"ddapm-test-agent did not start: {last_error}\n--- log tail ---\n{tail}")

    def _wait_ready(self) -> str:
        """Poll /info until 200; return "" when ready, else why not."""
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return f"process exited with code {self._proc.returncode}"
            try:
                with urllib.request.urlopen(self.url + "/info", timeout=1) as resp:
                    if resp.status == 200:
                        return ""
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        return f"GET /info did not answer 200 within {self.startup_timeout}s"

    def _terminate(self) -> None:
        """SIGTERM our own child, then SIGKILL if it lingers."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def stop(self) -> None:
        """Stop the agent and delete its temp dir (log included)."""
        self._terminate()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> TestAgent:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_tail(self, lines: int = 40) -> str:
        """Last lines of the agent's combined stdout/stderr, for failure messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except (OSError, AttributeError):
            return "<no log>"

    # -- session API -------------------------------------------------------------------
    def _get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=10) as resp:
            return resp.read()

    def requests(self) -> list[dict[str, Any]]:
        """Everything the agent recorded, oldest first, with decoded bodies (see module doc)."""
        out = []
        for rec in json.loads(self._get("/test/session/requests")):
            parts = urlsplit(rec["url"])
            out.append(
                {
                    "method": rec["method"],
                    "url": rec["url"],
                    "path": parts.path,
                    "query": parts.query,
                    "headers": {k.lower(): v for k, v in rec["headers"].items()},
                    "body": base64.b64decode(rec["body"]),
                }
            )
        return out

    def clear(self) -> None:
        """Forget all recorded requests."""
        self._get("/test/session/clear")

    @staticmethod
    def _json_bodies(requests: list[dict[str, Any]], suffix: str) -> list[Any]:
        bodies = []
        for r in requests:
            if r["path"].endswith(suffix):
                try:
                    bodies.append(json.loads(r["body"]))
                except ValueError as e:
                    raise AssertionError(f"{r['path']} body is not JSON ({e}): {r['body'][:200]!r}") from e
        return bodies

    def llmobs_span_payloads(self) -> list[Any]:
        """Decoded JSON bodies posted to ``.../evp_proxy/v2/api/v2/llmobs``, oldest first."""
        return self._json_bodies(self.requests(), LLMOBS_SPANS_PATH)

    def eval_metric_payloads(self) -> list[Any]:
        """Decoded JSON bodies posted to ``.../evp_proxy/v2/api/intake/llm-obs/v2/eval-metric``."""
        return self._json_bodies(self.requests(), EVAL_METRIC_PATH)

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], Any], timeout: float = 10.0) -> Any:
        """Poll ``requests()`` every 50 ms until ``predicate(requests)`` is truthy; return it.

        Sends are asynchronous in the relay, so tests wait for an outcome, never sleep.
        """
        deadline = time.monotonic() + timeout
        while True:
            reqs = self.requests()
            result = predicate(reqs)
            if result:
                return result
            if time.monotonic() >= deadline:
                seen = "\n".join(f"  {r['method']} {r['path']} ({len(r['body'])} bytes)" for r in reqs)
                raise AssertionError(
                    f"test agent: condition not met within {timeout}s; "
                    f"{len(reqs)} request(s) recorded:\n{seen or '  <none>'}"
                )
            time.sleep(0.05)
