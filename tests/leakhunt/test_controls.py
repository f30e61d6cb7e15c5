"""Controls: the same requests through a relay with redaction removed from the pipeline must show the planted
values in the output, so a clean result of the leak hunt means redaction removed them, not that the harness
could not see them."""

from __future__ import annotations

import pytest

from tests.leakhunt.cases import MAIN, all_cases
from tests.leakhunt.harness import Case, Leak, Output, find_leaks, run

CASES = all_cases(MAIN)
# Cases whose values never leave even without redaction; each is still sent to the redacting relay in case that
# changes (a newer relay forwarding unknown fields, or accepting the raw surrogate).
NOT_FORWARDED = {
    **{c.id: "the OTLP copy does not keep unknown protobuf fields" for c in CASES if "unknownfield" in c.id},
    "scrub-rawsurrogate-resource-json": "the receiver refuses OTLP/JSON with a lone surrogate (400)",
}


@pytest.fixture(scope="module")
def unredacted(tmp_path_factory: pytest.TempPathFactory) -> Output:
    return run(CASES, tmp_path_factory.mktemp("leakhunt-control"), processors=["cost", "prompts", "evals"])


@pytest.fixture(scope="module")
def found(unredacted: Output) -> dict[str, list[Leak]]:
    return find_leaks(CASES, unredacted)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_harness_sees_the_values_without_redaction(case: Case, found: dict[str, list[Leak]]) -> None:
    kinds = {leak.kind for leak in found[case.id]}
    if case.id in NOT_FORWARDED:
        assert not kinds, f"{case.id} is forwarded now: remove it from NOT_FORWARDED"
    else:
        assert kinds == set(case.values), f"not found without redaction: {sorted(set(case.values) - kinds)}"
