"""The ``glassbox`` and ``glassbox-instrument`` commands, run for real as subprocesses in a temporary directory."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import fixture_files

BIN = Path(sys.executable).parent
SECRET = "sekrit-123"
FIXTURE = fixture_files("ll_default")[0]  # one OpenLLMetry chat span, "openai.chat"
GOOD = """\
receivers:
  otlp:
    grpc: {endpoint: "127.0.0.1:0"}
    http: {endpoint: "127.0.0.1:0"}
exporters:
  local: {path: spans.db}
pipeline:
  exporters: [local]
  join_timeout: 0.2
storage: {directory: ./storage}
admin: {endpoint: "127.0.0.1:%s"}
"""
BAD = f"""\
receivers:
  otlp:
    http: {{endpoint: "localhost"}}
exporters:
  datadog: {{api_key: "{SECRET}", transport: agentless, site: "Not A Site", colour: blue}}
pipeline:
  exporters: [datadog, nope]
admin: {{endpoint: "${{env:GLASSBOX_TEST_UNSET_ADMIN}}"}}
"""
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 only, whatever the env says


def cli_env() -> dict[str, str]:
    """The caller's environment without Datadog / OTel / Traceloop settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "OTEL_", "TRACELOOP_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def command(name: str) -> list[str]:
    script = BIN / name
    if script.exists():
        return [str(script)]
    module = {"glassbox": "glassbox.collector.cli", "glassbox-instrument": "glassbox.instrumentation.cli"}[name]
    return [sys.executable, "-m", module]


def run(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*command(name), *args], cwd=cwd, env=cli_env(), capture_output=True, text=True, timeout=60)


class Running:
    """A background ``glassbox run`` whose combined output is collected line by line."""

    def __init__(self, cwd: Path, *args: str):
        self.proc = subprocess.Popen(
            [*command("glassbox"), "run", *args],
            cwd=cwd,
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.output)
            if match:
                return match
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.02)
        raise AssertionError(f"{pattern!r} never appeared; output so far:\n{self.output}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def relays():
    started: list[Running] = []
    yield started
    for relay in started:
        relay.kill()


def get(port: int, path: str) -> tuple[int, bytes]:
    with NO_PROXY.open(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
        return resp.status, resp.read()


def post(port: int, path: str, body: bytes, content_type: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=body, method="POST", headers={"Content-Type": content_type}
    )
    with NO_PROXY.open(request, timeout=10) as resp:
        return resp.status


# --- validate ---------------------------------------------------------------------------------------------------


def test_validate_accepts_a_good_file(tmp_path: Path):
    (tmp_path / "good.yaml").write_text(GOOD % 0)

    result = run("glassbox", "validate", "-c", "good.yaml", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "good.yaml: valid (exporters: local; processors: none)"


def test_validate_lists_every_error_with_its_path_and_no_secret(tmp_path: Path):
    (tmp_path / "bad.yaml").write_text(BAD)

    result = run("glassbox", "validate", "-c", "bad.yaml", cwd=tmp_path)

    assert result.returncode == 1
    assert re.search(r"^bad\.yaml has \d+ error\(s\):$", result.stderr, re.MULTILINE), result.stderr
    for line in [
        "  - receivers.otlp.http.endpoint: 'localhost' is not host:port",
        "  - exporters.datadog.site: 'Not A Site' is not a Datadog site",
        "  - exporters.datadog.colour: unknown key",
        "  - admin.endpoint: environment variable GLASSBOX_TEST_UNSET_ADMIN is not set",
        "  - pipeline.exporters[1]: unknown exporter 'nope'",
    ]:
        assert line in result.stderr, result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_validate_a_missing_file(tmp_path: Path):
    result = run("glassbox", "validate", "-c", "absent.yaml", cwd=tmp_path)

    assert result.returncode == 1
    assert "cannot read absent.yaml: No such file or directory" in result.stderr
    assert "Traceback" not in result.stderr


# --- validate refuses what run would refuse at startup, each as one line with its key path --------------------

REPO = Path(__file__).resolve().parents[2]
REDACTION = GOOD.replace(
    "pipeline:\n", "processors:\n  redaction: {workers: 0, %s}\npipeline:\n  processors: [redaction]\n"
)
STARTUP_PROBLEMS = [
    (
        "nlp_engine: en_core_web_not_installed",
        "processors.redaction.nlp_engine: spaCy model 'en_core_web_not_installed' is not installed",
    ),
    (
        'custom_recognizers: [{name: x, entity: X_ID, class_path: "no_such_module_here:Thing"}]',
        "processors.redaction.custom_recognizers[0].class_path: cannot import 'no_such_module_here:Thing': "
        "ModuleNotFoundError",
    ),
    (
        'custom_recognizers: [{name: x, entity: X_ID, class_path: "json:JSONDecoder"}]',
        "processors.redaction.custom_recognizers[0].class_path: 'json:JSONDecoder' is not a Presidio EntityRecognizer",
    ),
    (
        "entities: [EMAIL_ADDRESS, EMAIL]",
        "processors.redaction.entities[1]: unknown entity 'EMAIL'; did you mean EMAIL_ADDRESS? known: CREDIT_CARD, ",
    ),
    (
        "entities: [CREDITCARD]",
        "processors.redaction.entities[0]: unknown entity 'CREDITCARD'; did you mean CREDIT_CARD? known: ",
    ),
    ("entities: [phone]", "processors.redaction.entities: unknown entity 'phone'; did you mean PHONE_NUMBER? known: "),
    (
        "operators: {SSN: {type: mask}}",
        "processors.redaction.operators.SSN: unknown entity 'SSN'; did you mean US_SSN? known: ",
    ),
]


@pytest.mark.parametrize("setting, line", STARTUP_PROBLEMS)
def test_validate_and_run_refuse_a_processor_that_cannot_start_in_one_line(tmp_path: Path, setting, line):
    """These used to pass ``validate`` and make ``run`` print a traceback."""
    (tmp_path / "cfg.yaml").write_text(REDACTION % (setting, "0"))

    for args in (["validate", "-c", "cfg.yaml"], ["run", "-c", "cfg.yaml"]):
        result = run("glassbox", *args, cwd=tmp_path)

        assert result.returncode == 1, (args, result.stderr)
        assert f"  - {line}" in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_validate_builds_the_analyzer_so_run_cannot_fail_where_validate_passed(tmp_path: Path):
    """A recognizer that imports but cannot be built: only building it tells, so ``validate`` does; ``run`` says
    the same in one line."""
    setting = (
        "custom_recognizers: [{name: x, entity: X_ID, "
        'class_path: "tests.processors.recognizers_for_tests:BrokenAtStart"}]'
    )
    (tmp_path / "cfg.yaml").write_text(REDACTION % (setting, "0"))
    env = {**cli_env(), "PYTHONPATH": str(REPO)}

    validate = subprocess.run(
        [*command("glassbox"), "validate", "-c", "cfg.yaml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    started = subprocess.run(
        [*command("glassbox"), "run", "-c", "cfg.yaml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert validate.returncode == 1 and started.returncode == 1
    assert (
        "  - processors.redaction: the analyzer cannot be built: RuntimeError: licence file /etc/recognizer.lic "
        "not found"
    ) in validate.stderr, validate.stderr
    assert (
        "glassbox: cannot start: processors.redaction: cannot start: RuntimeError: licence file "
        "/etc/recognizer.lic not found"
    ) in started.stderr, started.stderr
    assert "Traceback" not in validate.stderr + started.stderr


def test_validate_and_run_say_which_key_was_meant(tmp_path: Path):
    config = GOOD.replace("local: {path: spans.db}", "local: {pth: spans.db}\n  datdog: {api_ky: x}")
    (tmp_path / "cfg.yaml").write_text(config.replace("pipeline:\n", "pipeline:\n  procesors: []\n") % 0)

    for args in (["validate", "-c", "cfg.yaml"], ["run", "-c", "cfg.yaml"]):
        result = run("glassbox", *args, cwd=tmp_path)

        assert result.returncode == 1, (args, result.stderr)
        for line in [
            "  - exporters.local.pth: unknown key; did you mean path?",
            "  - exporters.datdog: unknown exporter 'datdog'; did you mean datadog? known: datadog, otlp, local, debug",
            "  - pipeline.procesors: unknown key; did you mean processors?",
        ]:
            assert line in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


LOOP = """\
receivers:
  otlp:
    http: {endpoint: "0.0.0.0:4318"}
exporters:
  otlp: {endpoint: "http://localhost:4318"}
pipeline:
  exporters: [otlp]
  send_unredacted: true
storage: {directory: ./storage}
"""


def test_validate_and_run_refuse_an_exporter_that_sends_to_the_relay_itself(tmp_path: Path):
    """One span became 1,006 in eight seconds, and the queue replayed the loop after a restart."""
    (tmp_path / "cfg.yaml").write_text(LOOP)

    for args in (["validate", "-c", "cfg.yaml"], ["run", "-c", "cfg.yaml"]):
        result = run("glassbox", *args, cwd=tmp_path)

        assert result.returncode == 1, (args, result.stderr)
        assert (
            "  - exporters.otlp.endpoint points at receivers.otlp.http.endpoint (0.0.0.0:4318): "
            "the relay would send to itself forever"
        ) in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "storage").exists()  # refused before anything was queued


def test_validate_checks_tls_files_and_folders_it_would_write(tmp_path: Path):
    (tmp_path / "cert.pem").write_text("not a certificate")
    (tmp_path / "readonly").mkdir(mode=0o500)
    config = GOOD.replace(
        'http: {endpoint: "127.0.0.1:0"}',
        'http: {endpoint: "127.0.0.1:0", tls: {cert_file: cert.pem, key_file: cert.pem}}',
    )
    config = config.replace("local: {path: spans.db}", "local: {path: readonly/sub/spans.db}")
    (tmp_path / "cfg.yaml").write_text(config % 0)

    result = run("glassbox", "validate", "-c", "cfg.yaml", cwd=tmp_path)

    assert result.returncode == 1
    assert "  - receivers.otlp.http.tls: cannot load the certificate and key" in result.stderr, result.stderr
    if os.geteuid() != 0:  # root may write anywhere: the folder check cannot fail for root
        assert "  - exporters.local.path: cannot create" in result.stderr, result.stderr


# --- run, then spans --------------------------------------------------------------------------------------------


def test_run_serves_stores_and_stops_cleanly_on_sigterm(tmp_path: Path, relays):
    (tmp_path / "cfg.yaml").write_text(GOOD % 0)
    relay = Running(tmp_path, "-c", "cfg.yaml")
    relays.append(relay)

    grpc_port = int(relay.wait_for(r"OTLP/gRPC receiver listening on 127\.0\.0\.1:(\d+)").group(1))
    http_port = int(relay.wait_for(r"OTLP/HTTP receiver listening on 127\.0\.0\.1:(\d+)").group(1))
    admin_port = int(
        relay.wait_for(r"admin server \(/healthz /readyz /metrics\) listening on 127\.0\.0\.1:(\d+)").group(1)
    )
    relay.wait_for(r"glassbox relay ready \(exporters: local\)")
    assert 0 not in (grpc_port, http_port, admin_port)
    assert len({grpc_port, http_port, admin_port}) == 3

    assert get(admin_port, "/healthz") == (200, b'{"status": "ok"}')
    assert get(admin_port, "/readyz") == (200, b'{"ready": true}')
    assert post(http_port, "/v1/traces", FIXTURE.read_bytes(), "application/x-protobuf") == 200
    status, metrics = get(admin_port, "/metrics")
    assert b'glassbox_receiver_accepted_spans_total{transport="http"} 1' in metrics

    started = time.monotonic()
    assert relay.stop(signal.SIGTERM) == 0, relay.output
    assert time.monotonic() - started < 5
    assert "shutting down" in relay.output
    assert "Traceback" not in relay.output

    spans = run("glassbox", "spans", "--db", "spans.db", cwd=tmp_path)
    assert spans.returncode == 0, spans.stderr
    assert "(1 span events)" in spans.stdout
    # time (another day: month-day hour:minute), kind, service, name, model
    assert re.search(r"^\d\d-\d\d \d\d:\d\d\s+llm\s+probe-ll\s+openai\.chat\s+gpt-", spans.stdout, re.MULTILINE), (
        spans.stdout
    )
    assert "1 LLM calls" in spans.stdout


def test_spans_reads_the_store_named_in_the_config(tmp_path: Path, relays):
    (tmp_path / "cfg.yaml").write_text(GOOD % 0)
    relay = Running(tmp_path, "-c", "cfg.yaml")
    relays.append(relay)
    http_port = int(relay.wait_for(r"OTLP/HTTP receiver listening on 127\.0\.0\.1:(\d+)").group(1))
    assert post(http_port, "/v1/traces", FIXTURE.read_bytes(), "application/x-protobuf") == 200
    assert relay.stop(signal.SIGINT) == 0, relay.output  # Ctrl-C drains the same way

    spans = run("glassbox", "spans", "-c", "cfg.yaml", cwd=tmp_path)

    assert spans.returncode == 0, spans.stderr
    assert "openai.chat" in spans.stdout


def test_spans_without_a_store_says_so(tmp_path: Path):
    result = run("glassbox", "spans", "--db", "nothing-here.db", cwd=tmp_path)

    assert result.returncode == 1
    assert "nothing-here.db: no local store yet" in result.stderr


def test_run_on_a_busy_port_fails_with_a_clear_message(tmp_path: Path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        (tmp_path / "cfg.yaml").write_text(GOOD % port)

        result = run("glassbox", "run", "-c", "cfg.yaml", cwd=tmp_path)

    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


# --- glassbox-instrument ------------------------------------------------------------------------------------------


def test_instrument_without_a_command_prints_its_usage_and_runs_a_command_unchanged(tmp_path: Path):
    bare = run("glassbox-instrument", cwd=tmp_path)
    assert bare.returncode == 2 and bare.stderr.startswith("usage: glassbox-instrument COMMAND")
    helped = run("glassbox-instrument", "--help", cwd=tmp_path)
    assert helped.returncode == 0 and "GLASSBOX_RELAY_HOST" in helped.stdout
    missing = run("glassbox-instrument", "no-such-program-here", cwd=tmp_path)
    assert missing.returncode == 127 and "cannot run 'no-such-program-here'" in missing.stderr

    ran = run("glassbox-instrument", sys.executable, "-c", "print('app ran'); raise SystemExit(4)", cwd=tmp_path)
    assert (ran.returncode, ran.stdout) == (4, "app ran\n")


UNREDACTED = GOOD.replace("  local: {path: spans.db}\n", '  otlp: {endpoint: "http://127.0.0.1:9"}\n').replace(
    "  exporters: [local]\n", "  exporters: [otlp]\n"
)


def test_validate_and_run_refuse_raw_content_leaving_the_machine_and_say_how_to_allow_it(tmp_path: Path):
    (tmp_path / "cfg.yaml").write_text(UNREDACTED % 0)

    for args in (["validate", "-c", "cfg.yaml"], ["run", "-c", "cfg.yaml"]):
        result = run("glassbox", *args, cwd=tmp_path)

        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert "  - pipeline: otlp sends data off this machine and no processor in pipeline.processors redacts it" in (
            result.stderr
        )
        assert "Traceback" not in result.stderr


def test_with_the_switch_validate_and_the_startup_log_say_so(tmp_path: Path, relays):
    allowed = UNREDACTED.replace("  exporters: [otlp]\n", "  exporters: [otlp]\n  send_unredacted: true\n")
    (tmp_path / "cfg.yaml").write_text(allowed % 0)
    said = "pipeline.send_unredacted is true: otlp send data off this machine that no redaction processor saw"

    result = run("glassbox", "validate", "-c", "cfg.yaml", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert f"warning: {said}" in result.stdout
    relay = Running(tmp_path, "-c", "cfg.yaml")
    relays.append(relay)
    relay.wait_for(re.escape(said))
    relay.wait_for(r"glassbox relay ready")
