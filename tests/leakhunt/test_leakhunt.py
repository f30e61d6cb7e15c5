"""The redaction promise, hunted: with the default processor chain (config/default.yaml: redaction → cost →
prompts → evals) no planted PII value, nor an easy variant of it, may reach ``datadog``, ``otlp`` or ``local``.

One relay serves the whole module; every case is its own test, named ``<class>-<variant>-<location>-<transport>``.
A case that leaks today is a strict xfail listed in ``KNOWN_LEAKS``: the fix for its root cause must delete it.
"""

from __future__ import annotations

import pytest

from tests.leakhunt.cases import MAIN, all_cases
from tests.leakhunt.harness import DESTINATIONS, Case, Leak, Output, find_leaks, reached, run

CAUSES = {
    "0": "plain values in plain content",
    "1": "JSON inside JSON strings",
    "3": "bytes values",
    "4": "a batch that must be scrubbed",
    "5": "fields the walk does not visit",
    "6": "default exclusions",
    "7": "disguised characters (normalization)",
    "8": "encodings (URL, HTML, base64, escapes)",
    "9": "a phone number after many short numbers",
    "10": "phone numbers outside phone_regions",
}
CASES = all_cases(MAIN)
# case id → root cause, as printed by ``python -m tests.leakhunt.report`` (delete a line when its leak is fixed).
KNOWN_LEAKS: dict[str, str] = {}  # none today: every case of every root cause is redacted
REFUSED = {"scrub-rawsurrogate-resource-json"}  # OTLP/JSON with a raw lone surrogate: refused whole (400)


def _param(case: Case) -> object:
    if case.id in KNOWN_LEAKS:
        reason = f"leak: {KNOWN_LEAKS[case.id]}"
        return pytest.param(case, id=case.id, marks=pytest.mark.xfail(strict=True, reason=reason))
    return pytest.param(case, id=case.id)


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Output:
    return run(CASES, tmp_path_factory.mktemp("leakhunt"))


@pytest.fixture(scope="module")
def leaks(output: Output) -> dict[str, list[Leak]]:
    return find_leaks(CASES, output)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_no_planted_value_leaves(case: Case, leaks: dict[str, list[Leak]]) -> None:
    assert not leaks[case.id], "\n".join(str(leak) for leak in leaks[case.id])


def test_known_leaks_name_real_cases() -> None:
    assert set(KNOWN_LEAKS) <= {c.id for c in CASES}


def test_every_request_was_accepted(output: Output) -> None:
    """A refused request proves nothing about redaction; only the one meant to be refused may be."""
    refused = [s for s in output.sent if s.status != "200" and not set(s.case_ids) <= REFUSED]
    assert not refused


def test_grouped_cases_reached_every_destination_unscrubbed(output: Output) -> None:
    """Cases sharing a request are only clean if their spans arrived: each one's canary (a non-PII
    ``gen_ai.response.id``) is in all three destinations, and no grouped batch was scrubbed whole."""
    assert output.scrubbed_batches_grouped == 0
    reach = reached(CASES, output)
    missing = {c.id: sorted(set(DESTINATIONS) - reach[c.id]) for c in CASES if not c.own_request}
    assert not {k: v for k, v in missing.items() if v}
