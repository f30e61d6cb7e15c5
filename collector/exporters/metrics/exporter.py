"""The ``metrics`` exporter: Datadog metrics derived from every GenAI span, to the Agent or to the intake API.

``render`` turns a batch into at most two queue items, its counts and its distributions, already summed per
(name, tags) through the cardinality guard. ``send`` merges every item it is given, so what leaves is one line
(DogStatsD) or one series (API) per name and tag set per send, whatever the span rate. The queue, retries and
dead letters are the relay's, as for every exporter, and this exporter has its own queue: a metrics outage never
holds span events back.
"""

from __future__ import annotations

import asyncio
import logging
import time

import orjson

from glassbox.collector.delivery.store import Item
from glassbox.collector.errors import PermanentError, RetryableError
from glassbox.collector.exporters.http import HttpSession, post
from glassbox.collector.exporters.metrics import api, dogstatsd
from glassbox.collector.exporters.metrics.config import MetricsExporterConfig
from glassbox.collector.exporters.metrics.derive import Aggregate, Deriver, Key
from glassbox.collector.exporters.metrics.guard import CardinalityGuard
from glassbox.collector.version import VERSION
from glassbox.processors.model import Batch

log = logging.getLogger("glassbox.exporter.metrics")
COUNT = "count"
DISTRIBUTION = "distribution"
API_GROUP_BYTES = 1 << 20  # queue bytes merged into one API body: well under the intake's payload limits


class MetricsExporter(HttpSession):
    def __init__(self, settings: MetricsExporterConfig):
        self.settings = settings
        self.guard = CardinalityGuard(settings.max_tag_values, settings.tag_values_window)
        self.deriver = Deriver(self.guard, settings.tag_allowlist, settings.tags, settings.ml_app)
        self.dropped_lines: dict[str, int] = {}
        self.socket = dogstatsd.DogStatsdSocket(settings.dogstatsd_url) if settings.transport == "dogstatsd" else None
        origin = settings.override_origin or f"https://api.{settings.site or 'datadoghq.com'}"
        self.series_url = origin + api.SERIES_PATH
        self.distribution_url = origin + api.DISTRIBUTION_PATH
        self.headers = {
            "Content-Type": "application/json",
            "User-Agent": f"glassbox/{VERSION}",
            "DD-API-KEY": settings.api_key.get_secret_value() if settings.api_key else "",
        }

    def describe(self) -> str:
        """Where metrics go, for the startup summary (the API key travels in a header, never here)."""
        s = self.settings
        where = f"DogStatsD at {s.dogstatsd_url}" if self.socket else f"{self.series_url} and {self.distribution_url}"
        allowed = ", ".join(s.tag_allowlist) or "none"
        return f"derived metrics to {where} (span tags allowed: {allowed}; {s.max_tag_values} values per tag)"

    def metrics(self) -> dict[str, tuple[str, str, dict[tuple[tuple[str, str], ...], float]]]:
        """Counters for ``/metrics``, read at scrape time."""
        folded = dict(self.guard.folded)
        dropped = dict(self.dropped_lines)
        return {
            "metrics_tag_values_folded": (
                "counter",
                "metric points whose tag value was folded into `other` by the cardinality guard, by tag and reason "
                "(max_tag_values: past exporters.metrics.max_tag_values this window; free_text: looked like text)",
                {(("reason", reason), ("tag", tag)): n for (tag, reason), n in folded.items()},
            ),
            "metrics_dropped_lines": (
                "counter",
                "DogStatsD lines not sent because the socket failed part-way through a send "
                "(sending the whole send again would count the lines already sent twice)",
                {(("reason", reason),): n for reason, n in dropped.items()},
            ),
        }

    # --- render: spans → queue items ---------------------------------------------------------------------------

    def render(self, batch: Batch) -> list[Item]:
        aggregate = Aggregate()
        for span in batch.spans:
            self.deriver.span(span, aggregate)
        for detached in batch.evaluations:
            self.deriver.detached(detached, aggregate)
        now = int(time.time())
        items: list[Item] = []
        if aggregate.counts:
            points = [[name, tags, total] for (name, tags), total in aggregate.counts.items()]
            items.append((COUNT, orjson.dumps({"t": now, "p": points})))
        if aggregate.values:
            points = [[name, tags, samples] for (name, tags), samples in aggregate.values.items()]
            items.append((DISTRIBUTION, orjson.dumps({"t": now, "p": points})))
        return items

    # --- send: queue items → DogStatsD or the API --------------------------------------------------------------

    async def send(self, items: list[Item]) -> None:
        known = [i for i, (kind, _) in enumerate(items) if kind in (COUNT, DISTRIBUTION)]
        if self.socket is not None:
            await self._send_dogstatsd(self.socket, [items[i] for i in known])
            accepted = known
        else:
            accepted = await self._send_api(items, known)
        unknown = [i for i in range(len(items)) if i not in set(known)]
        if unknown:
            raise PermanentError(
                "unknown_item_kind", f"metrics: {len(unknown)} item(s) of an unknown kind", accepted, refused=unknown
            )

    async def _send_dogstatsd(self, sock: dogstatsd.DogStatsdSocket, items: list[Item]) -> None:
        merged = Aggregate()
        for kind, payload in items:
            for name, tags, value in orjson.loads(payload)["p"]:
                key: Key = (name, tuple(tags))
                if kind == COUNT:
                    merged.count(key, value)
                else:
                    merged.values.setdefault(key, []).extend(value)
        lines = dogstatsd.lines(merged.counts, merged.values, sock.max_bytes)
        packets = list(dogstatsd.datagrams(lines, sock.max_bytes))
        sent = 0
        try:
            async with asyncio.timeout(self.settings.timeout):
                for datagram, _ in packets:
                    await sock.send(datagram)
                    sent += 1
        except (OSError, TimeoutError) as exc:
            why = f"metrics: DogStatsD at {sock.url}: {type(exc).__name__}: {exc}"
            if sent == 0:
                raise RetryableError(why) from None
            unsent = sum(count for _, count in packets[sent:])
            self.dropped_lines["send_failed_midway"] = self.dropped_lines.get("send_failed_midway", 0) + unsent
            log.warning("%s after %d of %d datagrams; %d line(s) dropped (counted)", why, sent, len(packets), unsent)

    async def _send_api(self, items: list[Item], known: list[int]) -> list[int]:
        """Counts first, then distributions; items are merged per body, and a body carries whole items, so a
        failure reports exactly the items of the bodies accepted before it."""
        accepted: list[int] = []
        for kind, url, what in (
            (COUNT, self.series_url, "metrics series"),
            (DISTRIBUTION, self.distribution_url, "metrics distribution points"),
        ):
            positions = [i for i in known if items[i][0] == kind]
            for group in _groups(positions, [len(items[i][1]) for i in positions], API_GROUP_BYTES):
                body = _body(kind, [items[i][1] for i in group])
                await post(
                    self.session,
                    url,
                    body,
                    self.headers,
                    self.settings.timeout,
                    what,
                    accepted=accepted,
                    items=group,
                )
                accepted.extend(group)
        return accepted

    async def shutdown(self) -> None:
        if self.socket is not None:
            self.socket.close()
        await super().shutdown()


def _groups(positions: list[int], sizes: list[int], max_bytes: int) -> list[list[int]]:
    """Consecutive runs of positions whose sizes add up to at most ``max_bytes`` (a bigger item goes alone)."""
    groups: list[list[int]] = []
    used = 0
    for position, size in zip(positions, sizes, strict=True):
        if groups and used + size <= max_bytes:
            groups[-1].append(position)
            used += size
        else:
            groups.append([position])
            used = size
    return groups


def _body(kind: str, payloads: list[bytes]) -> bytes:
    if kind == COUNT:
        counts: dict[api.Bucketed, float] = {}
        for payload in payloads:
            item = orjson.loads(payload)
            start = api.bucket(item["t"])
            for name, tags, total in item["p"]:
                key = (name, tuple(tags), start)
                counts[key] = counts.get(key, 0) + total
        return api.series_body(counts)
    values: dict[api.Bucketed, list[float]] = {}
    for payload in payloads:
        item = orjson.loads(payload)
        start = api.bucket(item["t"])
        for name, tags, samples in item["p"]:
            values.setdefault((name, tuple(tags), start), []).extend(samples)
    return api.distribution_body(values)
