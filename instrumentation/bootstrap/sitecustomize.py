"""Run by Python at start-up in a process launched by ``glassbox-instrument`` (its folder is put first on
PYTHONPATH). Sets up telemetry, then hands over to the app's own ``sitecustomize``, if it has one."""

import importlib.util
import os
import sys


def _start() -> None:
    try:
        from glassbox.instrumentation import init

        init()
    except Exception as exc:  # noqa: BLE001 — an app must start whatever happens here
        print(f"glassbox-instrument: telemetry is off ({type(exc).__name__}: {exc})", file=sys.stderr)


def _chain() -> None:
    """Import the next ``sitecustomize`` on the path (the one this file shadows)."""
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None and spec.origin != os.path.abspath(__file__):
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


_start()
_chain()
