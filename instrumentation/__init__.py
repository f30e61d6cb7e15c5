"""glassbox's drop-in instrumentation for apps: OTel SDK and exporters only (the base install; nothing of the
relay). ``glassbox-instrument python app.py`` calls ``init()`` before the app starts; code can call it instead.

    from glassbox import instrumentation as gb

    gb.init()                                   # idempotent
    with gb.session("conv-8231", user_id="customer-42"), gb.prompt("support", version="2026-03"):
        client.chat.completions.create(...)
    gb.feedback(True)                           # thumbs up on the last model call
"""

from glassbox.instrumentation.helpers import (
    agent,
    annotate,
    feedback,
    prompt,
    retrieval,
    session,
    submit_evaluation,
    task,
    tool,
    workflow,
)
from glassbox.instrumentation.setup import init

__all__ = [
    "agent",
    "annotate",
    "feedback",
    "init",
    "prompt",
    "retrieval",
    "session",
    "submit_evaluation",
    "task",
    "tool",
    "workflow",
]
