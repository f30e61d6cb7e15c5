"""What an exporter is and how it is registered.

An exporter renders a batch into items (synchronously, on the pipeline's path; each item is ``(kind, bytes)``
and is what its queue stores) and sends a list of items (asynchronously, from its sender). Errors are data: a
send that fails raises ``RetryableError`` or ``PermanentError`` (``collector.errors``) saying which of the items
the destination accepted before it failed, by index — the sender acknowledges exactly those.

``start``/``shutdown`` must be safe to call in any order and more than once (shutdown without start, shutdown
twice): the relay may fail half-way through starting.

An exporter is registered with an ``ExporterFactory`` listed once in ``collector.components``; its config model
extends ``SendingConfig`` and lives beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from glassbox.collector.delivery.config import SendingConfig
from glassbox.collector.delivery.store import Item
from glassbox.processors.base import Context, Problems
from glassbox.processors.model import Batch


class Exporter(Protocol):
    def render(self, batch: Batch) -> list[Item]: ...

    async def send(self, items: list[Item]) -> None: ...

    async def start(self) -> None: ...

    async def shutdown(self) -> None: ...


# ``from_environment(section, environ, from_env) -> section``: fill what the config section leaves unset from
# the environment before validation (so env values are checked like file values); record key → variable
# name in ``from_env`` so errors can name the variable.
EnvironmentDefaults = Callable[[dict[str, Any], Mapping[str, str], dict[str, str]], dict[str, Any]]


@dataclass(frozen=True)
class ExporterFactory:
    """How the relay builds one exporter type from its config section ``exporters.<type>``."""

    name: str  # the config name: `exporters.<name>`, `pipeline.exporters: [<name>]`
    config: type[SendingConfig]
    create: Callable[[Any, Context], Exporter]
    check: Callable[[Any, Context], Problems] | None = None  # what ``start()`` would refuse, without starting
    egress: bool = True  # it sends data off this machine (stdout counts: logs get shipped); False: stays local
    # It forwards spans that are not GenAI (HTTP, database...), as the OTLP copy does. When no exporter of the
    # pipeline does, those spans skip the processors: nothing would send them, so nothing needs redacting.
    plain_spans: bool = False
    from_environment: EnvironmentDefaults | None = None
