"""Joining: log-record content to its span, and each span to its nearest GenAI ancestor.

Some instrumentations send a call's content in log records, in separate requests from the span. A GenAI span
that lacks content waits (bounded by ``join_timeout``) for its records; records that arrive first wait for their
span. A span is released as soon as its output content arrives. Datadog wants the nearest *GenAI* ancestor as
``parent_id``, so spans whose parent has not been seen yet wait (same bound) and plain wrapper spans (an HTTP
handler, a test's parent) are skipped over. Held work is tracked against journal references so the pipeline
knows when a journaled request is fully queued. No I/O here: the pipeline owns the lock, the clock and disk.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field

from glassbox.collector import telemetry as T
from glassbox.collector.intake import normalize
from glassbox.processors import model as M
from glassbox.processors.model import DetachedEvaluation, Span

Key = tuple[str, str]
RECENT_SPANS = 200_000  # remembered (trace, span) → parent etc., for parent resolution across requests
# Remembered spans are keyed by trace id and span id in one string: ~301 bytes an entry where a (trace, span) tuple
# key took ~409 (tests/collector/intake/test_join.py), 21 MB less at RECENT_SPANS, which a busy relay reaches in a
# minute or two.
Recent = tuple[str | None, str | None, str | None, str | None]  # parent id, kind, session id, user id


def _rid(trace_id: str, span_id: str) -> str:
    return f"{trace_id}/{span_id}"  # the separator keeps ids of unusual lengths apart


@dataclass(eq=False)
class JournalRef:
    """A journaled request and how many of its held parts are not yet queued."""

    held: int = 0
    journaled: bool = False  # some part was held at admission: the request must be on disk
    spans: list[Span] = field(default_factory=list)  # the held spans (only they are journaled for traces)
    id: int | None = None
    done: bool = False


@dataclass(slots=True)
class Pending:
    """A span waiting for content or its parent. ``refs``: every request whose data it holds (its own, and the
    log requests whose content was merged into it), settled only when the span leaves, so a crash before that
    replays all of them from the journal."""

    span: Span
    deadline: float
    content: normalize.LogContent | None
    refs: list[JournalRef]


@dataclass(slots=True)
class Orphan:
    content: normalize.LogContent
    deadline: float
    refs: list[JournalRef] = field(default_factory=list)


class Joiner:
    def __init__(self, telemetry: T.Telemetry, *, join_timeout: float, max_pending: int):
        self.telemetry = telemetry
        self.join_timeout = join_timeout
        self.max_pending = max_pending
        self._pending: OrderedDict[Key, Pending] = OrderedDict()
        self._orphans: OrderedDict[Key, Orphan] = OrderedDict()
        # _rid(trace, span) → (parent span id, kind, session id, user id) of recently seen spans
        self._recent: OrderedDict[str, Recent] = OrderedDict()
        self.finished_journal: list[int] = []  # journal rows whose held parts are all queued now

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def admit(self, spans: list[Span], ref: JournalRef) -> list[Span]:
        now = time.monotonic()
        ready = []
        for span in spans:
            self._remember(span)
        for span in spans:
            key = (span.trace_id, span.span_id)
            if not span.is_genai:
                ready.append(span)
                continue
            refs: list[JournalRef] = []
            content = None
            earlier = self._pending.pop(key, None)  # the same span again (a client retried the request)
            if earlier is not None:
                content, refs = earlier.content, earlier.refs
            orphan = self._orphans.pop(key, None)
            if orphan is not None:
                content = _merged(content, orphan.content)
                refs += orphan.refs
            content = self._adopt_parent_content(span, content, refs)
            if self._ready(span, content):
                self._settle(refs)
                ready.append(self._finish(span, content))
            else:
                self._hold(ref)
                ref.spans.append(span)
                self._pending[key] = Pending(span, now + self.join_timeout, content, [*refs, ref])
        # A span in this request may be the parent some earlier span was waiting for.
        for key, pending in list(self._pending.items()):
            if self._ready(pending.span, pending.content):
                del self._pending[key]
                ready.append(self._release(pending))
        ready.extend(self._overflow())
        return ready

    def _adopt_parent_content(
        self, span: Span, content: normalize.LogContent | None, refs: list[JournalRef]
    ) -> normalize.LogContent | None:
        """Streamed calls: some instrumentations log the final choice under the *parent* span's id (the stream
        ends after the call's span context closed). Output content waiting under a parent that is not itself an
        LLM call belongs to this LLM child."""
        if span.kind not in (M.LLM, M.EMBEDDING) or span.parent_id is None:
            return content
        if content is not None and content.complete:
            return content
        parent_key = (span.trace_id, span.parent_id)
        orphan = self._orphans.get(parent_key)
        known = self._recent.get(_rid(span.trace_id, span.parent_id))
        if (
            orphan is None
            or not (orphan.content.outputs or orphan.content.tool_definitions)
            or (known is not None and known[1] in (M.LLM, M.EMBEDDING))
        ):
            return content
        del self._orphans[parent_key]
        refs += orphan.refs  # held until this span leaves
        return _merged(content, orphan.content)

    def join_logs(
        self, contents: dict[Key, normalize.LogContent], ref: JournalRef
    ) -> tuple[list[Span], list[DetachedEvaluation]]:
        deadline = time.monotonic() + self.join_timeout
        released: list[Span] = []
        detached: list[DetachedEvaluation] = []
        for key, found in contents.items():
            pending = self._pending.get(key) or self._pending_child(key)
            if pending is None:
                known = self._recent.get(_rid(*key))
                if known is not None and known[1] in (M.LLM, M.EMBEDDING):
                    # The call already left: only evaluations still matter.
                    detached.extend(_detach(key, found))
                    if found.inputs or found.outputs:
                        self.telemetry.add(T.PIPELINE_ORPHAN_LOG_CONTENT, 1, reason="span_already_sent")
                    continue
                orphan = self._orphans.get(key)
                if orphan is not None:
                    orphan.content.merge(found)
                else:
                    orphan = self._orphans[key] = Orphan(found, deadline)
                self._hold(ref)
                orphan.refs.append(ref)
                continue
            pending.content = _merged(pending.content, found)
            if self._ready(pending.span, pending.content):
                del self._pending[(pending.span.trace_id, pending.span.span_id)]
                released.append(self._release(pending))
            else:  # the content now lives in a waiting span: its request stays journaled until the span leaves
                self._hold(ref)
                pending.refs.append(ref)
        while len(self._orphans) > self.max_pending:
            key, orphan = self._orphans.popitem(last=False)
            detached.extend(_detach(key, orphan.content))
            self._settle(orphan.refs)
            self.telemetry.add(T.PIPELINE_ORPHAN_LOG_CONTENT, 1, reason="overflow")
        return released, detached

    def _pending_child(self, key: Key) -> Pending | None:
        """The one pending LLM call under ``key`` when ``key`` itself is not an LLM call (see above)."""
        known = self._recent.get(_rid(*key))
        if known is not None and known[1] in (M.LLM, M.EMBEDDING):
            return None
        children = [
            p
            for p in self._pending.values()
            if p.span.trace_id == key[0] and p.span.parent_id == key[1] and p.span.kind in (M.LLM, M.EMBEDDING)
        ]
        return children[0] if len(children) == 1 else None

    def _ready(self, span: Span, content: normalize.LogContent | None) -> bool:
        has_content = not normalize.expects_log_content(span) or (content is not None and content.complete)
        return has_content and self._parent_known(span)

    def _parent_known(self, span: Span) -> bool:
        return span.parent_id is None or _rid(span.trace_id, span.parent_id) in self._recent

    def _remember(self, span: Span) -> None:
        key = _rid(span.trace_id, span.span_id)
        self._recent[key] = (span.parent_id, span.kind, span.session_id, span.user_id)
        self._recent.move_to_end(key)
        if len(self._recent) > RECENT_SPANS:
            self._recent.popitem(last=False)

    def _release(self, pending: Pending) -> Span:
        self._settle(pending.refs)
        return self._finish(pending.span, pending.content)

    @staticmethod
    def _hold(ref: JournalRef) -> None:
        ref.held += 1
        ref.journaled = True

    def _finish(self, span: Span, content: normalize.LogContent | None) -> Span:
        if content is not None:
            normalize.apply_log_content(span, content)
            self.telemetry.add(T.PIPELINE_JOINED_SPANS, 1)
        return self._resolve(span)

    def _resolve(self, span: Span) -> Span:
        """Set ``llm_parent_id`` to the nearest GenAI ancestor we know of (unknown parents are assumed GenAI),
        and inherit session and user ids from ancestors: instrumentations put them on the app's own spans."""
        parent = span.parent_id
        llm_parent: str | None = None
        found = False
        hops = 0
        while parent is not None and hops < 64:
            known = self._recent.get(_rid(span.trace_id, parent))
            if known is None:
                break
            if known[1] is not None and not found:
                llm_parent, found = parent, True
            span.session_id = span.session_id or known[2]
            span.user_id = span.user_id or known[3]
            parent = known[0]
            hops += 1
        span.llm_parent_id = llm_parent if found else parent
        return span

    def _settle(self, refs: list[JournalRef]) -> None:
        for ref in refs:
            ref.held -= 1
            if ref.held <= 0:
                ref.done = True
                if ref.id is not None:
                    self.finished_journal.append(ref.id)

    def _overflow(self) -> list[Span]:
        released = []
        while len(self._pending) > self.max_pending:
            _, pending = self._pending.popitem(last=False)
            self.telemetry.add(T.PIPELINE_JOIN_RELEASED, 1, reason="overflow")
            released.append(self._release(pending))
        return released

    def expired(self, now: float, everything: bool = False) -> tuple[list[Span], list[DetachedEvaluation]]:
        released = []
        detached: list[DetachedEvaluation] = []
        for key, pending in list(self._pending.items()):
            if everything or pending.deadline <= now:
                del self._pending[key]
                self.telemetry.add(T.PIPELINE_JOIN_RELEASED, 1, reason="shutdown" if everything else "timeout")
                released.append(self._release(pending))
        for key, orphan in list(self._orphans.items()):
            if everything or orphan.deadline <= now:
                del self._orphans[key]
                self._settle(orphan.refs)
                detached.extend(_detach(key, orphan.content))  # evaluations never need their span to be sent
                if orphan.content.inputs or orphan.content.outputs:
                    self.telemetry.add(T.PIPELINE_ORPHAN_LOG_CONTENT, 1, reason="no_span")
        return released, detached


def _detach(key: Key, found: normalize.LogContent) -> list[DetachedEvaluation]:
    return [DetachedEvaluation(key[0], key[1], found.service, ev, from_wire=True) for ev in found.evaluations]


def _merged(content: normalize.LogContent | None, more: normalize.LogContent) -> normalize.LogContent:
    if content is None:
        return more
    content.merge(more)
    return content
