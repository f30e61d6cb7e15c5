"""The user pricing file: negotiated discounts, fine-tunes, models priced like others, self-hosted models per
GPU-hour; validated like the rest of the config (every problem with its path), relative to the config's folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from glassbox.collector.config import parse
from glassbox.processors import model as M
from glassbox.processors.base import ConfigError, Context, StartupError
from glassbox.processors.cost import FACTORY
from glassbox.processors.cost.config import CostConfig
from glassbox.processors.cost.processor import CostProcessor
from tests.processors.cost.support import model_span, otlp_span, priced, usd

PRICES = """\
models:
  # 20% off list prices for everything on Azure OpenAI
  - provider: azure.ai.openai
    multiplier: 0.8
  # a fine-tune with its own prices
  - model: "ft:gpt-4o-mini-2024-07-18:acme::*"
    input: 0.30
    output: 1.20
    cache_read: 0.15
  # an internal gateway alias priced like gpt-4o-mini, plus 10%
  - model: [acme-router-small, acme-router-small-v2]
    based_on: gpt-4o-mini
    multiplier: 1.1
  # self-hosted, by the GPU-hour, 8 requests sharing the GPU
  - model: llama-3.3-70b-instruct
    gpu_hour: 4.10
    concurrency: 8
  # an explicit override of a list price
  - model: gpt-4o
    provider: openai
    input: 2.00
    output: 8.00
"""


def from_file(tmp_path: Path, text: str = PRICES, name: str = "prices.yaml", **config: object) -> CostProcessor:
    (tmp_path / name).write_text(text)
    made = FACTORY.create(CostConfig.model_validate({"pricing_file": name, **config}), Context(base_dir=tmp_path))
    assert isinstance(made, CostProcessor)
    made.start()
    return made


def problems(tmp_path: Path, text: str, name: str = "prices.yaml", **config: object) -> list[tuple[str, str]]:
    (tmp_path / name).write_text(text)
    assert FACTORY.check is not None
    return FACTORY.check(CostConfig.model_validate({"pricing_file": name, **config}), Context(base_dir=tmp_path))


def chat(provider: str, model: str, **usage: int) -> M.Span:
    return otlp_span(
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": model,
            **{f"gen_ai.usage.{k}": v for k, v in usage.items()},
        }
    )


def test_a_negotiated_discount_on_one_provider(tmp_path: Path):
    proc = from_file(tmp_path)

    azure = priced(chat("azure.ai.openai", "gpt-4o-mini", input_tokens=10000, output_tokens=1000), proc)
    openai = priced(chat("openai", "gpt-4o-mini", input_tokens=10000, output_tokens=1000), proc)

    assert azure[M.INPUT_COST] == usd((10000, "0.12"))  # 0.15 × 0.8
    assert azure[M.OUTPUT_COST] == usd((1000, "0.48"))  # 0.60 × 0.8
    assert openai[M.INPUT_COST] == usd((10000, "0.15"))  # list price elsewhere
    assert openai[M.OUTPUT_COST] == usd((1000, "0.60"))


def test_a_fine_tune_with_explicit_prices(tmp_path: Path):
    span = chat(
        "openai",
        "ft:gpt-4o-mini-2024-07-18:acme::B7xQ2kLm",
        input_tokens=21,
        output_tokens=9,
        **{"cache_read.input_tokens": 5},
    )

    cost = priced(span, from_file(tmp_path))

    assert cost[M.INPUT_COST] == usd((16, "0.30"), (5, "0.15"))
    assert cost[M.CACHE_READ_INPUT_COST] == usd((5, "0.15"))
    assert cost[M.OUTPUT_COST] == usd((9, "1.20"))
    assert cost[M.TOTAL_COST] == usd((16, "0.30"), (5, "0.15"), (9, "1.20"))


def test_a_model_priced_like_another(tmp_path: Path):
    cost = priced(chat("openai", "acme-router-small-v2", input_tokens=10000, output_tokens=1000), from_file(tmp_path))

    assert cost[M.INPUT_COST] == usd((10000, "0.165"))  # gpt-4o-mini's 0.15 × 1.1
    assert cost[M.OUTPUT_COST] == usd((1000, "0.66"))  # 0.60 × 1.1


def test_a_self_hosted_model_by_the_gpu_hour(tmp_path: Path):
    """cost = duration × hourly rate / concurrency; only the total is known (no token split), and a span without
    token counts is still priced."""
    span = model_span("Llama-3.3-70B-Instruct", "openai", duration_ns=2_500_000_000)

    cost = priced(span, from_file(tmp_path))

    assert cost == {M.TOTAL_COST: float(Decimal("2.5") / 3600 * Decimal("4.10") / 8)}


def test_the_file_overrides_genai_prices_and_the_first_match_wins(tmp_path: Path):
    proc = from_file(tmp_path)

    openai = priced(chat("openai", "gpt-4o", input_tokens=10000, output_tokens=1000), proc)
    azure = priced(chat("azure.ai.openai", "gpt-4o", input_tokens=10000, output_tokens=1000), proc)

    assert (openai[M.INPUT_COST], openai[M.OUTPUT_COST]) == (usd((10000, "2.00")), usd((1000, "8.00")))
    # on Azure the discount entry comes first: 2.50 × 0.8 and 10.00 × 0.8
    assert (azure[M.INPUT_COST], azure[M.OUTPUT_COST]) == (usd((10000, "2.00")), usd((1000, "8.00")))


def test_json_works_too(tmp_path: Path):
    text = json.dumps({"models": [{"model": "acme-*", "input": 1, "output": 2}]})
    cost = priced(
        model_span("acme-7b", "openai", input_tokens=1000, output_tokens=100), from_file(tmp_path, text, "p.json")
    )

    assert cost[M.TOTAL_COST] == usd((1000, "1"), (100, "2"))


def test_every_bad_entry_is_reported_with_its_path(tmp_path: Path):
    text = """\
models:
  - {model: a, inptu: 1, output: 2}
  - {model: b, input: "0.30", output: 1}
  - {model: c, input: 0.1, output: yes}
  - {model: d, multiplier: 0}
  - {model: e}
  - {model: f, input: 1, output: 1, gpu_hour: 2}
  - {model: g, input: 1}
  - {model: h, based_on: gpt-9-ultra}
  - just a string
  - {input: 1, output: 1}
  - {model: i, gpu_hour: -3, concurrency: 0}
"""

    assert problems(tmp_path, text) == [
        (
            "pricing_file",
            "models[0].inptu: unknown key (expected one of: model, provider, input, output, "
            "cache_read, cache_write, reasoning, multiplier, based_on, gpu_hour, concurrency)",
        ),
        ("pricing_file", "models[0].input: required with explicit prices (use 0 for a free direction)"),
        ("pricing_file", "models[1].input: expected a number"),
        ("pricing_file", "models[2].output: expected a number"),
        ("pricing_file", "models[3].multiplier: must be greater than 0"),
        (
            "pricing_file",
            "models[4]: give prices (input and output, USD per million tokens), a multiplier, "
            "a based_on model, or gpu_hour",
        ),
        ("pricing_file", "models[5]: explicit prices and gpu_hour cannot be combined; one entry prices one way"),
        ("pricing_file", "models[6].output: required with explicit prices (use 0 for a free direction)"),
        ("pricing_file", "models[7].based_on: genai-prices has no model 'gpt-9-ultra'"),
        ("pricing_file", "models[8]: expected a mapping (model, prices, ...), got str"),
        ("pricing_file", "models[9].model: required unless the entry is only a multiplier (then it applies to all)"),
        ("pricing_file", "models[10].gpu_hour: must not be negative"),
        ("pricing_file", "models[10].concurrency: expected a whole number of at least 1"),
    ]


def test_a_missing_or_unparsable_file_is_one_problem(tmp_path: Path):
    assert FACTORY.check is not None
    missing = FACTORY.check(CostConfig(pricing_file="nope.yaml"), Context(base_dir=tmp_path))
    assert missing == [("pricing_file", f"cannot read {tmp_path / 'nope.yaml'}: No such file or directory")]

    assert problems(tmp_path, "models: [\n  {model: a, input: 1\n") == [
        (
            "pricing_file",
            f"{tmp_path / 'prices.yaml'}: invalid YAML at line 3, column 1: "
            "expected ',' or '}', but got '<stream end>'",
        ),
    ]
    assert problems(tmp_path, "- a list\n") == [("pricing_file", "expected a mapping with a 'models' list, got list")]
    assert problems(tmp_path, '{"models": [}', "p.json") == [
        ("pricing_file", f"{tmp_path / 'p.json'}: invalid JSON at line 1, column 13: Expecting value"),
    ]


def test_an_alias_to_a_model_nobody_prices_is_a_problem(tmp_path: Path):
    assert problems(
        tmp_path, PRICES, model_aliases={"prod-deploy": "gpt-4oo", "ok": "gpt-4o", "ft": "acme-router-small"}
    ) == [
        ("model_aliases.prod-deploy", "neither genai-prices nor the pricing file has a price for 'gpt-4oo'"),
    ]


def test_a_file_broken_after_the_check_refuses_to_start(tmp_path: Path):
    (tmp_path / "prices.yaml").write_text("models: [{model: a, input: x, output: 1}]")
    made = FACTORY.create(CostConfig(pricing_file="prices.yaml"), Context(base_dir=tmp_path))

    with pytest.raises(StartupError, match=r"^processors\.cost\.pricing_file: models\[0\]\.input: expected a number$"):
        made.start()


def test_the_relay_config_refuses_a_bad_file_with_its_key_path(tmp_path: Path):
    (tmp_path / "prices.yaml").write_text("models: [{model: a, input: 1, output: 1}, {model: b, input: -1, output: 1}]")
    data = {
        "processors": {"cost": {"pricing_file": "prices.yaml"}},
        "exporters": {"local": {"path": "spans.db"}},
        "pipeline": {"processors": ["cost"], "exporters": ["local"]},
    }

    with pytest.raises(ConfigError) as caught:
        parse(data, environ={}, base_dir=tmp_path)

    assert caught.value.errors == ["processors.cost.pricing_file: models[1].input: must not be negative"]


# --- the CLI, for real, as a subprocess --------------------------------------------------------------------------

RELAY = """\
receivers:
  otlp: {http: {endpoint: "127.0.0.1:0"}}
processors:
  cost: {pricing_file: prices.yaml}
exporters:
  local: {path: spans.db}
pipeline:
  processors: [cost]
  exporters: [local]
storage: {directory: ./storage}
admin: {endpoint: "127.0.0.1:0"}
"""
BROKEN = """\
models:
  - {model: acme-a, input: 0.1, output: 0.2}
  - {model: acme-b, multiplier: 2}
  - {model: acme-c, input: cheap, output: 0.2}
"""


def glassbox(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "OTEL_", "TRACELOOP_"))}
    return subprocess.run(
        [sys.executable, "-m", "glassbox.collector.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_glassbox_validate_and_run_refuse_a_broken_pricing_file_in_one_line(tmp_path: Path):
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "relay.yaml").write_text(RELAY)
    (folder / "prices.yaml").write_text(BROKEN)

    for command in ("validate", "run"):
        result = glassbox(command, "-c", "conf/relay.yaml", cwd=tmp_path)  # relative to the config's folder

        assert result.returncode == 1, result.stdout + result.stderr
        assert result.stderr.splitlines() == [
            "conf/relay.yaml has 1 error(s):",
            "  - processors.cost.pricing_file: models[2].input: expected a number",
        ]
        assert "Traceback" not in result.stdout + result.stderr


def test_glassbox_validate_accepts_a_good_pricing_file_beside_the_config(tmp_path: Path):
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "relay.yaml").write_text(RELAY)
    (folder / "prices.yaml").write_text(PRICES)

    result = glassbox("validate", "-c", "conf/relay.yaml", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "conf/relay.yaml: valid (exporters: local; processors: cost)"
