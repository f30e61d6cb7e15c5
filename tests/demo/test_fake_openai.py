"""The fake OpenAI server must be parsed cleanly by the real openai client (sync and async).

Parsed objects are re-validated strictly with ``Model.model_validate(obj.to_dict())``:
the client itself builds models leniently and would hide a missing required field.
"""

import json
import urllib.error
import urllib.request

import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from openai.types import Completion, CreateEmbeddingResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response

from glassbox.collector.demo.fake_openai import (
    EMBEDDING_DIM,
    FakeOpenAI,
    embedding_vector,
    prompt_tokens,
    reply_for,
    snapshot_model,
)

LOOKUP_ORDER = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "description": "Look up an order",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
    },
}
DELIVERY_Q = "When will my sofa be delivered?"


@pytest.fixture
def srv():
    with FakeOpenAI.start_in_thread() as server:
        yield server


@pytest.fixture
def client(srv):
    with OpenAI(base_url=srv.base_url, api_key="test", max_retries=0, timeout=10) as c:
        yield c


def user(text):
    return [{"role": "user", "content": text}]


# ------------------------------------------------------------------ chat, non-stream


def test_chat_text_reply_and_metadata(client, srv):
    resp = client.chat.completions.create(model="gpt-4o-mini", messages=user(DELIVERY_Q))
    ChatCompletion.model_validate(resp.to_dict())
    assert srv.base_url.startswith("http://127.0.0.1:") and srv.base_url.endswith("/v1")
    assert resp.object == "chat.completion"
    assert resp.id.startswith("chatcmpl-")
    assert resp.model == "gpt-4o-mini-2024-07-18"
    assert resp.system_fingerprint and resp.service_tier == "default"
    choice = resp.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content == reply_for(DELIVERY_Q)
    assert "delivery" in choice.message.content.lower()
    usage = resp.usage
    assert usage.prompt_tokens == prompt_tokens([DELIVERY_Q])
    assert usage.completion_tokens == len(choice.message.content) // 4 + 1
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.prompt_tokens_details.cached_tokens == 0
    assert usage.completion_tokens_details.reasoning_tokens == 0
    assert srv.requests == [("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": user(DELIVERY_Q)})]


def test_chat_is_deterministic_and_caches_long_histories(client):
    history = [
        {"role": "system", "content": "You are a furniture support bot."},
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "Hi!"},
        {"role": "user", "content": "Can I return a chair?"},
    ]
    a = client.chat.completions.create(model="gpt-4o-mini", messages=history)
    b = client.chat.completions.create(model="gpt-4o-mini", messages=history)
    assert a.choices[0].message.content == b.choices[0].message.content
    assert "30 days" in a.choices[0].message.content
    assert a.usage.model_dump() == b.usage.model_dump()
    assert a.usage.prompt_tokens_details.cached_tokens == a.usage.prompt_tokens // 2 > 0


@pytest.mark.parametrize(
    "text, keyword",
    [
        ("My sofa arrived damaged, the fabric is torn", "damage"),
        ("What's the status of my order?", "order number"),
        ("thanks a lot", "welcome"),
        ("Do you sell lamps?", "Nordhaven"),
    ],
)
def test_chat_reply_is_chosen_by_keyword(client, text, keyword):
    resp = client.chat.completions.create(model="gpt-4o-mini", messages=user(text))
    assert keyword in resp.choices[0].message.content


def test_chat_tool_call_then_tool_result(client):
    messages = user("Hi, call me on +1 415-555-0134. Where is order 48213?")
    resp = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[LOOKUP_ORDER])
    ChatCompletion.model_validate(resp.to_dict())
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.id.startswith("call_") and call.type == "function"
    assert call.function.name == "lookup_order"
    assert json.loads(call.function.arguments) == {"order_id": "48213"}

    messages += [
        choice.message.model_dump(exclude_none=True),
        {
            "role": "tool",
            "tool_call_id": call.id,
            "content": json.dumps({"order_id": "48213", "status": "shipped", "eta": "2026-03-14"}),
        },
    ]
    final = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[LOOKUP_ORDER])
    assert final.choices[0].finish_reason == "stop"
    text = final.choices[0].message.content
    assert "48213" in text and "shipped" in text and "2026-03-14" in text


def test_tool_call_without_digits_uses_unknown(client):
    resp = client.chat.completions.create(model="gpt-4o-mini", messages=user("where's my stuff"), tools=[LOOKUP_ORDER])
    args = resp.choices[0].message.tool_calls[0].function.arguments
    assert json.loads(args) == {"order_id": "unknown"}


# ------------------------------------------------------------------ chat, stream


def test_stream_text_with_usage(client):
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=user(DELIVERY_Q), stream=True, stream_options={"include_usage": True}
        )
    )
    for c in chunks:
        ChatCompletionChunk.model_validate(c.to_dict())
    *body, last = chunks
    assert last.choices == [] and last.usage.total_tokens > 0
    assert last.usage.prompt_tokens == prompt_tokens([DELIVERY_Q])
    assert all(c.usage is None for c in body)
    assert body[0].choices[0].delta.role == "assistant"
    pieces = [c.choices[0].delta.content for c in body if c.choices[0].delta.content]
    assert len(pieces) >= 3
    assert "".join(pieces) == reply_for(DELIVERY_Q)
    assert body[-1].choices[0].finish_reason == "stop"
    assert {c.id for c in chunks} == {chunks[0].id}
    assert chunks[0].model == "gpt-4o-mini-2024-07-18"


def test_stream_without_usage_has_no_usage_chunk(client):
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=user("hi"), stream=True))
    assert all(c.choices for c in chunks)
    assert all(c.usage is None for c in chunks)


def test_stream_tool_call_deltas(client):
    with client.chat.completions.stream(
        model="gpt-4o-mini", tools=[LOOKUP_ORDER], messages=user("Status of order 77123 please")
    ) as stream:
        deltas = [e for e in stream if e.type == "tool_calls.function.arguments.delta"]
        final = stream.get_final_completion()
    assert len(deltas) >= 2  # arguments arrive in several fragments
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.id.startswith("call_") and call.function.name == "lookup_order"
    assert json.loads(call.function.arguments) == {"order_id": "77123"}


# ------------------------------------------------------------------ other endpoints


def test_embeddings_single_and_batch(client):
    one = client.embeddings.create(model="text-embedding-3-small", input="return policy")
    CreateEmbeddingResponse.model_validate(one.to_dict())
    assert one.model == "text-embedding-3-small"
    assert len(one.data) == 1 and len(one.data[0].embedding) == EMBEDDING_DIM
    assert one.data[0].embedding == embedding_vector("return policy")  # via base64 default
    assert one.usage.prompt_tokens == one.usage.total_tokens > 0

    batch = client.embeddings.create(model="text-embedding-3-small", input=["a", "b", "a"], encoding_format="float")
    vectors = [d.embedding for d in batch.data]
    assert [d.index for d in batch.data] == [0, 1, 2]
    assert vectors[0] == vectors[2] == embedding_vector("a") != vectors[1]


def test_legacy_completions(client):
    resp = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="How do I return a table?", max_tokens=50)
    Completion.model_validate(resp.to_dict())
    assert resp.object == "text_completion"
    assert resp.model == "gpt-3.5-turbo-instruct-0914"
    assert "30 days" in resp.choices[0].text and resp.choices[0].finish_reason == "stop"
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens


def test_responses_api(client):
    resp = client.responses.create(model="gpt-4.1-mini", instructions="Be brief.", input="Hello there")
    Response.model_validate(resp.to_dict())
    assert resp.status == "completed" and resp.model == "gpt-4.1-mini-2025-04-14"
    assert resp.output_text == reply_for("Hello there")
    u = resp.usage
    assert u.input_tokens > 0 and u.output_tokens > 0
    assert u.total_tokens == u.input_tokens + u.output_tokens
    assert u.input_tokens_details.cached_tokens == 0
    assert u.output_tokens_details.reasoning_tokens == 0

    items = [{"role": "user", "content": [{"type": "input_text", "text": "My bed is broken"}]}]
    assert "damage" in client.responses.create(model="gpt-4.1-mini", input=items).output_text


# ------------------------------------------------------------------ errors


def test_fail_model_gives_500(client):
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="fail-model", messages=user("hi"))
    assert info.value.status_code == 500
    assert info.value.body["type"] == "server_error"
    with pytest.raises(openai.InternalServerError):
        client.embeddings.create(model="fail-model", input="x")


def test_invalid_json_gives_400(srv):
    req = urllib.request.Request(
        f"{srv.base_url}/chat/completions", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=10)
    assert info.value.code == 400
    body = json.loads(info.value.read())
    assert body["error"]["type"] == "invalid_request_error" and body["error"]["message"]
    assert srv.requests == [("/v1/chat/completions", None)]


def test_missing_field_gives_400(client):
    with pytest.raises(openai.BadRequestError):
        client.post("/chat/completions", body={"model": "gpt-4o-mini"}, cast_to=object)


def test_snapshot_model_mapping():
    assert snapshot_model("gpt-4o-mini") == "gpt-4o-mini-2024-07-18"
    assert snapshot_model("gpt-4o") == "gpt-4o-2024-08-06"
    assert snapshot_model("my-model") == "my-model-2024-08-06"
    assert snapshot_model("gpt-4o-2024-05-13") == "gpt-4o-2024-05-13"


# ------------------------------------------------------------------ async


async def test_async_client_all_endpoints():
    async with FakeOpenAI() as srv:
        client = AsyncOpenAI(base_url=srv.base_url, api_key="test", max_retries=0, timeout=10)
        async with client:
            chat = await client.chat.completions.create(model="gpt-4o-mini", messages=user(DELIVERY_Q))
            assert chat.choices[0].message.content == reply_for(DELIVERY_Q)

            tool = await client.chat.completions.create(
                model="gpt-4o-mini", messages=user("order 48213?"), tools=[LOOKUP_ORDER]
            )
            assert tool.choices[0].message.tool_calls[0].function.name == "lookup_order"

            stream = await client.chat.completions.create(
                model="gpt-4o-mini", messages=user(DELIVERY_Q), stream=True, stream_options={"include_usage": True}
            )
            chunks = [c async for c in stream]
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            assert text == reply_for(DELIVERY_Q) and chunks[-1].usage.total_tokens > 0

            stream = await client.chat.completions.create(
                model="gpt-4o-mini", messages=user("order 48213?"), tools=[LOOKUP_ORDER], stream=True
            )
            args = "".join(
                [tc.function.arguments or "" async for c in stream for tc in (c.choices[0].delta.tool_calls or [])]
            )
            assert json.loads(args) == {"order_id": "48213"}

            emb = await client.embeddings.create(model="text-embedding-3-small", input="x")
            assert emb.data[0].embedding == embedding_vector("x")

            comp = await client.completions.create(model="gpt-3.5-turbo-instruct", prompt="hi")
            assert comp.choices[0].text

            resp = await client.responses.create(model="gpt-4.1-mini", input="hello")
            assert resp.output_text

            with pytest.raises(openai.InternalServerError):
                await client.chat.completions.create(model="fail-model", messages=user("x"))
        paths = [path for path, _ in srv.requests]
        assert paths.count("/v1/chat/completions") == 5
        assert {"/v1/embeddings", "/v1/completions", "/v1/responses"} <= set(paths)


def test_stop_is_only_for_threaded_servers():
    with pytest.raises(RuntimeError):
        FakeOpenAI().stop()
