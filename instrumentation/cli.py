"""``glassbox-instrument CMD...``: wraps an app so its LLM calls reach the relay. Not built yet."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    print(
        "glassbox-instrument is not available yet: it arrives with the drop-in instrumentation package.\n"
        "Until then, point your app's OTel exporter at the relay: "
        "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318",
        file=sys.stderr,
    )
    sys.exit(2)
