"""Print what leaks now, as ``KNOWN_LEAKS`` lines: ``.venv/bin/python -m tests.leakhunt.report``.

Runs the same relay and cases as test_leakhunt.py; each line names the case, its root cause, and (as a comment)
which values reached which destinations. Lines starting with ``#`` flag cases that did not reach every
destination and requests that were not accepted.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.leakhunt.cases import MAIN, all_cases
from tests.leakhunt.harness import find_leaks, reached, run
from tests.leakhunt.test_leakhunt import CAUSES


def main() -> None:
    cases = all_cases(MAIN)
    with tempfile.TemporaryDirectory() as tmp:
        output = run(cases, Path(tmp))
    leaks = find_leaks(cases, output)
    reach = reached(cases, output)
    for case in cases:
        found = leaks[case.id]
        if found:
            kinds = ",".join(sorted({leak.kind for leak in found}))
            where = ",".join(sorted({leak.destination for leak in found}))
            variants = ",".join(sorted({leak.variant for leak in found}))
            print(f'    "{case.id}": "{case.cause}: {CAUSES[case.cause]}",  # {kinds} -> {where} ({variants})')
    for case in cases:
        if len(reach[case.id]) < 3 and not case.own_request:
            print("# not in every destination:", case.id, sorted(reach[case.id]))
    print("# batches scrubbed whole:", output.scrubbed_batches_total)
    print("# requests not accepted:", [(s.case_ids[:3], s.status[:80]) for s in output.sent if s.status != "200"])


if __name__ == "__main__":  # the redaction workers are spawned processes: they re-import this module
    main()
