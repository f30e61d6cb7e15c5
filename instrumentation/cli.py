"""``glassbox-instrument COMMAND [ARGS...]``: run a Python app with its LLM calls traced to the relay, like
``ddtrace-run`` or ``opentelemetry-instrument``. The command is exec'd unchanged (same pid, exit status, stdout);
``bootstrap/sitecustomize.py`` runs ``init()`` in it before the app's first line."""

from __future__ import annotations

import os
import shutil
import sys

from glassbox.instrumentation.libraries import set_content_switches

BOOTSTRAP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bootstrap")
USAGE = """usage: glassbox-instrument COMMAND [ARGS...]

Runs COMMAND (a Python program: `python app.py`, `uvicorn app:api`, `flask run`...) with OpenTelemetry set up
to send its LLM calls to the glassbox relay, every installed GenAI instrumentation on and message content
captured. The app's exit status and output are its own.

Where spans go: OTEL_EXPORTER_OTLP_ENDPOINT (and _PROTOCOL) if set; else http://$GLASSBOX_RELAY_HOST:4318;
else http://127.0.0.1:4318. Service: OTEL_SERVICE_NAME or DD_SERVICE; DD_ENV, DD_VERSION, DD_LLMOBS_ML_APP.
Turn one instrumentation off: OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=name,...  Exit waits at most
GLASSBOX_SHUTDOWN_TIMEOUT seconds (default 3) to flush."""


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr if not argv else sys.stdout)
        sys.exit(2 if not argv else 0)
    env = os.environ
    env["PYTHONPATH"] = os.pathsep.join(p for p in (BOOTSTRAP, env.get("PYTHONPATH", "")) if p)
    set_content_switches(env)
    program = shutil.which(argv[0]) or argv[0]
    try:
        os.execv(program, argv)
    except OSError as exc:
        print(f"glassbox-instrument: cannot run {argv[0]!r}: {exc.strerror}", file=sys.stderr)
        sys.exit(127)
