"""deploy/Dockerfile: hadolint clean, both stages on one pinned base, a non-root numeric user, a healthcheck the
slim image can run, the config and queue directories as volumes, and a build context with what it copies."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess

import yaml

from tests.deploy.tools import DEPLOY, K8S, ROOT, dockerfile_instructions, final_stage, tool

DOCKERFILE = DEPLOY / "Dockerfile"


def hadolint(path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [tool("hadolint"), "--no-color", str(path)], capture_output=True, text=True, timeout=60, cwd=ROOT
    )


def test_dockerfile_passes_hadolint_and_every_ignore_says_why():
    result = hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = DOCKERFILE.read_text().splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore" in line:  # the justification is the comment line just above
            assert number > 0 and lines[number - 1].startswith("#") and "ignore" not in lines[number - 1], line


def test_hadolint_refuses_an_unpinned_base_image(tmp_path):
    """The check above can fail: a `latest` base image is a finding."""
    (tmp_path / "Dockerfile").write_text('FROM python:latest\nCMD ["python"]\n')
    result = hadolint(tmp_path / "Dockerfile")
    assert result.returncode != 0 and "DL3007" in result.stdout


def test_both_stages_use_one_base_pinned_by_tag_and_digest():
    bases = [args.split()[0] for word, args in dockerfile_instructions() if word == "FROM"]
    assert len(bases) == 2 and bases[0] == bases[1]
    assert re.fullmatch(r"python:3\.\d+\.\d+-slim-\w+@sha256:[0-9a-f]{64}", bases[0]), bases[0]


def test_final_stage_runs_the_relay_as_a_numeric_non_root_user_with_volumes_and_a_healthcheck():
    stage = final_stage(dockerfile_instructions())
    words = dict(stage)  # the last of each instruction
    assert re.fullmatch(r"[1-9]\d*:[1-9]\d*", words["USER"]), words["USER"]
    assert set(json.loads(words["VOLUME"])) == {"/etc/glassbox", "/var/lib/glassbox"}
    relay_yaml = yaml.safe_load((K8S / "base" / "relay.yaml").read_text())
    assert relay_yaml["storage"]["directory"] in json.loads(words["VOLUME"])
    assert "GLASSBOX_BIND=0.0.0.0" in words["ENV"].split()
    health = words["HEALTHCHECK"]
    assert '"python", "-c"' in health and "/healthz" in health  # no curl or wget in the slim image
    assert json.loads(words["ENTRYPOINT"]) == ["glassbox"]
    assert not any(word == "COPY" and "--from" not in args and "relay.yaml" not in args for word, args in stage)
    assert "--mount=type=bind,from=wheel" in words["RUN"]  # the wheel is never a layer of the final image


def test_the_build_context_has_what_the_dockerfile_copies_and_nothing_else():
    patterns = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]

    def included(path: str) -> bool:  # Docker's rule: the last matching pattern wins
        keep = True
        for pattern in patterns:
            negated = pattern.startswith("!")
            body = pattern.lstrip("!").rstrip("/")
            if (
                fnmatch.fnmatch(path, body)
                or path.startswith(body + "/")
                or fnmatch.fnmatch(path, body.replace("**/", "*/"))
            ):
                keep = negated
        return keep

    for word, args in dockerfile_instructions():
        if word == "COPY" and "--from" not in args:
            for source in args.split()[:-1]:
                assert (ROOT / source).exists() and included(source), source
    for private in (
        ".venv/bin/python",
        "glassbox.db",
        ".glassbox/queue.db",
        "tests/testdata",
        "collector/__pycache__/x.pyc",
    ):
        assert not included(private), private
