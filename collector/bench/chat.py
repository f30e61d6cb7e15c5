"""The ``chat`` workload (moved here from bench/workload.py so ``glassbox bench`` works from an installed wheel).

Multi-turn support conversations as OpenTelemetry GenAI chat spans (semconv 1.37 JSON messages). Every call
re-sends the conversation so far, as apps do; 20 system prompts (the prompt registry in ``PROMPTS_YAML`` names
them); user messages of 20 to 2,000 characters, a third of them with PII; a mix of providers and models with
realistic token counts (cache reads on repeat calls, reasoning on o-series); some answers truncated, some asked
for JSON. ``request`` is the encoding ``python -m bench.relay`` uses; ``glassbox bench`` encodes with ``spans``.
"""

from __future__ import annotations

import json
import random
import time

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from glassbox.collector.bench.otlp import OtlpTrace, add_attributes, new_request

MODELS = [
    ("openai", "gpt-4o-mini"),
    ("openai", "gpt-4o-2024-08-06"),
    ("openai", "o4-mini"),
    ("anthropic", "claude-sonnet-4-5-20250929"),
    ("gcp.gemini", "gemini-2.5-flash"),
    ("mistral_ai", "mistral-small-latest"),
]
TOPICS = [
    "deliveries",
    "returns",
    "damaged goods",
    "invoices",
    "assembly",
    "warranty",
    "gift cards",
    "loyalty points",
    "store hours",
    "custom orders",
    "payment plans",
    "price matching",
    "fabric care",
    "mattress trials",
    "kitchen planning",
    "outdoor furniture",
    "lighting",
    "rugs",
    "kids furniture",
    "office chairs",
]
SYSTEM = (
    "You are {assistant}, the customer-support assistant of Nordhaven Furniture for {topic}. Be warm and "
    "concise. Answer only questions about {topic}; for anything else, point the customer to the help centre. "
    "Never repeat payment card numbers back to the customer."
)
ASSISTANTS = ["Nova", "Ari", "Sol", "Kai"]
PII = [
    "my email is {first}.{last}@example.com",
    "call me on +1 415-555-{n:04d}",
    "card 4111 1111 1111 1111",
    "IBAN DE89370400440532013000",
    "my SSN is 536-22-{n:04d}",
]
ITEMS = [
    "the Oslo corner sofa",
    "an oak dining table",
    "two walnut chairs",
    "the linen cushions",
    "a bed frame",
    "the assembly screws",
    "a gift voucher",
    "the outdoor bench",
    "a floor lamp",
    "the wool rug",
]
SENTENCES = {  # support-chat sentences with their function words, as people write them; most traffic is English
    "en": [
        "I ordered {item} last week and it has not arrived yet.",
        "Can you tell me when it will be delivered?",
        "The box was damaged and one of the legs is broken.",
        "Is it possible to change the colour before it ships?",
        "I would like to return {item} because it does not fit in our living room.",
        "Thank you, that helps a lot.",
        "Could you send me the invoice again, please?",
        "We measured the space and it is about two metres wide.",
        "What are your opening hours on Sunday?",
        "The courier did not ring the bell and left a note instead.",
    ],
    "de": [
        "Ich habe {item} letzte Woche bestellt und es ist noch nicht angekommen.",
        "Können Sie mir sagen, wann die Lieferung kommt?",
        "Die Verpackung war beschädigt und ein Bein ist gebrochen.",
    ],
    "fr": [
        "J'ai commandé {item} la semaine dernière et il n'est pas encore arrivé.",
        "Pouvez-vous me dire quand il sera livré ?",
        "Le carton était abîmé et un pied est cassé.",
    ],
    "es": [
        "Pedí {item} la semana pasada y todavía no ha llegado.",
        "¿Me puede decir cuándo llegará?",
        "La caja estaba dañada y una pata está rota.",
    ],
}
LANGUAGES = ["en"] * 17 + ["de", "fr", "es"]
REFUSAL = "I'm sorry, but I can't help with that request."
PROMPTS_YAML = "prompts:\n" + "".join(
    f'  - {{name: support-{topic.replace(" ", "-")}, version: "1", '
    f'template: "{SYSTEM.format(assistant="{{assistant}}", topic=topic)}"}}\n'
    for topic in TOPICS
)


def _text(rng: random.Random, low: int, high: int, language: str = "en") -> str:
    size = rng.randint(low, high)
    sentences: list[str] = []
    while sum(len(s) + 1 for s in sentences) < size:
        sentences.append(rng.choice(SENTENCES[language]).format(item=rng.choice(ITEMS)))
    return " ".join(sentences)[: max(size, 20)]


def chat_spans(count: int, seed: int = 7) -> list[dict]:
    """``count`` chat calls from multi-turn conversations, as plain dicts (see ``request``)."""
    rng = random.Random(seed)
    calls: list[dict] = []
    conversation = 0
    while len(calls) < count:
        conversation += 1
        topic = rng.randrange(len(TOPICS))
        provider, model = rng.choice(MODELS)
        system = SYSTEM.format(assistant=rng.choice(ASSISTANTS), topic=TOPICS[topic])
        history: list[dict] = [{"role": "system", "parts": [{"type": "text", "content": system}]}]
        language = rng.choice(LANGUAGES)
        for turn in range(rng.randint(1, 6)):
            question = _text(rng, 20, 2000, language)
            if rng.random() < 1 / 3:
                question += ". " + rng.choice(PII).format(first="ana", last=f"l{conversation}", n=conversation % 10_000)
            history.append({"role": "user", "parts": [{"type": "text", "content": question}]})
            kind = rng.random()
            wants_json = kind < 0.05
            answer = (
                json.dumps({"answer": _text(rng, 20, 200, language)})
                if wants_json
                else REFUSAL
                if kind < 0.08
                else _text(rng, 40, 600, language)
            )
            finish = "length" if 0.08 <= kind < 0.1 else "stop"
            prompt_tokens = sum(len(p["parts"][0]["content"]) for p in history) // 4
            calls.append(
                {
                    "trace": conversation,
                    "turn": turn,
                    "provider": provider,
                    "model": model,
                    "input": list(history),
                    "output": [
                        {"role": "assistant", "parts": [{"type": "text", "content": answer}], "finish_reason": finish}
                    ],
                    "input_tokens": prompt_tokens,
                    "output_tokens": max(1, len(answer) // 4),
                    "cache_read": (prompt_tokens // 2) if turn else 0,
                    "reasoning": 64 if model.startswith("o") else 0,
                    "json": wants_json,
                }
            )
            history.append({"role": "assistant", "parts": [{"type": "text", "content": answer}]})
            if len(calls) >= count:
                break
    return calls


def request(calls: list[dict], first_id: int) -> bytes:
    """One OTLP trace request holding ``calls``; span ids start at ``first_id`` (unique across requests)."""
    out, scope = new_request("bench-support-bot")
    now = time.time_ns()
    for i, call in enumerate(calls):
        span = scope.spans.add()
        span.trace_id = (call["trace"] + (first_id << 32)).to_bytes(16, "big")
        span.span_id = (first_id + i).to_bytes(8, "big")
        span.name = f"chat {call['model']}"
        span.kind = Span.SPAN_KIND_CLIENT
        span.start_time_unix_nano = now
        span.end_time_unix_nano = now + 900_000_000
        add_attributes(span, *attributes(call))
        add_finish_reason(span, call)
    return out.SerializeToString()


def attributes(call: dict) -> tuple[list[tuple[str, str]], list[tuple[str, int]]]:
    """One chat call's span attributes: (string ones, token counts that are not zero), shared by both encodings."""
    strings = [
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.provider.name", call["provider"]),
        ("gen_ai.request.model", call["model"]),
        ("gen_ai.response.model", call["model"]),
        ("gen_ai.input.messages", json.dumps(call["input"])),
        ("gen_ai.output.messages", json.dumps(call["output"])),
        ("gen_ai.conversation.id", f"conv-{call['trace']}"),
    ]
    if call["json"]:
        strings.append(("gen_ai.output.type", "json"))
    ints = [
        ("gen_ai.usage.input_tokens", call["input_tokens"]),
        ("gen_ai.usage.output_tokens", call["output_tokens"]),
        ("gen_ai.usage.cache_read.input_tokens", call["cache_read"]),
        ("gen_ai.usage.reasoning.output_tokens", call["reasoning"]),
    ]
    return strings, [(key, tokens) for key, tokens in ints if tokens]


def add_finish_reason(span: Span, call: dict) -> None:
    """``gen_ai.response.finish_reasons``, an array attribute (the only one a chat span has)."""
    finish = span.attributes.add()
    finish.key = "gen_ai.response.finish_reasons"
    finish.value.array_value.values.add().string_value = call["output"][0]["finish_reason"]


def spans(call: dict, trace: OtlpTrace) -> None:
    """One chat call as one span of ``trace`` (glassbox bench's encoding: ids from ``trace``)."""
    strings, ints = attributes(call)
    add_finish_reason(trace.span(f"chat {call['model']}", Span.SPAN_KIND_CLIENT, strings, ints), call)
