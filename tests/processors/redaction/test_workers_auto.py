"""``workers: auto``: one per usable CPU but one (the relay process needs its own), one per CPU with an NER model
(the workers then do nearly all the work), never fewer than one."""

from __future__ import annotations

import os
import subprocess
import sys

from glassbox.processors.redaction.config import RedactionConfig, usable_cpus


def test_auto_leaves_a_core_to_the_relay_without_a_model_and_not_with_one():
    cpus = usable_cpus()
    assert RedactionConfig().worker_count() == max(1, cpus - 1)
    assert RedactionConfig(nlp_engine="/models/en_core_web_sm").worker_count() == cpus
    assert RedactionConfig(workers=3, nlp_engine="/models/en_core_web_sm").worker_count() == 3
    assert RedactionConfig(workers=0).worker_count() == 0


def test_auto_follows_the_cpus_the_process_may_use():
    code = (
        "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))});"
        "from glassbox.processors.redaction.config import RedactionConfig as R;"
        "print(R().worker_count(), R(nlp_engine='/m').worker_count())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    assert out.stdout.split() == ["1", "1"]
