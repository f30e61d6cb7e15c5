"""Micro-benchmark of the cost processor: spans per second over a realistic mix (not collected by pytest).

    .venv/bin/python -m tests.processors.cost.bench_cost [rounds]

The mix: every GenAI span of four real captures (OpenLLMetry, openai-v2, OpenLIT with its own cost, Traceloop
entities that are skipped), plus Anthropic with cache, Bedrock, Vertex Gemini over its long-context tier, a
reasoning model, Mistral and an unknown model. Spans are fresh each round (deep copies made before timing), the
processor's caches are warm, as in a running relay.
"""

from __future__ import annotations

import copy
import sys
import time

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from glassbox.collector.intake import normalize
from glassbox.processors import model as M
from tests.conftest import fixture_files
from tests.processors.cost.support import model_span, processor


def mix() -> list[M.Span]:
    spans = []
    for source in ("ll_default", "v2_latest_span_only", "openlit_1.45.0", "traceloop_sdk"):
        for path in fixture_files(source):
            if path.stem.endswith("_traces"):
                request = ExportTraceServiceRequest.FromString(path.read_bytes())
                spans += [span for span in normalize.spans(request) if span.is_genai]
    return spans + [
        model_span(
            "claude-sonnet-4-5-20250929",
            "anthropic",
            input_tokens=12000,
            output_tokens=800,
            cache_read_input_tokens=9000,
            cache_write_input_tokens=1000,
        ),
        model_span("us.anthropic.claude-haiku-4-5-20251001-v1:0", "aws.bedrock", input_tokens=3000, output_tokens=300),
        model_span(
            "gemini-2.5-pro", "gcp.vertex_ai", input_tokens=230000, output_tokens=2000, reasoning_output_tokens=1200
        ),
        model_span(
            "gpt-5-mini",
            "openai",
            input_tokens=5000,
            output_tokens=1500,
            reasoning_output_tokens=1000,
            cache_read_input_tokens=4000,
        ),
        model_span("mistral-large-2411", "mistral_ai", input_tokens=900, output_tokens=100),
        model_span("acme-internal-13b", "openai", input_tokens=900, output_tokens=100),
    ]


def main(rounds: int = 400) -> None:
    base = mix()
    proc = processor()
    proc.process(M.Batch(spans=copy.deepcopy(base)))  # warm caches, like a relay that has seen these models
    batches = [M.Batch(spans=copy.deepcopy(base)) for _ in range(rounds)]
    started = time.perf_counter()
    for batch in batches:
        proc.process(batch)
    elapsed = time.perf_counter() - started
    count = rounds * len(base)
    print(f"{count} spans ({len(base)} per batch) in {elapsed * 1000:.1f} ms: {count / elapsed:,.0f} spans/s, ", end="")
    print(f"{elapsed / count * 1e6:.2f} us/span; results: ", end="")
    print({labels[0][1]: int(n) for labels, n in proc.metrics()["cost_spans"][2].items()})


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 400)
