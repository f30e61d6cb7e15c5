"""The ``glassbox`` command: ``run``, ``validate``, ``demo``, ``spans``, ``deadletter``, ``datadog``, ``bench``.
The only place that calls ``sys.exit``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from glassbox.collector.config import (
    UNREDACTED_WARNING,
    RelayConfig,
    component_problems,
    default_config,
    default_yaml,
    load,
    load_only,
    unredacted_egress,
)
from glassbox.collector.errors import ConfigError, StartupError
from glassbox.collector.version import VERSION
from glassbox.processors.base import Context


def _base(path: str | None) -> Path:
    """Relative paths in a config file are relative to its folder; with the default config, to the cwd."""
    return Path(path).resolve().parent if path else Path.cwd()


def _config(path: str | None) -> RelayConfig:
    return load(path) if path else default_config(base_dir=Path.cwd())


def cmd_run(args: argparse.Namespace) -> int:
    from glassbox.collector.service import Relay

    config = _config(args.config)
    asyncio.run(Relay(config, base_dir=_base(args.config)).run_until_signalled())
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Everything ``run`` would refuse at startup, short of binding ports: the config, and each used
    component's deep check (e.g. the redaction analyzer is built once). ``--default``: the embedded default,
    printed, then checked with this environment (what ``glassbox run`` without ``-c`` would use)."""
    path = args.config or args.path
    if args.default == (path is not None):
        print("glassbox validate: give a config file (PATH or -c PATH) or --default, not both", file=sys.stderr)
        return 2
    if args.default:
        print(default_yaml(), end="")
    config = _config(path)
    name = path or "the embedded default"
    deep = component_problems(config, Context(base_dir=_base(path), deep=True))
    if deep:
        raise ConfigError(deep, name)
    print(
        f"{name}: valid (exporters: {', '.join(config.pipeline.exporters)}; "
        f"processors: {', '.join(config.pipeline.processors) or 'none'})"
    )
    unredacted = unredacted_egress(config.pipeline.exporters, config.pipeline.processors)
    if unredacted:
        print("warning: " + UNREDACTED_WARNING % ", ".join(unredacted))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from glassbox.collector.demo.runner import run_demo

    try:
        asyncio.run(run_demo(args.instrumentation))
    except RuntimeError as exc:  # the app failed: its stderr is in the message
        print(f"glassbox demo: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_spans(args: argparse.Namespace) -> int:
    import sqlite3

    import orjson

    from glassbox.collector.exporters.local.store import LocalStore
    from glassbox.collector.exporters.local.summary import render_summary

    path = args.db
    if path is None:  # only the local exporter's section is read: browsing needs no exporter's secrets
        config = load_only(args.config, ("exporters", "local"))
        if config.exporters.local is None:
            print("no local exporter configured; pass --db PATH", file=sys.stderr)
            return 1
        path = str(config.exporters.local.resolved_path(_base(args.config)))
    if not Path(path).exists():
        print(f"{path}: no local store yet (run `glassbox run` and send it some spans)", file=sys.stderr)
        return 1
    try:
        rows = LocalStore(path).recent(args.limit, service=args.service, trace=args.trace, errors=args.errors)
    except sqlite3.DatabaseError as exc:  # another file given by mistake (the queue, a YAML file, ...)
        print(f"{path}: not a glassbox local store ({exc})", file=sys.stderr)
        return 1
    if args.json:
        for row in rows:  # one JSON object per line: the stored row, with the span event as Datadog would get it
            print(orjson.dumps(row).decode())
        return 0
    print(render_summary(rows))
    return 0


def cmd_deadletter(args: argparse.Namespace) -> int:
    from glassbox.collector.delivery import deadletter

    config = load_only(args.config, ("storage",))  # an operator needs no exporter's secrets to read the queue
    path = config.storage.resolved_directory(_base(args.config)) / "queue.db"
    try:
        if args.action == "list":
            print(deadletter.render_list(deadletter.list_letters(path, args.limit)))
        elif args.action == "show":
            if not args.ids:
                print("deadletter show needs an id", file=sys.stderr)
                return 2
            letter = deadletter.show_letter(path, args.ids[0])
            if letter is None:
                print(f"no dead letter {args.ids[0]}", file=sys.stderr)
                return 1
            payload = letter.pop("payload")
            print(deadletter.render_list([letter]))
            print(deadletter.render_payload(letter["kind"], payload))
        elif args.action == "purge":
            print(f"deleted {deadletter.purge(path, args.ids or None)} dead letter(s)")
        else:
            moved = deadletter.replay(path, args.ids or None)
            print(f"moved {moved} dead letter(s) back to their queues")
    except FileNotFoundError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


def cmd_datadog(args: argparse.Namespace) -> int:
    """Dashboards and monitors as code: ``plan`` previews, ``apply`` creates/updates the glassbox-managed
    objects (``--delete``: removes them), ``export --terraform`` prints Terraform JSON. Never prompts."""
    import json

    try:
        from glassbox.collector.datadog_assets import client, definitions, plan, sync, terraform
    except ImportError as exc:  # the optional extra is not installed
        print(f"glassbox datadog: {exc.name} is missing: pip install 'glassbox-otel[datadog-assets]'", file=sys.stderr)
        return 2
    try:
        assets = definitions.load_definitions(Path(args.definitions) if args.definitions else definitions.DEFAULT_DIR)
        if args.action == "export":
            if not args.terraform:
                print("glassbox datadog export: give --terraform (the only export format)", file=sys.stderr)
                return 2
            print(json.dumps(terraform.export_terraform(assets), indent=2, ensure_ascii=False))
            return 0
        api = client.AssetsApi(client.connection_from_env(args.api_url))
        try:
            changes = plan.make_plan(assets, api, delete=args.delete)
            print(f"glassbox datadog {args.action}{' --delete' if args.delete else ''}: {api.connection.url}")
            if args.action == "apply":
                changes = sync.apply_plan(changes, api)
            print(plan.render(changes, done=args.action == "apply"))
        finally:
            api.close()
    except definitions.DefinitionError as exc:
        print(f"glassbox datadog: the definitions have problems (nothing was sent):\n{exc}", file=sys.stderr)
        return 1
    except client.UsageError as exc:
        print(f"glassbox datadog: {exc}", file=sys.stderr)
        return 2
    except client.ApiError as exc:
        print(f"glassbox datadog: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Size a relay: the relay with this config, a local Datadog intake stand-in, client processes; the logic
    lives in ``collector.bench``."""
    import json

    from glassbox.collector.bench import report
    from glassbox.collector.bench.relay import BenchError
    from glassbox.collector.bench.run import Options, run

    options = Options(
        config=args.config,
        duration=args.duration,
        rate=None if args.max else args.rate,
        transport=args.transport,
        workload=args.workload,
        processors=args.processors,
        exporter=args.exporter,
        intake_latency_ms=args.intake_latency,
        clients=args.clients,
        batch=args.batch,
    )
    progress = None if args.json else (lambda message: print(f"glassbox bench: {message}", file=sys.stderr))
    try:
        result = run(options, progress)
    except BenchError as exc:
        print(f"glassbox bench: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result) if args.json else report.render(result))
    return 0


CONFIG_HELP = "config file (YAML); without it: the embedded default (see `glassbox validate --default`)"
LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="glassbox", description="OpenTelemetry GenAI spans → Datadog LLM Observability")
    p.add_argument("--version", action="version", version=f"glassbox {VERSION}")
    p.add_argument("--log-level", default="INFO", choices=LEVELS, help="the relay's log level (default INFO)")
    # The same flag after the subcommand (`glassbox run --log-level DEBUG`); SUPPRESS keeps the one given first.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--log-level", default=argparse.SUPPRESS, choices=LEVELS, help="the relay's log level")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", parents=[common], help="run the relay (no -c: the embedded default config)")
    run.add_argument("-c", "--config", help=CONFIG_HELP)
    run.set_defaults(func=cmd_run)
    validate = sub.add_parser(
        "validate", parents=[common], help="check a config file (or --default) and list every error at once"
    )
    validate.add_argument("path", nargs="?", help="the config file to check (or -c PATH)")
    validate.add_argument("-c", "--config", help="the config file to check")
    validate.add_argument(
        "--default", action="store_true", help="print the embedded default config, then check it in this environment"
    )
    validate.set_defaults(func=cmd_validate)
    demo = sub.add_parser(
        "demo", parents=[common], help="the whole flow offline: fake OpenAI, instrumented app, relay, summary"
    )
    demo.add_argument(
        "--instrumentation",
        default="openllmetry",
        choices=["openllmetry", "openai-v2"],
        help="which instrumentation the demo app uses (default openllmetry)",
    )
    demo.set_defaults(func=cmd_demo)
    spans = sub.add_parser("spans", parents=[common], help="recent spans from the local store")
    spans.add_argument("-c", "--config", help=CONFIG_HELP + "; its local exporter's path is read")
    spans.add_argument("--db", help="path of the local SQLite store (default: from the config)")
    spans.add_argument("-n", "--limit", type=int, default=50, help="how many of the newest spans (default 50)")
    spans.add_argument("--service", help="only spans of this service (their service: tag)")
    spans.add_argument("--trace", help="only spans of this trace (32 hex characters)")
    spans.add_argument("--errors", action="store_true", help="only spans with an error")
    spans.add_argument("--json", action="store_true", help="one JSON object per span instead of the table")
    spans.set_defaults(func=cmd_spans)
    dead = sub.add_parser(
        "deadletter", parents=[common], help="list, show, replay or purge items destinations refused for good"
    )
    dead.add_argument(
        "action", choices=["list", "show", "replay", "purge"], help="list them, show one, replay or delete them"
    )
    dead.add_argument("ids", nargs="*", type=int, help="dead-letter ids (show: one; replay, purge: none = all)")
    dead.add_argument("-c", "--config", help=CONFIG_HELP + "; its storage.directory is read")
    dead.add_argument("-n", "--limit", type=int, default=100, help="how many to list (default 100)")
    dead.set_defaults(func=cmd_deadletter)
    datadog = sub.add_parser(
        "datadog", parents=[common], help="Datadog dashboards and monitors as code: plan, apply, export --terraform"
    )
    datadog.add_argument(
        "action",
        choices=["plan", "apply", "export"],
        help="plan: show what apply would change; apply: create/update the glassbox-managed dashboards and "
        "monitors; export: print them as Terraform JSON",
    )
    datadog.add_argument(
        "--delete",
        action="store_true",
        help="plan/apply: remove every glassbox-managed dashboard and monitor (nothing else is ever touched)",
    )
    datadog.add_argument("--terraform", action="store_true", help="export: Terraform JSON (*.tf.json) on stdout")
    datadog.add_argument(
        "--api-url",
        help="send the API calls here instead of https://api.$DD_SITE (a proxy, or a test stand-in); "
        "keys always come from DD_API_KEY and DD_APP_KEY",
    )
    datadog.add_argument(
        "--definitions",
        metavar="DIR",
        help="the definitions folder (dashboards/, monitors/, include.json; default: the repo's deploy/datadog)",
    )
    datadog.set_defaults(func=cmd_datadog)
    bench = sub.add_parser(
        "bench",
        parents=[common],
        help="size a relay: spans/s, CPU per 1,000 spans, added latency, peak RSS and where the time goes",
    )
    bench.add_argument("-c", "--config", help=CONFIG_HELP + "; its exporters are replaced (see --exporter)")
    bench.add_argument("--duration", type=float, default=10.0, help="seconds of load (default 10)")
    pace = bench.add_mutually_exclusive_group()
    pace.add_argument("--rate", type=float, help="spans per second over all clients")
    pace.add_argument("--max", action="store_true", help="as fast as the relay acknowledges (the default)")
    bench.add_argument("--transport", choices=["http", "grpc"], default="http", help="OTLP transport (default http)")
    bench.add_argument(
        "--workload", choices=["chat", "agent", "passthrough"], default="chat", help="what to send (default chat)"
    )
    bench.add_argument(
        "--processors",
        metavar="none|default|CHAIN",
        help="the processor chain: none, default (redaction,cost,prompts,evals) or names joined by commas "
        "(default: the config's chain)",
    )
    bench.add_argument(
        "--exporter",
        choices=["datadog", "null"],
        default="datadog",
        help="datadog: to a local stand-in of the intake; null: accepted and dropped (default datadog)",
    )
    bench.add_argument(
        "--intake-latency", type=float, default=0.0, metavar="MS", help="the stand-in answers after MS ms (default 0)"
    )
    bench.add_argument("--clients", type=int, default=4, help="client processes sending (default 4)")
    bench.add_argument("--batch", type=int, default=50, help="spans per OTLP request (default 50)")
    bench.add_argument("--json", action="store_true", help="print the result as one JSON object")
    bench.set_defaults(func=cmd_bench)
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        code = args.func(args)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        code = 1
    except StartupError as exc:
        print(f"glassbox: cannot start: {exc}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:  # `glassbox spans | head`: the reader left; no traceback, exit like a Unix tool
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python flushes stdout at exit
        code = 141
    sys.exit(code)


if __name__ == "__main__":
    main()
