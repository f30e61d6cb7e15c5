"""What a processor is, how it is registered, and the errors every component may raise at startup.

A processor is a plain object: ``start()``, ``process(batch) -> batch`` (a coroutine function when its work is
better done off the event loop), ``shutdown()``. The pipeline calls processors in the configured order; a
processor never calls the next one. It changes the span model only (``model.Span``'s fields and enrichment
methods), never a protobuf: ``processors.wire`` owns the OTLP copy.

A processor is registered with a ``ProcessorFactory`` (its config name, its config model, how to create it,
and an optional ``check`` of what would make it fail at startup) listed once in ``collector.components``.
"""

from __future__ import annotations

import difflib
import re
import traceback
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from glassbox.processors.model import Batch


class ComponentConfig(BaseModel):
    """Base of every component's config model: unknown keys are errors (typos never pass silently), and values
    are validated, never coerced (``yes`` is not 1, ``1.5`` is not 1, ``8080`` is not a string); an integer
    where a number is expected is fine. Durations and sizes use ``collector.units``."""

    model_config = ConfigDict(extra="forbid", strict=True)


def where_it_failed(exc: BaseException) -> str:
    """An exception for the relay's own log: its type and the innermost frame, never its message (a message can
    quote the content being processed — ``KeyError('ana@example.com')`` — and logs leave the machine too)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    last = frames[-1]
    return f"{type(exc).__name__} at {Path(last.filename).name}:{last.lineno} in {last.name}"


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The name a misspelt one most likely meant, or None: case, ``_`` and ``-`` are ignored, and a name that
    contains the word (or is contained in it) wins over a mere look-alike, so ``EMAIL`` → ``EMAIL_ADDRESS``,
    ``phone`` → ``PHONE_NUMBER``, ``api_ky`` → ``api_key`` (``difflib`` alone misses the first two)."""
    by_key = {_key(choice): choice for choice in choices}
    key = _key(word)
    if not key or not by_key:
        return None
    if key in by_key:
        return by_key[key]
    parts = [k for k in by_key if k.startswith(key) or (len(key) >= 3 and (key in k or (len(k) >= 3 and k in key)))]
    found = difflib.get_close_matches(key, parts or list(by_key), n=1, cutoff=0.0 if parts else 0.6)
    return by_key[found[0]] if found else None


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def unknown_name(what: str, name: str, known: Iterable[str]) -> str:
    """Why a name is refused (a component, an entity): the closest known one, then all of them."""
    known = list(known)
    guess = closest(name, known)
    return f"unknown {what} {name!r};{f' did you mean {guess}?' if guess else ''} known: {', '.join(known)}"


class GlassboxError(Exception):
    """Base of the errors glassbox raises on purpose; the message is meant for the operator."""


class ConfigError(GlassboxError):
    """Problems found in a config; ``errors`` are ``"key.path: message"`` strings, all of them at once."""

    def __init__(self, errors: list[str], source: str = "config"):
        self.errors = errors
        self.source = source
        super().__init__(f"{source} has {len(errors)} error(s):\n" + "\n".join(f"  - {e}" for e in errors))


class StartupError(GlassboxError):
    """A component cannot start (a port is taken, a model is not installed); the message names the key and fix."""


class Processor(Protocol):
    """Optional extras the relay looks for: ``metrics()`` (counters of its own, read at scrape time, see
    ``collector.telemetry``) and ``async drain(timeout)`` (finish work in flight, e.g. hand late results to
    ``Context.submit``, before the relay's last flush)."""

    def start(self) -> None: ...

    def process(self, batch: Batch) -> Batch | Awaitable[Batch]: ...

    def shutdown(self) -> None: ...


Problems = list[tuple[str, str]]  # (key path inside the component's config, or "", message)


def _unattached(batch: Batch) -> None:
    raise RuntimeError("this component was created outside a relay: nothing takes late results")


@dataclass(frozen=True)
class Context:
    """What the relay tells a component when it creates or checks it."""

    base_dir: Path | None = None  # relative paths in the config are relative to this (the config file's folder)
    deep: bool = False  # checks may take seconds (``glassbox validate``); the quick form runs before every start
    # Late results: a processor whose work finishes after its batch left (an LLM judge's evaluations) hands them
    # here, from any thread, as a batch (``evaluations`` of ``DetachedEvaluation``); the pipeline runs them
    # through the whole chain (redaction included) to the exporters, within a tick.
    submit: Callable[[Batch], None] = _unattached


@dataclass(frozen=True)
class ProcessorFactory:
    """How the relay builds one processor type from its config section ``processors.<type>``."""

    name: str  # the config name: `processors.<name>`, `pipeline.processors: [<name>]`
    config: type[ComponentConfig]
    create: Callable[[Any, Context], Processor]
    check: Callable[[Any, Context], Problems] | None = None  # what ``start()`` would refuse, without starting
    redacts: bool = False  # it removes PII: a pipeline that sends data off the machine needs one (see config)
