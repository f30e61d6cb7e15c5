"""Settings of the ``evals`` processor: which built-in evaluators run (all by default) and their options, your
own evaluators (``custom``), and an optional LLM judge (``judge``).

```yaml
processors:
  evals:
    builtins:                       # every built-in runs unless set to false (or {enabled: false})
      failure_to_answer: {max_chars: 800}
      language_mismatch: {min_letters: 30}
      prompt_injection: {roles: [user, tool]}
      tool_error: false
    custom:
      - {label: polite, function: "my_evals:polite"}  # function(span) -> Evaluation | bool | float | str | None
    judge:
      base_url: https://api.openai.com/v1                 # any OpenAI-compatible endpoint
      model: gpt-4o-mini
      api_key: ${env:OPENAI_API_KEY}
      rubrics:
        helpfulness: "The answer addresses the user's question directly and correctly."
      sample_rate: 0.1
```
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator

from glassbox.processors.base import ComponentConfig
from glassbox.processors.units import duration

LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,199}$")  # Datadog's evaluation label rules
FUNCTION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$")
_URL = re.compile(r"^https?://[^/\s]+")
SPAN_KINDS = ("llm", "embedding", "tool", "agent", "workflow", "task", "retrieval")


def _label(value: str) -> str:
    if not LABEL.match(value):
        raise ValueError(f"{value!r} is not an evaluation label: a letter, then letters, digits or _ (<= 200)")
    return value


class Builtin(ComponentConfig):
    """One built-in evaluator; ``false`` instead of a mapping turns it off."""

    enabled: bool = True

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"enabled": data} if isinstance(data, bool) else data


class FailureToAnswer(Builtin):
    max_chars: int = Field(
        default=800,
        ge=0,
        description="answers longer than this count as answered even after a refusal-like opening (0: no limit)",
    )
    lead_sentences: int = Field(
        default=3, ge=1, le=10, description="opening sentences examined (greetings and apologies are skipped)"
    )


class Truncated(Builtin):
    reasons: list[str] = Field(
        default_factory=lambda: ["length", "max_tokens", "max_output_tokens", "model_length", "token_limit"],
        description="finish reasons (case-insensitive) that mean the output hit its token limit",
    )


class InvalidJson(Builtin):
    check_tool_calls: bool = Field(
        default=True, description="also validate tool-call arguments against the tools' parameter schemas"
    )


class PromptInjection(Builtin):
    roles: list[str] = Field(
        default_factory=lambda: ["user", "tool"],
        description="input messages scanned (system and developer messages are the app's own prompt)",
    )
    max_chars: int = Field(default=50_000, gt=0, description="characters scanned per span (the rest is not)")


class LanguageMismatch(Builtin):
    min_letters: int = Field(
        default=30,
        ge=1,
        description="question and answer each need this many letters (placeholders, code, URLs and digits "
        "removed) to be judged: below ~20 py3langid errs on short texts (see the tests' calibration)",
    )
    min_confidence: float = Field(default=0.25, ge=0, le=1, description="normalized py3langid probability")
    languages: list[str] | None = Field(
        default=None, description="ISO 639-1 codes to choose from (default: all py3langid knows); fewer is surer"
    )


class Builtins(ComponentConfig):
    failure_to_answer: FailureToAnswer = Field(default_factory=FailureToAnswer)
    empty_answer: Builtin = Field(default_factory=Builtin)
    truncated: Truncated = Field(default_factory=Truncated)
    invalid_json: InvalidJson = Field(default_factory=InvalidJson)
    pii_in_output: Builtin = Field(default_factory=Builtin)
    prompt_injection: PromptInjection = Field(default_factory=PromptInjection)
    tool_error: Builtin = Field(default_factory=Builtin)
    language_mismatch: LanguageMismatch = Field(default_factory=LanguageMismatch)

    def enabled(self) -> list[str]:
        return [name for name in type(self).model_fields if getattr(self, name).enabled]


class CustomEvaluator(ComponentConfig):
    label: str
    function: str = Field(description="'package.module:function', called as function(span) for each span")
    kinds: list[str] = Field(default_factory=lambda: ["llm"], description="span kinds it is called for")

    _label = field_validator("label")(_label)

    @field_validator("function")
    @classmethod
    def _function(cls, value: str) -> str:
        if not FUNCTION.match(value):
            raise ValueError(f"{value!r} is not 'package.module:function'")
        return value

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, value: list[str]) -> list[str]:
        bad = [k for k in value if k not in SPAN_KINDS]
        if bad or not value:
            raise ValueError(f"kinds must be some of {', '.join(SPAN_KINDS)} (got {bad or 'none'})")
        return value


class JudgeConfig(ComponentConfig):
    """An LLM judge on any OpenAI-compatible ``/chat/completions`` endpoint. It sees redacted content only, runs
    in the background (spans are never delayed) and its results join their span later."""

    base_url: str = Field(description="e.g. https://api.openai.com/v1 (``/chat/completions`` is appended)")
    model: str = Field(min_length=1)
    api_key: SecretStr | None = Field(default=None, description="sent as 'Authorization: Bearer <key>'")
    rubrics: dict[str, str] = Field(description="evaluation label -> what the judge checks; one request each")
    sample_rate: float = Field(default=1.0, ge=0, le=1, description="share of LLM spans judged (by span id)")
    concurrency: int = Field(default=4, ge=1, le=256, description="judge requests in flight at once")
    timeout: Annotated[float, duration(gt=0, le=600)] = Field(default=30.0, description="per request (seconds, or 30s)")
    retries: int = Field(default=2, ge=0, le=10, description="after a timeout, connection error, 408, 429 or 5xx")
    backoff: Annotated[float, duration(ge=0, le=60)] = Field(
        default=0.5, description="first retry delay (seconds, or 500ms), doubled each time"
    )
    max_pending: int = Field(default=1000, ge=1, description="judgments waiting or running; more are dropped")
    max_input_chars: int = Field(default=16_000, ge=500, description="conversation characters sent per request")
    max_tokens: int = Field(default=400, ge=16, description="max_tokens of the judge's reply")
    json_mode: bool = Field(default=True, description="send response_format {type: json_object}")
    provider: str | None = Field(default=None, description="genai-prices provider id for the judge's cost")
    keep_reasoning: bool = Field(default=True, description="forward the judge's reasoning (redacted again)")

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not _URL.match(value):
            raise ValueError(f"{value!r} is not an http(s) URL (e.g. https://api.openai.com/v1)")
        return value.rstrip("/")

    @field_validator("rubrics")
    @classmethod
    def _rubrics(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("give at least one rubric: {label: what the judge checks}")
        for label, text in value.items():
            _label(label)
            if not text.strip():
                raise ValueError(f"{label}: the rubric text is empty")
        return value


class EvalsConfig(ComponentConfig):
    """Evaluations on LLM spans: cheap deterministic built-ins, your own functions, and an optional LLM judge."""

    builtins: Builtins = Field(default_factory=Builtins)
    custom: list[CustomEvaluator] = Field(default_factory=list)
    judge: JudgeConfig | None = None
    failed_tag: bool = Field(default=True, description="tag spans eval.failed:<label> for each failed evaluation")

    @model_validator(mode="after")
    def _unique_labels(self) -> EvalsConfig:
        seen: dict[str, str] = {name: "builtins" for name in self.builtins.enabled()}
        for i, custom in enumerate(self.custom):
            if custom.label in seen:
                raise ValueError(f"custom[{i}].label {custom.label!r} is already used by {seen[custom.label]}")
            seen[custom.label] = f"custom[{i}]"
        for label in self.judge.rubrics if self.judge else ():
            if label in seen:
                raise ValueError(f"judge.rubrics.{label} is already used by {seen[label]}")
        return self
