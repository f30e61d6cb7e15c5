"""Turn on every GenAI instrumentation that is installed, with message content captured.

Instrumentations are found the way ``opentelemetry-instrument`` finds them (the ``opentelemetry_instrumentor``
entry points), but only the GenAI ones are turned on: glassbox is not a general APM agent, and an HTTP or database
instrumentation the app did not ask for would change what it sends elsewhere. Each library has its own content
switch; ``CONTENT_SWITCHES`` sets them all unless the environment already says otherwise (the app's choice wins).
"""

from __future__ import annotations

import os
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

# Entry-point names of GenAI instrumentations (OpenLLMetry's, OpenTelemetry's official GenAI ones).
GENAI = frozenset(
    {
        "agno", "alephalpha", "anthropic", "bedrock", "chromadb", "cohere", "crewai", "google_genai",
        "google_generativeai", "groq", "haystack", "lancedb", "langchain", "litellm", "llamaindex", "llama_index",
        "marqo", "mcp", "milvus", "mistralai", "ollama", "openai", "openai_agents", "openai_v2", "pinecone",
        "qdrant", "replicate", "sagemaker", "together", "transformers", "vertexai", "voyageai", "watsonx",
        "weaviate", "writer",
    }
)  # fmt: skip
# Where two packages register the same name (OpenLLMetry's and the official ``openai``), the first listed wins;
# GLASSBOX_PREFER (distribution names, comma-separated) puts others first.
PREFERRED = ("opentelemetry-instrumentation-openai",)
CONTENT_SWITCHES = {
    "TRACELOOP_TRACE_CONTENT": "true",  # OpenLLMetry
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "span_only",  # official GenAI instrumentations
    "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",  # older official releases need it for content
    "TRACELOOP_TELEMETRY": "false",  # OpenLLMetry's anonymous usage telemetry leaves the machine: off
}


@dataclass(frozen=True)
class Found:
    name: str
    distribution: str
    entry_point: EntryPoint


def set_content_switches(environ: MutableMapping[str, str]) -> None:
    for key, value in CONTENT_SWITCHES.items():
        if key == "OTEL_SEMCONV_STABILITY_OPT_IN" and environ.get(key):
            if value not in environ[key].split(","):
                environ[key] = f"{environ[key]},{value}"
            continue
        environ.setdefault(key, value)


def installed(environ: MutableMapping[str, str] | None = None) -> list[Found]:
    """The GenAI instrumentations to turn on: one per name, minus OTEL_PYTHON_DISABLED_INSTRUMENTATIONS."""
    environ = os.environ if environ is None else environ
    disabled = {n.strip() for n in environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "").split(",") if n.strip()}
    prefer = [p.strip() for p in environ.get("GLASSBOX_PREFER", "").split(",") if p.strip()] + list(PREFERRED)
    chosen: dict[str, Found] = {}
    for entry_point in entry_points(group="opentelemetry_instrumentor"):
        if entry_point.name not in GENAI or entry_point.name in disabled:
            continue
        found = Found(entry_point.name, entry_point.dist.name if entry_point.dist else "", entry_point)
        current = chosen.get(found.name)
        if current is None or _rank(found, prefer) < _rank(current, prefer):
            chosen[found.name] = found
    return sorted(chosen.values(), key=lambda f: f.name)


def _rank(found: Found, prefer: list[str]) -> int:
    return prefer.index(found.distribution) if found.distribution in prefer else len(prefer)


def instrument(found: list[Found], warn: Callable[[str], None], **kwargs: object) -> list[str]:
    """Instrument each library. One whose library is not installed is skipped quietly (traceloop-sdk installs
    thirty); a version conflict or an instrumentation that raises is skipped with one warning. Returns the names
    turned on."""
    done = []
    for item in found:
        try:
            instrumentor = item.entry_point.load()()
            instrumentor.instrument(raise_exception_on_conflict=True, **kwargs)
        except Exception as exc:  # noqa: BLE001 — the app must run whatever an instrumentation does
            conflict = getattr(exc, "conflict", None)
            if conflict is not None and not (conflict.found or conflict.found_any):
                continue  # the library it instruments is not installed
            warn(f"{item.distribution or item.name} not turned on ({type(exc).__name__}: {exc})")
            continue
        done.append(item.name)
    return done
