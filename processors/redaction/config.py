"""Settings of the ``redaction`` processor (``processors: redaction:`` in the relay config).

Every field has a default that is safe to run with: pattern entities only (no model download, nothing on the
network), Presidio's own recognizers plus supplements for cards, e-mail addresses and IBANs it misses, fail
closed on errors and timeouts.
The model is validated once at startup, so a typo is a config error, not a silently unredacted span.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from glassbox.processors.base import ComponentConfig, unknown_name
from glassbox.processors.units import Seconds, size

# Presidio's pattern entities that are on by default. Off by default, on purpose (see README "Redaction"):
# URL and UUID (links and request ids fill LLM traces and are not personal data by themselves),
# DATE_TIME (every order date and timestamp would be redacted; a date alone identifies nobody).
DEFAULT_PATTERN_ENTITIES = (
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "US_SSN",
    "US_ITIN",
    "US_PASSPORT",
    "US_DRIVER_LICENSE",
    "US_BANK_NUMBER",
    "UK_NHS",
    "CRYPTO",
    "MAC_ADDRESS",
    "MEDICAL_LICENSE",
)
# Added to the default list when an NER model is configured (ORGANIZATION, NRP and DATE_TIME are noisy).
DEFAULT_NER_ENTITIES = ("PERSON", "LOCATION")
# Entities only an NER model emits (DATE_TIME also has Presidio's pattern DateRecognizer, so it is not here).
NER_ONLY_ENTITIES = ("PERSON", "LOCATION", "NRP", "ORGANIZATION")
# Recognizers whose patterns match any 6–17 digit number (order ids, SKUs, amounts): only a context word
# ("account", "license", "passport", ...) lifts their score (Presidio's context enhancer: +0.35, at least 0.4)
# over these thresholds, so "order 12345678" stays readable and "my account number is 12345678" does not.
DEFAULT_ENTITY_THRESHOLDS = {"US_DRIVER_LICENSE": 0.4, "US_BANK_NUMBER": 0.4, "US_PASSPORT": 0.4}
# Presidio's PhoneRecognizer.DEFAULT_SUPPORTED_REGIONS: the default keeps stock recall. Numbers written with
# "+"/"00" and a country code match in every region anyway, and after a phone word (call, tel, mobile,
# whatsapp, ...) a national number of any region is found. Adding ES, IT, NL, AU, MX, JP here found 6 more of
# 474 harness phones (bare national numbers) but quadrupled false positives (251 vs 61, ZIP+4s and order numbers).
DEFAULT_PHONE_REGIONS = ("US", "GB", "DE", "FR", "IL", "IN", "CA", "BR")
_ENTITY = re.compile(r"^[A-Z][A-Z0-9_]*$")
# Every entity type the analyzer can detect (``analyzer.build_recognizers``: Presidio's English predefined
# recognizers, ours, and the NER-only ones with a spaCy model); custom recognizers add their own.
# tests/collector/test_config.py checks this against Presidio's registry.
KNOWN_ENTITIES = tuple(sorted({*DEFAULT_PATTERN_ENTITIES, "URL", "UUID", "DATE_TIME", *NER_ONLY_ENTITIES}))


class Strict(ComponentConfig):
    """Sub-sections reject unknown keys too."""


class PatternSettings(Strict):
    """One regular expression of a custom recognizer (Presidio ``Pattern``)."""

    name: str = Field(default="pattern", description="shown in Presidio's explanation")
    regex: str = Field(description="Python `regex` syntax; Presidio compiles it with DOTALL|MULTILINE|IGNORECASE")
    score: float = Field(default=0.5, ge=0, le=1, description="confidence of a match before context")

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        import regex

        try:
            regex.compile(value)
        except regex.error as exc:
            raise ValueError(f"invalid regex {value!r}: {exc}") from None
        return value


class CustomRecognizer(Strict):
    """A recognizer of your own: patterns and/or a deny list (Presidio ``PatternRecognizer``), or any
    Presidio ``EntityRecognizer`` subclass by import path (``class_path: "my_pkg.recognizers:Employee"``)."""

    name: str
    entity: str = Field(description="entity type it emits, e.g. EMPLOYEE_ID (UPPER_SNAKE_CASE)")
    patterns: list[PatternSettings] = Field(default_factory=list)
    deny_list: list[str] = Field(default_factory=list, description="exact words that are always this entity")
    deny_list_score: float = Field(default=1.0, ge=0, le=1)
    context: list[str] = Field(default_factory=list, description="words near a match that raise its score")
    class_path: str | None = Field(default=None, description="'module:Class' or 'module.Class' of an EntityRecognizer")
    kwargs: dict[str, Any] = Field(default_factory=dict, description="keyword arguments for class_path")

    @field_validator("entity")
    @classmethod
    def _entity(cls, value: str) -> str:
        if not _ENTITY.match(value):
            raise ValueError(f"{value!r} is not an entity name; use UPPER_SNAKE_CASE like EMPLOYEE_ID")
        return value

    @model_validator(mode="after")
    def _something_to_match(self) -> CustomRecognizer:
        if self.class_path is None and not self.patterns and not self.deny_list:
            raise ValueError("give patterns, a deny_list, or a class_path")
        if self.class_path is not None and (self.patterns or self.deny_list):
            raise ValueError("class_path recognizers take their settings from kwargs, not patterns/deny_list")
        return self


class OperatorSettings(Strict):
    """What happens to a finding: ``replace`` with ``<ENTITY_TYPE>`` (or ``new_value``), ``mask`` characters,
    ``hash`` (salted SHA-256/512, stable within a deployment: same value → same digest on every span), or
    ``drop`` the whole field (attribute / metadata key removed, text fields emptied)."""

    type: Literal["replace", "mask", "hash", "drop"] = "replace"
    new_value: str | None = Field(default=None, description="replace: text to put instead of <ENTITY_TYPE>")
    masking_char: str = Field(default="*", min_length=1, max_length=1)
    chars_to_mask: int = Field(default=1_000_000, gt=0, description="mask: how many characters")
    from_end: bool = Field(default=False, description="mask: start masking from the end")
    hash_type: Literal["sha256", "sha512"] = "sha256"


class ContextSettings(Strict):
    """Presidio's context enhancement: a recognizer's context words near a match raise its score.

    With no NER model the text is only tokenized (spaCy's rule-based English tokenizer, lowercase as lemma;
    no weights), and only when a recognizer with context words found something."""

    enabled: bool = True
    words_before: int = Field(default=5, ge=0, le=50)
    words_after: int = Field(
        default=3, ge=0, le=50, description="Presidio's default is 0; people also write '12345678 is my account number'"
    )
    similarity_factor: float = Field(default=0.35, ge=0, le=1)
    min_score_with_context: float = Field(default=0.4, ge=0, le=1)


class CacheSettings(Strict):
    """Content-addressed cache of analysed texts (system prompts and chat history repeat on every call)."""

    max_entries: int = Field(default=200_000, ge=0, description="0 disables the cache")
    max_bytes: Annotated[int, size(ge=0)] = Field(
        default=64 << 20, description="keys + redacted copies + findings, estimated (bytes, or 64MiB)"
    )


class AttributeSettings(Strict):
    """Which OTLP attribute keys are scanned (span, event, link, resource, scope and log-record attributes).

    Glob patterns (``*`` matches anything, dots included), like the OpenTelemetry Collector's redaction
    processor. GenAI content (messages, tool calls, ...) is always scanned; so is every log-record body."""

    include: list[str] = Field(default_factory=lambda: ["*"])
    exclude: list[str] = Field(
        default_factory=list,
        description="keys never scanned: an explicit opt-out; by default every key and value is scanned",
    )


class RedactionConfig(Strict):
    """PII redaction with Presidio: which entities, what to do with them, how fast, and how to fail."""

    entities: list[str] | None = Field(
        default=None,
        description="entity types to detect; default: the pattern entities above "
        "(+ PERSON, LOCATION when nlp_engine is a model)",
    )
    nlp_engine: str = Field(
        default="none",
        description="'none' (pattern entities only, Presidio's no_op engine) "
        "or an installed spaCy model: package name or directory",
    )
    ner_sentences: Literal["named", "all"] = Field(
        default="named",
        description="which sentences the NER model reads: 'named', those with a capitalised word that is not a "
        "stop word, or letters of a script without capitals (names and places are written so; a third of chat text, "
        "no more leaks on the PII corpus); "
        "'all', every sentence, as stock Presidio. DATE_TIME in entities always reads all",
    )
    phone_regions: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PHONE_REGIONS),
        description="regions whose national formats PhoneRecognizer accepts anywhere in a text; fewer is faster. "
        "International +NN / 00NN numbers always match, and any region's national format after a phone word",
    )
    score_threshold: float = Field(default=0.0, ge=0, le=1, description="minimum score (Presidio's default: 0)")
    entity_thresholds: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_ENTITY_THRESHOLDS),
        description="per-entity minimum score, overrides score_threshold; "
        "merged over the defaults (set one to 0 to undo it)",
    )
    context: ContextSettings = Field(default_factory=ContextSettings)
    allow_list: list[str] = Field(
        default_factory=list, description="exact values never redacted (e.g. your support address)"
    )
    custom_recognizers: list[CustomRecognizer] = Field(default_factory=list)
    operators: dict[str, OperatorSettings] = Field(
        default_factory=dict, description="per entity type; key DEFAULT applies to the others (default: replace)"
    )
    hash_salt: SecretStr | None = Field(
        default=None,
        description="≥16 characters; required by hash operators. Same salt = same digest across relays/restarts",
    )
    text_timeout: Seconds = Field(
        default=2.0, description="one text may take (seconds, or 500ms); then it fails closed"
    )
    max_text_chars: int = Field(default=1_000_000, gt=0, description="longer texts fail closed without analysis")
    workers: int | Literal["auto"] = Field(
        default="auto",
        description="analysis processes; 0 = in the relay process (a thread); auto = one per CPU but one (at least "
        "1), one per CPU with an NER model",
    )
    job_chars: int = Field(
        default=262_144, gt=0, description="characters per job sent to a worker (a batch is one job per worker below)"
    )
    worker_max_texts: int = Field(
        default=250_000,
        ge=0,
        description="restart a worker after this many texts (spaCy's vocabulary only grows); 0 = never",
    )
    cache: CacheSettings = Field(default_factory=CacheSettings)
    attributes: AttributeSettings = Field(default_factory=AttributeSettings)
    failure_marker: str = Field(
        default="[REDACTION FAILED]",
        description="replaces content that could not be redacted (error, timeout, unknown shape)",
    )

    @field_validator("entities")
    @classmethod
    def _entities(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            bad = [v for v in value if not _ENTITY.match(v)]
            if bad:
                raise ValueError("\n".join(unknown_entity(v) for v in bad))
            if not value:
                raise ValueError("list at least one entity, or leave entities out for the default list")
        return value

    @field_validator("phone_regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        import phonenumbers

        value = list(dict.fromkeys(r.upper() for r in value))  # "us" is US; each region's matcher runs once
        bad = [r for r in value if r not in phonenumbers.SUPPORTED_REGIONS]
        if bad:
            raise ValueError(f"unknown phone regions {bad}; use ISO 3166 codes like US, GB, DE")
        return value

    @field_validator("entity_thresholds")
    @classmethod
    def _thresholds(cls, value: dict[str, float]) -> dict[str, float]:
        for key, score in value.items():
            if not _ENTITY.match(key):
                raise ValueError(unknown_entity(key))
            if not 0 <= score <= 1:
                raise ValueError(f"{key}: {score} — keys are entity names, values between 0 and 1")
        return {**DEFAULT_ENTITY_THRESHOLDS, **value}

    @field_validator("operators")
    @classmethod
    def _operators(cls, value: dict[str, OperatorSettings]) -> dict[str, OperatorSettings]:
        bad = [k for k in value if k != "DEFAULT" and not _ENTITY.match(k)]
        if bad:
            raise ValueError("\n".join(f"{unknown_entity(k)}; or DEFAULT for the others" for k in bad))
        return value

    @field_validator("workers")
    @classmethod
    def _workers(cls, value: int | str) -> int | str:
        if isinstance(value, int) and not 0 <= value <= 64:
            raise ValueError("workers: 0 (in-process) to 64, or auto")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> RedactionConfig:
        if any(op.type == "hash" for op in self.operators.values()):
            salt = self.hash_salt.get_secret_value() if self.hash_salt else ""
            if len(salt.encode()) < 16:
                raise ValueError(
                    "hash operators need hash_salt of at least 16 characters, e.g. "
                    "hash_salt: ${env:GLASSBOX_REDACTION_SALT}"
                )
        ner = self.nlp_engine != "none"
        if not ner:
            needs_model = sorted(set(self.entities or ()) & set(NER_ONLY_ENTITIES) - self._custom_entities())
            if needs_model:
                raise ValueError(
                    f"entities {needs_model} need an NER model: set nlp_engine to a spaCy model "
                    "(e.g. en_core_web_sm), or remove them"
                )
        return self

    def _custom_entities(self) -> set[str]:
        return {r.entity for r in self.custom_recognizers}

    def resolved_entities(self) -> list[str]:
        """The entity types to detect: the configured list, or the defaults, plus custom recognizers' types."""
        if self.entities is not None:
            base = list(self.entities)
        else:
            base = list(DEFAULT_PATTERN_ENTITIES)
            if self.nlp_engine != "none":
                base += DEFAULT_NER_ENTITIES
        return base + sorted(self._custom_entities() - set(base))

    def worker_count(self) -> int:
        """``auto``: a core is left to the relay process itself (decode, the other processors, encode, send). On 2
        CPUs one worker delivered as many chat spans/s as two (1,906 and 2,001 vs 1,916 and 1,896, `glassbox bench
        --workload chat`) for 10 % less CPU per span and 160 MiB less memory (386 vs 547 MiB peak). With an NER
        model the workers do nearly all the work (en_core_web_sm: 39 ms of CPU per chat span, the relay's own part
        0.4), so there is one per CPU: 49 chat spans/s on 2 CPUs where one worker gave about 26."""
        if self.workers == "auto":
            return usable_cpus() if self.nlp_engine != "none" else max(1, usable_cpus() - 1)
        return int(self.workers)


def unknown_entity(name: str, custom: Iterable[str] = ()) -> str:
    """Why an entity name is refused: the closest name the analyzer knows, then all of them."""
    known = [*KNOWN_ENTITIES, *sorted(set(custom) - set(KNOWN_ENTITIES))]
    return unknown_name("entity", name, known) + " (custom_recognizers add theirs)"


def entity_problems(settings: RedactionConfig) -> list[tuple[str, str]]:
    """Entity names nothing detects, in ``entities``, ``entity_thresholds`` and ``operators``, as (key, message).
    The analyzer would refuse the first kind at start and silently ignore the others (a threshold or an
    operator for a typo never applies), so ``validate`` and ``run`` refuse all three."""
    custom = {r.entity for r in settings.custom_recognizers}
    known = set(KNOWN_ENTITIES) | custom
    problems = [(f"entities[{i}]", name) for i, name in enumerate(settings.entities or ()) if name not in known]
    problems += [(f"entity_thresholds.{name}", name) for name in settings.entity_thresholds if name not in known]
    problems += [(f"operators.{name}", name) for name in settings.operators if name not in known | {"DEFAULT"}]
    return [(key, unknown_entity(name, custom)) for key, name in problems]


def usable_cpus() -> int:
    """CPUs this process may use: its affinity, capped by a cgroup v2 CPU quota (a Kubernetes CPU limit), so a
    DaemonSet pod on a 64-core node limited to 2 CPUs starts 1 worker, not 63."""
    import math
    import os

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = open("/sys/fs/cgroup/cpu.max").read().split()[:2]
        if quota != "max":
            cpus = min(cpus, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    return max(1, cpus)
