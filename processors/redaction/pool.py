"""Where Presidio runs: worker processes (default: one per core) or one thread in the relay process.

Why processes: Presidio's work is pure Python under the GIL — threads give no speed-up (measured: 1.22 s
sequential vs 1.33 s with 2 threads), processes do. Why not ``ProcessPoolExecutor``: a job that overruns its
deadline (a C-level regex that ignores the per-text alarm, a wedged model) must be *killed* and its texts
failed closed, and the executor has no way to kill one worker. Here each worker has a pipe and a feeder thread
in the relay process; a job's deadline is a backstop behind the per-text alarm inside the worker
(``text_timeout`` × texts + grace). A dead or killed worker is restarted and its job fails closed.

Workers are ``spawn``ed (the relay has gRPC threads; forking them is unsafe) and build their Presidio once,
then ``gc.freeze()`` its ~100 MB of long-lived objects (a full collection over them stalled jobs by tens of
ms); ``start()`` waits until all are ready so configuration errors (an uninstalled model, a bad class_path)
surface at startup with the worker's message. A worker is replaced after ``worker_max_texts`` texts
(spaCy's vocabulary only grows) and after a crash or a missed deadline.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import multiprocessing
import queue
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

from glassbox.processors.base import where_it_failed
from glassbox.processors.redaction.analyzer import Outcome
from glassbox.processors.redaction.config import RedactionConfig

log = logging.getLogger("glassbox.processors.redaction")
START_TIMEOUT = 180.0  # seconds for a worker to import Presidio and load a model
GRACE = 2.0  # seconds on top of text_timeout × texts before a job's worker is killed


def settings_payload(settings: RedactionConfig) -> str:
    """Settings as JSON for a worker, with the hash salt revealed (pydantic masks SecretStr when dumping)."""
    data = settings.model_dump(mode="json")
    data["hash_salt"] = settings.hash_salt.get_secret_value() if settings.hash_salt else None
    return json.dumps(data)


def _worker_main(conn: Any, settings_json: str) -> None:
    """Worker process: build the Redactor, report readiness, then answer jobs until told to stop."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the relay decides when workers stop
    try:
        from glassbox.processors.redaction.analyzer import Redactor

        redactor = Redactor(RedactionConfig.model_validate(json.loads(settings_json)), use_alarm=True)
        # Presidio, spaCy and phonenumbers leave ~100 MB of long-lived objects; a full collection walking them
        # stalls a job for tens of ms. Freeze them out of the collector's view; garbage from jobs still goes.
        gc.collect()
        gc.freeze()
        conn.send(("ready", {"gated": redactor.gated, "needs_context": redactor.needs_context}))
    except BaseException as exc:  # noqa: BLE001 — tell the relay why, then exit
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        conn.send(redactor.redact(message))


_SPAWNING = threading.Lock()


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """A spawned child first re-imports the parent's ``__main__`` (so functions defined there can be unpickled). The
    relay's is the CLI, which imports every component (gRPC, aiohttp, the exporters, the viewer): 28 MB more RSS
    per worker, for nothing, since the worker's function lives in this module. ``Process.start()`` reads
    ``__main__.__spec__`` and ``__file__`` to decide; they are hidden while it runs and put back after."""
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    with _SPAWNING:
        saved: dict[str, Any] = {key: main.__dict__[key] for key in ("__spec__", "__file__") if key in main.__dict__}
        main.__spec__ = None
        main.__dict__.pop("__file__", None)
        try:
            yield
        finally:
            main.__dict__.pop("__spec__", None)
            main.__dict__.update(saved)


class _Worker:
    def __init__(self, ctx: Any, settings_json: str, index: int):
        self.ctx, self.settings_json, self.index = ctx, settings_json, index
        self.process: Any = None
        self.conn: Any = None
        self.texts = 0  # since (re)start

    def spawn(self) -> None:
        parent, child = self.ctx.Pipe()
        self.process = self.ctx.Process(
            target=_worker_main, args=(child, self.settings_json), name=f"glassbox-redaction-{self.index}", daemon=True
        )
        with _main_module_hidden():
            self.process.start()
        child.close()
        self.conn = parent
        self.texts = 0

    def wait_ready(self, timeout: float) -> dict[str, Any]:
        if not self.conn.poll(timeout):
            raise RuntimeError(f"redaction worker did not start within {timeout:.0f}s")
        try:
            kind, payload = self.conn.recv()
        except EOFError:
            raise RuntimeError("redaction worker exited during startup") from None
        if kind != "ready":
            raise RuntimeError(f"redaction worker failed to start: {payload}")
        return payload

    def kill(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        if self.conn is not None:
            self.conn.close()


class ProcessBackend:
    """``submit(items) -> Future[list[Outcome]]``; jobs go to whichever worker is free."""

    def __init__(self, settings: RedactionConfig, workers: int):
        self.settings = settings
        self.timeout = settings.text_timeout
        self._ctx = multiprocessing.get_context("spawn")
        self._json = settings_payload(settings)
        self._workers = [_Worker(self._ctx, self._json, i) for i in range(workers)]
        self._jobs: queue.Queue = queue.Queue()
        self._threads: list[threading.Thread] = []
        self.gated: list[str] = []
        self.needs_context: dict[str, list[str]] = {}
        self.restarts = 0

    def start(self) -> None:
        for worker in self._workers:
            worker.spawn()
        try:
            ready = [worker.wait_ready(START_TIMEOUT) for worker in self._workers]
        except BaseException:
            self.shutdown()
            raise
        self.gated = ready[0]["gated"]  # every worker builds the same Presidio from the same settings
        self.needs_context = ready[0]["needs_context"]
        for worker in self._workers:
            thread = threading.Thread(
                target=self._feed, args=(worker,), daemon=True, name=f"glassbox-redaction-feed-{worker.index}"
            )
            thread.start()
            self._threads.append(thread)

    def submit(self, items: list[str]) -> Future:
        future: Future = Future()
        self._jobs.put((items, future))
        return future

    def _feed(self, worker: _Worker) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            items, future = job
            try:
                limit = self.settings.worker_max_texts
                if limit and worker.texts >= limit:  # recycle between jobs: memory that only grows goes away
                    self._restart(worker, failure=False)
                worker.texts += len(items)
                future.set_result(self._run(worker, items))
            except BaseException as exc:  # noqa: BLE001 — never leave a caller waiting
                log.warning("redaction job failed closed: %s", type(exc).__name__)
                future.set_result([Outcome(None, error="error")] * len(items))

    def _run(self, worker: _Worker, items: list[str]) -> list[Outcome]:
        deadline = self.timeout * max(1, len(items)) + GRACE
        try:
            worker.conn.send(items)
            if worker.conn.poll(deadline):
                return worker.conn.recv()
            reason = "timeout"
        except (EOFError, OSError, BrokenPipeError):
            reason = "error"
        log.warning(
            "redaction worker %d %s; restarting it, %d text(s) fail closed",
            worker.index,
            "overran its deadline" if reason == "timeout" else "died",
            len(items),
        )
        self._restart(worker)
        return [Outcome(None, error=reason)] * len(items)

    def _restart(self, worker: _Worker, failure: bool = True) -> None:
        if not failure:
            try:
                worker.conn.send(None)
                worker.process.join(5)
            except (OSError, BrokenPipeError):
                pass
        worker.kill()
        self.restarts += failure
        worker.spawn()
        try:
            worker.wait_ready(START_TIMEOUT)
        except RuntimeError as exc:
            log.error("redaction worker %d could not be restarted (%s)", worker.index, where_it_failed(exc))

    def shutdown(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join(timeout=2)
        for worker in self._workers:
            try:
                if worker.conn is not None and worker.process is not None and worker.process.is_alive():
                    worker.conn.send(None)
                    worker.process.join(2)
            except (OSError, BrokenPipeError):
                pass
            worker.kill()
        self._threads.clear()


class ThreadBackend:
    """``workers: 0``: Presidio in one thread of the relay process (no IPC; the event loop stays free)."""

    def __init__(self, settings: RedactionConfig):
        self.settings = settings
        self._redactor: Any = None
        self._executor: Any = None
        self.gated: list[str] = []
        self.needs_context: dict[str, list[str]] = {}
        self.restarts = 0

    def start(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from glassbox.processors.redaction.analyzer import Redactor

        self._redactor = Redactor(self.settings)
        self.gated = self._redactor.gated
        self.needs_context = self._redactor.needs_context
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="glassbox-redaction")

    def submit(self, items: list[str]) -> Future:
        return self._executor.submit(self._redactor.redact, items)

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)


def make_backend(settings: RedactionConfig) -> Any:
    workers = settings.worker_count()
    return ProcessBackend(settings, workers) if workers > 0 else ThreadBackend(settings)


def wait(futures: list[Future]) -> list[list[Outcome]]:
    """Block for several jobs (the harness and tests use the engine synchronously)."""
    return [f.result() for f in futures]
