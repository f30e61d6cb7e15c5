"""The ``datadog`` exporter: LLM Observability span events and evaluation metrics, agentless or via the Agent.

Agentless posts to ``llmobs-intake.<site>`` and ``api.<site>`` with ``DD-API-KEY``; through the Agent it posts to
the EVP proxy with ``X-Datadog-EVP-Subdomain`` and no key. ``override_origin`` replaces scheme and host.
"""

from __future__ import annotations

import zlib

import orjson

from glassbox.collector.delivery.store import Item
from glassbox.collector.errors import PermanentError
from glassbox.collector.exporters.datadog import format as F
from glassbox.collector.exporters.datadog.config import DatadogExporterConfig
from glassbox.collector.exporters.http import HttpSession, post
from glassbox.processors.model import Batch

SPAN_PATH = "/api/v2/llmobs"
EVAL_PATH = "/api/intake/llm-obs/v2/eval-metric"
EVP_PREFIX = "/evp_proxy/v2"
EVAL_BATCH = 1000  # metrics per eval-metric POST, as ddtrace's buffer
EVAL_BYTES = F.PAYLOAD_SIZE_LIMIT - 1024  # bytes of metrics per POST, room left for the envelope


class DatadogExporter(HttpSession):
    def __init__(self, settings: DatadogExporterConfig):
        self.settings = settings
        self.ml_app = F.normalize_ml_app(settings.ml_app) if settings.ml_app else None
        self.span_url, self.span_headers = self._endpoint(SPAN_PATH, "llmobs-intake")
        self.eval_url, self.eval_headers = self._endpoint(EVAL_PATH, "api")

    def _endpoint(self, path: str, subdomain: str) -> tuple[str, dict[str, str]]:
        s = self.settings
        headers = {"Content-Type": "application/json", "User-Agent": f"glassbox/{F.GLASSBOX_VERSION}"}
        if s.transport == "agentless":
            origin = s.override_origin or f"https://{subdomain}.{s.site}"
            headers["DD-API-KEY"] = s.api_key.get_secret_value() if s.api_key else ""
            return origin + path, headers
        origin = s.override_origin or s.agent_url or ""  # from_environment always sets agent_url
        headers["X-Datadog-EVP-Subdomain"] = subdomain
        return origin + EVP_PREFIX + path, headers

    def describe(self) -> str:
        """Where spans go, for the startup summary (URLs only: the API key travels in a header)."""
        s = self.settings
        how = f"agentless, site {s.site}" if s.transport == "agentless" else f"through the Agent at {s.agent_url}"
        app = f", ml_app {self.ml_app}" if self.ml_app else ", ml_app from each span's service"
        return f"span events to {self.span_url}, evaluations to {self.eval_url} ({how}{app})"

    def ml_app_for(self, service: str | None, app: str | None = None) -> str:
        """The exporter's ``ml_app`` if set, else the app's own (``DD_LLMOBS_ML_APP`` in the app), else the
        service."""
        return self.ml_app or F.normalize_ml_app(app or service)

    def render(self, batch: Batch) -> list[Item]:
        items: list[Item] = []
        metrics: list[bytes] = []
        for span in batch.spans:
            if not span.is_genai:
                continue
            ml_app = self.ml_app_for(span.service, span.ml_app)
            items.append(("span", F.encode_event(F.span_event(span, ml_app=ml_app, extra_tags=self.settings.tags))))
            metrics.extend(F.encoded_eval_metrics(span, ml_app=ml_app))
        for detached in batch.evaluations:
            metric = F.eval_metric(
                detached.trace_id, detached.span_id, detached.evaluation, ml_app=self.ml_app_for(detached.service)
            )
            metrics.append(orjson.dumps(metric))
        # The batch's evaluations in as few queue rows as fit one POST each: a row per span doubled the queue's
        # work per span (insert, peek, delete) for what is sent together anyway. Rows are zlib-compressed (level 1,
        # 2 us per chat span): the built-ins give every span the same few results, so a row is about 50 times
        # smaller and the queue thread writes, reads and deletes 40 bytes per chat span instead of 2 KB.
        items.extend((F.EVAL_ZLIB_KIND, zlib.compress(packed, 1)) for packed in _pack(metrics, EVAL_BATCH, EVAL_BYTES))
        return items

    async def send(self, items: list[Item]) -> None:
        """Span events first, then evaluations, so an evaluation never reaches Datadog before its span. A
        failure reports every item accepted by the POSTs before it, and (permanent) the items of the refused
        POST; the ones not attempted yet are neither."""
        session = self.session
        spans = [i for i, (kind, _) in enumerate(items) if kind == "span"]
        evals: list[int] = []
        payloads: list[bytes] = []  # each eval item's metrics, comma-joined
        unreadable: list[int] = []
        unknown: list[int] = []
        for i, (kind, payload) in enumerate(items):
            if kind in F.EVAL_KINDS:
                try:
                    payloads.append(F.eval_item_metrics(kind, payload))
                except ValueError:
                    unreadable.append(i)
                    continue
                evals.append(i)
            elif kind != "span":
                unknown.append(i)
        accepted: list[int] = []
        for payload, positions in F.join_payloads([items[i][1] for i in spans]):
            carried = [spans[p] for p in positions]
            await post(
                session,
                self.span_url,
                payload,
                self.span_headers,
                self.settings.timeout,
                "llmobs span events",
                accepted=accepted,
                items=carried,
            )
            accepted.extend(carried)
        counts = [F.count_metrics(payload) for payload in payloads]
        sizes = [len(payload) for payload in payloads]
        for group in F.consecutive_groups(sizes, EVAL_BYTES, counts=counts, max_count=EVAL_BATCH):
            carried = [evals[p] for p in group]
            await post(
                session,
                self.eval_url,
                F.eval_payload_raw([payloads[p] for p in group]),
                self.eval_headers,
                self.settings.timeout,
                "llmobs eval metrics",
                accepted=accepted,
                items=carried,
            )
            accepted.extend(carried)
        if unknown:
            raise PermanentError(
                "unknown_item_kind", f"datadog: {len(unknown)} item(s) of an unknown kind", accepted, refused=unknown
            )
        if unreadable:
            raise PermanentError(
                "unreadable_item",
                f"datadog: {len(unreadable)} evaluation item(s) that do not decompress (damaged, or over "
                f"{F.EVAL_ITEM_MAX_BYTES >> 20} MiB once decompressed)",
                accepted,
                refused=unreadable,
            )


def _pack(encoded: list[bytes], limit: int, max_bytes: int) -> list[bytes]:
    """Encoded metrics comma-joined into items of at most ``limit`` metrics and ``max_bytes`` bytes (a metric over
    the byte limit goes alone). A run of ``limit`` metrics almost always fits, and is taken whole."""
    packed: list[bytes] = []
    for start in range(0, len(encoded), limit):
        run = encoded[start : start + limit]
        if sum(map(len, run)) + len(run) <= max_bytes:
            packed.append(b",".join(run))
            continue
        sizes = [len(metric) for metric in run]
        groups = F.consecutive_groups(sizes, max_bytes, counts=[1] * len(run), max_count=limit)
        packed.extend(b",".join(run[i] for i in group) for group in groups)
    return packed
