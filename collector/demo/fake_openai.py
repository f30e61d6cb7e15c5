"""A deterministic fake of the OpenAI HTTP API, for the offline demo and tests.

Real instrumentations only produce realistic spans when they wrap the real ``openai``
client, and that client only runs against something that speaks the OpenAI wire format.
This server speaks enough of it (chat with streaming and tools, embeddings, legacy
completions, Responses) without any network or key, and always gives the same answers.

Use it from async code::

    async with FakeOpenAI() as srv:
        client = AsyncOpenAI(base_url=srv.base_url, api_key="x")

or from sync code (the server runs on its own event loop in a thread)::

    srv = FakeOpenAI.start_in_thread()
    ...
    srv.stop()

or standalone: ``python -m glassbox.collector.demo.fake_openai --port 18080``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import re
import struct
import threading
from typing import Any

from aiohttp import web

CREATED = 1767225600  # fixed timestamp (2026-01-01) so responses are reproducible
FINGERPRINT = "fp_nordhaven01"
EMBEDDING_DIM = 8
FAIL_MODEL = "fail-model"
# Judge mode: a chat request whose system message contains this marker (the first line of glassbox's LLM judge
# prompt, ``processors/evals/judge.py``) gets a JSON verdict instead of a support-bot reply. Directives in the
# other messages steer it, so tests can script every case:
#   fake-judge:score=0.25       the verdict's score (default 1.0); label "pass" from 0.5 up, else "fail"
#   fake-judge:delay=2          answer after 2 seconds, or as soon as release_judges() is called
#   fake-judge:error=503        answer with that HTTP error status
#   fake-judge:fail-first=2     answer 500 to the first 2 attempts of this exact request body
#   fake-judge:malformed=KIND   not_json | missing_score | out_of_range | bad_label | no_choices | fenced (valid,
#                               inside a markdown code fence)
JUDGE_MARKER = "glassbox-judge/"
_JUDGE_DIRECTIVE = re.compile(r"fake-judge:([a-z_-]+)=([A-Za-z0-9_.-]+)")

# Request model -> dated snapshot, as the real API reports it.
_SNAPSHOTS = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "gpt-3.5-turbo": "gpt-3.5-turbo-0125",
    "gpt-3.5-turbo-instruct": "gpt-3.5-turbo-instruct-0914",
}


def snapshot_model(model: str) -> str:
    """Map a request model to the response model (deterministic)."""
    if model in _SNAPSHOTS:
        return _SNAPSHOTS[model]
    if re.search(r"-\d{4}-\d{2}-\d{2}$|-\d{4}$", model):
        return model
    return f"{model}-2024-08-06"


# --------------------------------------------------------------------------- script
# The support bot's canned answers, picked by keyword so the demo conversation reads well.

_REPLIES = [
    (  # the demo's injection attempt: a refusal, so the failure_to_answer and prompt_injection evals fail
        ("ignore all previous instructions", "discount code"),
        "I'm sorry, but I can't help with that. I can help with orders, deliveries, returns and damaged goods.",
    ),
    (
        ("damaged", "broken", "tear", "torn", "scratch", "stain", "defect"),
        "I'm so sorry your sofa arrived damaged. I've opened a damage claim for you: please "
        "reply with two photos of the damage and we will send a replacement cover or a "
        "technician within 5 business days, at no cost to you.",
    ),
    (
        ("return", "refund", "exchange", "send it back"),
        "You can return any Nordhaven item within 30 days of delivery for a full refund. "
        "We collect it from your home for a flat fee of $49, or free if the item is faulty.",
    ),
    (
        ("deliver", "delivery", "shipping", "arrive", "when will"),
        "Standard delivery takes 5 to 7 business days for in-stock items, and 6 to 8 weeks "
        "for made-to-order sofas. You will get a two-hour delivery window by text the day "
        "before.",
    ),
    (
        ("order", "status", "track"),
        "I can check that for you. Could you share your order number? It starts with NH "
        "and is in your confirmation email.",
    ),
    (
        ("assemble", "assembly", "instructions"),
        "All our tables and beds come with printed assembly instructions, and you can add "
        "our white-glove assembly service for $79 at checkout.",
    ),
    (("thank", "thanks", "great"), "You're very welcome! Is there anything else I can help you with today?"),
    (("hello", "hi ", "hey"), "Hello and welcome to Nordhaven Furniture! How can I help you today?"),
]
_FALLBACK = (
    "Thanks for reaching out to Nordhaven Furniture. I'm happy to help with "
    "orders, deliveries, returns and product questions - could you tell me a "
    "little more?"
)


def _text_of(content: Any) -> str:
    """Flatten OpenAI message content (string or list of parts) to text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(_text_of(p.get("text") or p.get("content")) if isinstance(p, dict) else str(p) for p in content)
    return str(content)


def _reply_for_tool_result(content: str) -> str:
    try:
        data = json.loads(content)
    except ValueError:
        return f"Here is what I found: {content}"
    if not isinstance(data, dict):
        return f"Here is what I found: {content}"
    if "status" in data:
        items = ", ".join(data.get("items") or []) or "your items"
        text = f"Good news! Order {data.get('order_id', '')} ({items}) is {data['status']}"
        if data.get("carrier"):
            text += f" with {data['carrier']}"
        if data.get("eta"):
            text += f" and is expected to arrive on {data['eta']}"
        return text + ". Anything else I can help with?"
    return "Here is what I found: " + ", ".join(f"{k}: {v}" for k, v in data.items())


def reply_for(text: str, from_tool: bool = False) -> str:
    """Pick the assistant's answer for the last user (or tool) message."""
    if from_tool:
        return _reply_for_tool_result(text)
    lowered = f" {text.lower()} "
    for keywords, reply in _REPLIES:
        if any(k in lowered for k in keywords):
            return reply
    return _FALLBACK


def tool_arguments(tool: dict, text: str) -> str:
    """Build a tool call's JSON arguments from the user text."""
    # Prefer digits right after the word "order" over phone or card numbers.
    match = re.search(r"order\D{0,20}?(\d{3,})", text, re.IGNORECASE)
    if match:
        number = match.group(1)
    else:
        match = re.search(r"\d{3,}", text)
        number = match.group(0) if match else "unknown"
    params = (tool.get("function") or tool).get("parameters") or {}
    props = list((params.get("properties") or {}).keys())
    if not props:
        return json.dumps({"query": text})
    args = {p: number if ("id" in p or "number" in p) else text for p in props}
    return json.dumps(args)


# --------------------------------------------------------------------------- usage


def prompt_tokens(texts: list[str]) -> int:
    return max(1, len("".join(texts)) // 4 + 10)


def completion_tokens(text: str) -> int:
    return len(text) // 4 + 1


def chat_usage(texts: list[str], reply: str, n_messages: int) -> dict:
    p, c = prompt_tokens(texts), completion_tokens(reply)
    return {
        "prompt_tokens": p,
        "completion_tokens": c,
        "total_tokens": p + c,
        "prompt_tokens_details": {"cached_tokens": p // 2 if n_messages >= 3 else 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def embedding_vector(text: str) -> list[float]:
    """A fixed-size vector in [-1, 1) derived from a hash of the text."""
    digest = hashlib.sha256(text.encode()).digest()
    return [(b - 128) / 128 for b in digest[:EMBEDDING_DIM]]  # exact in float32


def _split_words(text: str, parts: int = 5) -> list[str]:
    words = re.findall(r"\S+\s*", text) or [text]
    size = max(1, -(-len(words) // parts))
    return ["".join(words[i : i + size]) for i in range(0, len(words), size)]


def _split_even(text: str, parts: int = 3) -> list[str]:
    size = max(1, -(-len(text) // parts))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def openai_error(status: int, message: str, etype: str, code: str | None = None) -> web.Response:
    body = {"error": {"message": message, "type": etype, "param": None, "code": code}}
    return web.json_response(body, status=status)


def _is_judge_request(body: dict) -> bool:
    return any(
        isinstance(m, dict) and m.get("role") == "system" and JUDGE_MARKER in _text_of(m.get("content"))
        for m in body.get("messages") or []
    )


def judge_content(verdict: dict, malformed: str | None) -> str:
    """The judge-mode message content: the verdict as JSON, or the malformed variant asked for."""
    if malformed == "not_json":
        return "The answer looks fine to me."
    if malformed == "missing_score":
        verdict = {k: v for k, v in verdict.items() if k != "score"}
    elif malformed == "out_of_range":
        verdict = {**verdict, "score": 7}
    elif malformed == "bad_label":
        verdict = {**verdict, "label": "maybe"}
    elif malformed == "fenced":
        return "```json\n" + json.dumps(verdict) + "\n```"
    return json.dumps(verdict)


# --------------------------------------------------------------------------- server


class FakeOpenAI:
    """The fake server. ``requests`` lists ``(path, json_body)`` of every request served."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host, self.port = host, port
        self.requests: list[tuple[str, Any]] = []
        self._counter = 0
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.judge_requests = 0  # judge mode: requests answered, in flight now, and the most at once
        self.judge_in_flight = 0
        self.judge_max_in_flight = 0
        self._judge_release = asyncio.Event()
        self._judge_attempts: dict[str, int] = {}

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    # ---- lifecycle (async)
    async def start(self) -> FakeOpenAI:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_post("/v1/completions", self._completions)
        app.router.add_post("/v1/responses", self._responses)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]  # resolve port 0
        return self

    async def close(self) -> None:
        self._judge_release.set()  # delayed judge replies end now, so the server stops at once
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeOpenAI:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- lifecycle (thread-backed, for sync callers)
    @classmethod
    def start_in_thread(cls, host: str = "127.0.0.1", port: int = 0) -> FakeOpenAI:
        """Run a server on a private event loop in a daemon thread; stop() ends it."""
        srv = cls(host, port)
        loop = srv._loop = asyncio.new_event_loop()
        started = threading.Event()
        errors: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(srv.start())
            except BaseException as exc:  # surface bind errors to the caller
                errors.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(srv.close())
            loop.close()

        srv._thread = threading.Thread(target=serve, name="fake-openai", daemon=True)
        srv._thread.start()
        started.wait()
        if errors:
            raise errors[0]
        return srv

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            raise RuntimeError("stop() is for servers started with start_in_thread()")
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def release_judges(self) -> None:
        """End every judge-mode delay now (thread-safe): delayed verdicts are sent at once, later ones too."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._judge_release.set)
        else:
            self._judge_release.set()

    # ---- helpers
    def _next(self) -> int:
        self._counter += 1
        return self._counter

    async def _read(self, request: web.Request, required: tuple[str, ...]):
        """Parse and record the body; return (body, None) or (None, error response)."""
        try:
            body = json.loads(await request.text())
        except ValueError:
            body = None
        self.requests.append((request.path, body))
        if not isinstance(body, dict):
            return None, openai_error(400, "We could not parse the JSON body of your request.", "invalid_request_error")
        missing = [k for k in required if k not in body]
        if missing:
            return None, openai_error(
                400,
                f"Missing required parameter: '{missing[0]}'.",
                "invalid_request_error",
                "missing_required_parameter",
            )
        if body["model"] == FAIL_MODEL:
            return None, openai_error(
                500, "The server had an error while processing your request. (fake-openai: fail-model)", "server_error"
            )
        return body, None

    # ---- /v1/chat/completions
    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body, err = await self._read(request, ("model", "messages"))
        if err:
            return err
        if _is_judge_request(body):
            return await self._judge(body)
        messages = body["messages"] or [{"role": "user", "content": ""}]
        texts = [_text_of(m.get("content")) for m in messages]
        for m in messages:
            for tc in m.get("tool_calls") or []:
                texts.append(json.dumps(tc.get("function", {})))
        last = messages[-1]
        n = self._next()
        model = snapshot_model(body["model"])
        tool_call: dict[str, Any] | None = None
        if body.get("tools") and last.get("role") == "user" and body.get("tool_choice") != "none":
            tool = body["tools"][0]
            name = (tool.get("function") or tool).get("name", "tool")
            arguments = tool_arguments(tool, _text_of(last.get("content")))
            tool_call = {"id": f"call_{n}", "type": "function", "function": {"name": name, "arguments": arguments}}
            reply = name + arguments
        else:
            reply = reply_for(_text_of(last.get("content")), from_tool=last.get("role") == "tool")
        usage = chat_usage(texts, reply, len(messages))
        head = {
            "id": f"chatcmpl-fake{n}",
            "created": CREATED,
            "model": model,
            "system_fingerprint": FINGERPRINT,
            "service_tier": "default",
        }
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return await self._chat_stream(request, head, reply, tool_call, usage, include_usage)
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None if tool_call else reply,
            "refusal": None,
            "annotations": [],
        }
        if tool_call:
            message["tool_calls"] = [tool_call]
        choice = {
            "index": 0,
            "message": message,
            "logprobs": None,
            "finish_reason": "tool_calls" if tool_call else "stop",
        }
        return web.json_response({**head, "object": "chat.completion", "choices": [choice], "usage": usage})

    async def _chat_stream(self, request, head, reply, tool_call, usage, include_usage):
        chunk_base = {**head, "object": "chat.completion.chunk"}
        if include_usage:
            chunk_base["usage"] = None

        def chunk(delta: dict, finish: str | None = None) -> dict:
            return {**chunk_base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

        chunks = []
        if tool_call:
            fn = tool_call["function"]
            chunks.append(
                chunk(
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": tool_call["id"],
                                "type": "function",
                                "function": {"name": fn["name"], "arguments": ""},
                            }
                        ],
                    }
                )
            )
            for piece in _split_even(fn["arguments"]):
                chunks.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
            chunks.append(chunk({}, "tool_calls"))
        else:
            chunks.append(chunk({"role": "assistant", "content": "", "refusal": None}))
            chunks.extend(chunk({"content": piece}) for piece in _split_words(reply))
            chunks.append(chunk({}, "stop"))
        if include_usage:
            chunks.append({**chunk_base, "choices": [], "usage": usage})

        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        for c in chunks:
            await resp.write(f"data: {json.dumps(c)}\n\n".encode())
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    # ---- judge mode (see JUDGE_MARKER)
    async def _judge(self, body: dict) -> web.Response:
        messages = body["messages"]
        text = "\n".join(_text_of(m.get("content")) for m in messages if m.get("role") != "system")
        directives = dict(_JUDGE_DIRECTIVE.findall(text))
        self.judge_in_flight += 1
        self.judge_max_in_flight = max(self.judge_max_in_flight, self.judge_in_flight)
        try:
            delay = float(directives.get("delay", 0))
            if delay > 0 and not self._judge_release.is_set():
                try:
                    await asyncio.wait_for(self._judge_release.wait(), delay)
                except TimeoutError:
                    pass
            key = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
            self._judge_attempts[key] = attempt = self._judge_attempts.get(key, 0) + 1
            if attempt <= int(directives.get("fail-first", 0)):
                return openai_error(500, "fake-openai: failing this attempt (fail-first)", "server_error")
            if "error" in directives:
                return openai_error(int(directives["error"]), "fake-openai: scripted judge error", "server_error")
            score = float(directives.get("score", 1.0))
            verdict: dict[str, Any] = {
                "score": score,
                "label": "pass" if score >= 0.5 else "fail",
                "reasoning": f"fake judge: {len(text)} characters judged",
            }
            content = judge_content(verdict, directives.get("malformed"))
            n = self._next()
            usage = chat_usage([_text_of(m.get("content")) for m in messages], content or "", len(messages))
            choices = (
                []
                if directives.get("malformed") == "no_choices"
                else [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": None, "annotations": []},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ]
            )
            return web.json_response(
                {
                    "id": f"chatcmpl-fake{n}",
                    "object": "chat.completion",
                    "created": CREATED,
                    "model": snapshot_model(body["model"]),
                    "system_fingerprint": FINGERPRINT,
                    "choices": choices,
                    "usage": usage,
                }
            )
        finally:
            self.judge_in_flight -= 1
            self.judge_requests += 1

    # ---- /v1/embeddings
    async def _embeddings(self, request: web.Request) -> web.Response:
        body, err = await self._read(request, ("model", "input"))
        if err:
            return err
        inputs = body["input"]
        if isinstance(inputs, str) or (isinstance(inputs, list) and inputs and isinstance(inputs[0], int)):
            inputs = [inputs]
        texts = [x if isinstance(x, str) else " ".join(map(str, x)) for x in inputs]
        data = []
        for i, text in enumerate(texts):
            vec: list[float] | str = embedding_vector(text)
            if body.get("encoding_format") == "base64":  # the openai client's default
                vec = base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode()
            data.append({"object": "embedding", "index": i, "embedding": vec})
        tokens = max(1, sum(len(t) for t in texts) // 4 + 1)
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    # ---- /v1/completions (legacy)
    async def _completions(self, request: web.Request) -> web.Response:
        body, err = await self._read(request, ("model", "prompt"))
        if err:
            return err
        if body.get("stream"):
            return openai_error(
                400, "fake-openai: streaming is not supported on /v1/completions", "invalid_request_error"
            )
        prompt = body["prompt"]
        text = prompt if isinstance(prompt, str) else " ".join(map(str, prompt))
        reply = reply_for(text)
        p, c = prompt_tokens([text]), completion_tokens(reply)
        return web.json_response(
            {
                "id": f"cmpl-fake{self._next()}",
                "object": "text_completion",
                "created": CREATED,
                "model": snapshot_model(body["model"]),
                "system_fingerprint": FINGERPRINT,
                "choices": [{"text": reply, "index": 0, "logprobs": None, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c},
            }
        )

    # ---- /v1/responses
    async def _responses(self, request: web.Request) -> web.Response:
        body, err = await self._read(request, ("model", "input"))
        if err:
            return err
        if body.get("stream"):
            return openai_error(
                400, "fake-openai: streaming is not supported on /v1/responses", "invalid_request_error"
            )
        items = body["input"]
        if isinstance(items, str):
            items = [{"role": "user", "content": items}]
        texts = [_text_of(body.get("instructions"))] + [_text_of(i.get("content")) for i in items]
        users = [i for i in items if i.get("role", "user") == "user"]
        reply = reply_for(_text_of(users[-1].get("content")) if users else "")
        usage = chat_usage(texts, reply, len(items) + bool(body.get("instructions")))
        n = self._next()
        return web.json_response(
            {
                "id": f"resp_fake{n}",
                "object": "response",
                "created_at": CREATED,
                "status": "completed",
                "error": None,
                "incomplete_details": None,
                "instructions": body.get("instructions"),
                "metadata": body.get("metadata") or {},
                "model": snapshot_model(body["model"]),
                "output": [
                    {
                        "type": "message",
                        "id": f"msg_fake{n}",
                        "status": "completed",
                        "role": "assistant",
                        "content": [{"type": "output_text", "text": reply, "annotations": [], "logprobs": []}],
                    }
                ],
                "parallel_tool_calls": True,
                "tool_choice": body.get("tool_choice", "auto"),
                "tools": body.get("tools") or [],
                "temperature": body.get("temperature", 1.0),
                "top_p": body.get("top_p", 1.0),
                "max_output_tokens": body.get("max_output_tokens"),
                "previous_response_id": None,
                "reasoning": {"effort": None, "summary": None},
                "service_tier": "default",
                "store": True,
                "truncation": "disabled",
                "text": {"format": {"type": "text"}},
                "user": body.get("user"),
                "usage": {
                    "input_tokens": usage["prompt_tokens"],
                    "input_tokens_details": {
                        "cached_tokens": usage["prompt_tokens_details"]["cached_tokens"],
                        "cache_write_tokens": 0,
                    },
                    "output_tokens": usage["completion_tokens"],
                    "output_tokens_details": {"reasoning_tokens": 0},
                    "total_tokens": usage["total_tokens"],
                },
            }
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18080)
    args = parser.parse_args(argv)

    async def serve() -> None:
        async with FakeOpenAI(args.host, args.port) as srv:
            print(json.dumps({"base_url": srv.base_url}), flush=True)
            await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
