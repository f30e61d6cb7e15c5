"""Which price a span gets: model ids as Azure OpenAI, AWS Bedrock and Vertex report them, provider names as
OpenTelemetry reports them, router prefixes, response model before request model, aliases, and unknown models.
Spans come through the relay's own ``normalize`` from the attributes instrumentations send."""

from __future__ import annotations

import pytest

from glassbox.processors import model as M
from glassbox.processors.cost.catalog import Catalog, LibraryPrice
from glassbox.processors.cost.processor import MAX_MODEL_LABELS, UNPRICED_TAG
from tests.processors.cost.support import model_span, otlp_span, priced, processor, usd


def chat(provider: str | None, request: str | None, response: str | None = None, **extra: object) -> M.Span:
    attributes: dict[str, object] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.usage.input_tokens": 10000,
        "gen_ai.usage.output_tokens": 1000,
    }
    if provider is not None:
        attributes["gen_ai.provider.name"] = provider
    if request is not None:
        attributes["gen_ai.request.model"] = request
    if response is not None:
        attributes["gen_ai.response.model"] = response
    attributes.update(extra)
    return otlp_span(attributes)


def costs(span: M.Span, **config: object) -> tuple[float, float]:
    cost = priced(span, processor(**config))
    return cost[M.INPUT_COST], cost[M.OUTPUT_COST]


# (provider as reported, request model, response model) → (input $/MTok, output $/MTok) for 10k in / 1k out
IDS = [
    # Azure OpenAI: the request model is a deployment name, the response model the real one
    ("azure.ai.openai", "prod-gpt4o-eastus", "gpt-4o-2024-08-06", "2.50", "10.00"),
    ("az.ai.openai", "support-bot", "gpt-4o-mini-2024-07-18", "0.15", "0.60"),  # deprecated name, aliased by intake
    ("azure.ai.openai", "gpt-35-turbo", None, "0.50", "1.50"),  # Azure's spelling of gpt-3.5-turbo
    # AWS Bedrock: vendor prefix, -v1:0 suffix, geo prefixes (us./eu./apac. are regional, +10% on Claude 4.5)
    ("aws.bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", None, "3.30", "16.50"),
    ("aws.bedrock", "eu.anthropic.claude-sonnet-4-5-20250929-v1:0", None, "3.30", "16.50"),
    ("aws.bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", None, "3.00", "15.00"),
    ("aws.bedrock", "us.anthropic.claude-haiku-4-5-20251001-v1:0", None, "1.10", "5.50"),
    ("aws.bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0", None, "3.00", "15.00"),
    ("aws.bedrock", "anthropic.claude-3-haiku-20240307-v1:0", None, "0.25", "1.25"),
    (None, "bedrock/anthropic.claude-3-haiku-20240307-v1:0", None, "0.25", "1.25"),  # LiteLLM-style, no provider
    (
        "aws.bedrock",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        None,
        "3.30",
        "16.50",
    ),
    # Vertex AI: Claude with @version, Gemini by plain id or resource path
    ("gcp.vertex_ai", "claude-sonnet-4-5@20250929", None, "3.00", "15.00"),
    ("gcp.vertex_ai", "claude-haiku-4-5@20251001", None, "1.00", "5.00"),
    ("gcp.vertex_ai", "gemini-2.5-pro", None, "1.25", "10.00"),
    ("gcp.vertex_ai", "publishers/google/models/gemini-2.5-flash", None, "0.30", "2.50"),
    ("gcp.gemini", "models/gemini-2.5-flash", None, "0.30", "2.50"),  # the Gemini API's own form
    ("vertex_ai", "gemini-2.5-pro", None, "1.25", "10.00"),  # deprecated gen_ai.system value
    # first-party names and router prefixes
    ("anthropic", "claude-haiku-4-5", "claude-haiku-4-5-20251001", "1.00", "5.00"),
    ("mistral_ai", "mistral-large-latest", "mistral-large-2411", "2", "6"),
    ("openai", "openai/gpt-4o", None, "2.50", "10.00"),
    (None, "openai/gpt-4o", None, "2.50", "10.00"),
    ("openai", "GPT-4o", None, "2.50", "10.00"),  # case
    (None, "claude-3-5-haiku-20241022", None, "0.80", "4.00"),  # provider inferred from the model
    (None, "gemini-2.0-flash", None, "0.10", "0.40"),
]


@pytest.mark.parametrize("provider, request_model, response_model, inp, out", IDS, ids=[i[1] for i in IDS])
def test_model_ids_as_platforms_report_them(provider, request_model, response_model, inp, out):
    span = chat(provider, request_model, response_model)

    assert costs(span) == (usd((10000, inp)), usd((1000, out)))


def test_response_model_is_priced_before_the_request_model():
    """The snapshot that answered is what was billed: gpt-4o-2024-05-13 is 5/15, not gpt-4o's 2.50/10."""
    span = chat("openai", "gpt-4o", "gpt-4o-2024-05-13")

    assert costs(span) == (usd((10000, "5.00")), usd((1000, "15.00")))


def test_an_unknown_snapshot_falls_back_to_the_request_model_never_to_a_stripped_date():
    """The fake server answers gpt-4o-mini-2024-08-06, which OpenAI never released: the request named gpt-4o-mini.
    Without a request model, the unknown snapshot stays unpriced (dates are never stripped to force a match)."""
    assert costs(chat("openai", "gpt-4o-mini", "gpt-4o-mini-2024-08-06")) == (
        usd((10000, "0.15")),
        usd((1000, "0.60")),
    )

    span = chat("openai", None, "gpt-4o-mini-2024-08-06")
    assert priced(span) == {}
    assert span.tags[UNPRICED_TAG] == "gpt-4o-mini-2024-08-06"


def test_a_deployment_name_without_response_model_needs_an_alias():
    span = chat("azure.ai.openai", "Prod-GPT4o-EastUS")
    proc = processor()
    assert priced(span, proc) == {}
    assert span.tags == {UNPRICED_TAG: "Prod-GPT4o-EastUS"}

    span = chat("azure.ai.openai", "Prod-GPT4o-EastUS")
    assert costs(span, model_aliases={"prod-gpt4o-eastus": "gpt-4o"}) == (usd((10000, "2.50")), usd((1000, "10.00")))


def test_the_provider_decides_between_list_prices():
    """The same Claude id costs +10% as a regional Bedrock profile, list price at Anthropic."""
    assert costs(chat("anthropic", "claude-sonnet-4-5-20250929")) == (usd((10000, "3.00")), usd((1000, "15.00")))
    assert costs(chat("aws.bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0")) == (
        usd((10000, "3.30")),
        usd((1000, "16.50")),
    )


def test_unknown_model_has_no_cost_a_tag_and_a_counter():
    proc = processor()
    spans = [chat("openai", "acme-llm-7b"), chat("openai", "acme-llm-7b"), chat(None, None)]

    proc.process(M.Batch(spans=spans))

    for span in spans:
        assert not {k for k in span.metrics if k.endswith("_cost")}  # never a silent $0
    assert spans[0].tags == {UNPRICED_TAG: "acme-llm-7b"}
    assert spans[2].tags == {UNPRICED_TAG: "unknown"}
    assert UNPRICED_TAG in spans[0].enriched_tags  # reaches the OTLP copy too
    series = proc.metrics()["cost_unpriced_spans"]
    assert series[0] == "counter"
    assert series[2] == {(("model", "acme-llm-7b"),): 2.0, (("model", "unknown"),): 1.0}
    assert proc.metrics()["cost_spans"][2][(("result", "unpriced_model"),)] == 3.0


def test_unpriced_tag_can_be_turned_off():
    span = chat("openai", "acme-llm-7b")
    proc = processor(unpriced_tag=False)

    assert priced(span, proc) == {}
    assert span.tags == {}
    assert proc.metrics()["cost_unpriced_spans"][2] == {(("model", "acme-llm-7b"),): 1.0}


def test_model_labels_are_capped():
    proc = processor()
    spans = [model_span(f"custom-model-{i}", "openai", input_tokens=1) for i in range(MAX_MODEL_LABELS + 50)]

    proc.process(M.Batch(spans=spans))

    series = proc.metrics()["cost_unpriced_spans"][2]
    assert len(series) == MAX_MODEL_LABELS + 1
    assert series[(("model", "other"),)] == 50.0
    assert sum(series.values()) == MAX_MODEL_LABELS + 50


def test_a_span_without_token_counts_is_not_priced_and_not_called_unknown():
    span = model_span("gpt-4o", "openai")  # a stream without usage
    proc = processor()

    assert priced(span, proc) == {}
    assert span.tags == {}
    assert proc.metrics()["cost_spans"][2][(("result", "no_usage"),)] == 1.0


def test_the_match_is_decided_once_per_provider_and_model():
    catalog = Catalog()

    first = catalog.plan("azure.ai.openai", "gpt-4o-2024-08-06", "prod")
    again = catalog.plan("azure.ai.openai", "gpt-4o-2024-08-06", "prod")
    other = catalog.plan("openai", "gpt-4o", None)
    assert isinstance(first, LibraryPrice) and isinstance(other, LibraryPrice)
    assert first is again
    assert other is not first and other.model is first.model  # another provider decides on its own, same model
    # prices are resolved once per day and price context, not per span
    assert first.sheet(1_793_491_200_000_000_000, ()) is first.sheet(1_793_491_200_000_000_001, ())


@pytest.mark.parametrize(
    "reported, expected",
    [
        ("openai", "openai"),
        ("azure.ai.openai", "azure"),
        ("azure.ai.inference", "azure"),
        ("aws.bedrock", "aws"),
        ("gcp.vertex_ai", "google"),
        ("gcp.gemini", "google"),
        ("gcp.gen_ai", "google"),
        ("anthropic", "anthropic"),
        ("Anthropic", "anthropic"),  # OpenLLMetry's gen_ai.system value
        ("mistral_ai", "mistral"),
        ("cohere", "cohere"),
        ("deepseek", "deepseek"),
        ("groq", "groq"),
        ("perplexity", "perplexity"),
        ("x_ai", "x-ai"),
        ("moonshot_ai", "moonshotai"),
        ("ibm.watsonx.ai", None),
        (None, None),
    ],
)
def test_otel_provider_names_map_to_genai_prices_ids(reported, expected):
    assert Catalog().provider_id(reported) == expected
