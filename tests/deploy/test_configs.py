"""The shipped relay configs are valid: the embedded default, and relay.yaml as every overlay's ConfigMap, the
image and the compose example carry it."""

from __future__ import annotations

import re

import pytest
import yaml

from glassbox.collector.config import default_config, parse
from tests.deploy.tools import DEPLOY, K8S, OVERLAYS, ROOT, dockerfile_instructions, rendered

RELAY_YAML = K8S / "base" / "relay.yaml"


def test_embedded_default_binds_localhost_unless_told_otherwise():
    local = default_config({})
    assert local.receivers.otlp.http.endpoint == "127.0.0.1:4318"
    assert local.pipeline.exporters == ["local"]
    container = default_config({"GLASSBOX_BIND": "0.0.0.0", "DD_API_KEY": "k"})
    assert container.receivers.otlp.grpc.endpoint == "0.0.0.0:4317"
    assert container.exporters.datadog.transport == "agentless"
    assert container.pipeline.exporters == ["datadog", "local"]  # a bounded local copy for the viewer
    assert container.exporters.local.max_spans == 20_000 and container.exporters.local.max_age == 72 * 3600
    assert not container.admin.viewer  # 0.0.0.0 with no GLASSBOX_VIEWER_TOKEN: no viewer, the relay still starts
    guarded = default_config({"GLASSBOX_BIND": "0.0.0.0", "DD_API_KEY": "k", "GLASSBOX_VIEWER_TOKEN": "t"})
    assert guarded.admin.viewer and guarded.admin.token.get_secret_value() == "t"
    off = default_config({"DD_API_KEY": "k", "GLASSBOX_LOCAL_COPY": "off"})
    assert off.pipeline.exporters == ["datadog"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlays_configmap_is_a_valid_relay_config_that_follows_the_datadog_variables(overlay):
    (configmap,) = [d for d in rendered(overlay) if d["kind"] == "ConfigMap" and "relay.yaml" in d["data"]]
    data = yaml.safe_load(configmap["data"]["relay.yaml"])
    agentless = parse(data, environ={"DD_API_KEY": "k"})  # the Secret, as every overlay sets it
    assert agentless.exporters.datadog.transport == "agentless"
    assert agentless.receivers.otlp.http.endpoint == "0.0.0.0:4318"
    assert agentless.admin.endpoint == "0.0.0.0:13133"  # the probes come from the kubelet, not from localhost
    assert agentless.pipeline.processors == ["redaction", "cost", "prompts", "evals"]
    agent = parse(data, environ={"DD_API_KEY": "k", "DD_AGENT_HOST": "10.0.0.7"})  # the node's Agent
    assert agent.exporters.datadog.transport == "agent"
    assert agent.exporters.datadog.agent_url == "http://10.0.0.7:8126"
    local_only = parse(data, environ={"DD_API_KEY": "k", "GLASSBOX_BIND": "127.0.0.1"})
    assert local_only.receivers.otlp.grpc.endpoint == "127.0.0.1:4317"


def test_the_image_and_compose_carry_the_same_relay_yaml():
    copies = [args.split() for word, args in dockerfile_instructions() if word == "COPY" and "relay.yaml" in args]
    assert copies == [["deploy/k8s/base/relay.yaml", "/etc/glassbox/relay.yaml"]]
    compose = yaml.safe_load((DEPLOY / "compose.example.yaml").read_text())
    mounts = compose["services"]["glassbox"]["volumes"]
    assert any(str(m).startswith("./k8s/base/relay.yaml:/etc/glassbox/relay.yaml") for m in mounts)


def test_every_yaml_example_in_the_readme_is_a_valid_config(tmp_path):
    """Relay configs parse (with the files they name); prompt registry and pricing file examples load as such."""
    from glassbox.processors.cost import pricing_file
    from glassbox.processors.prompts import registry

    text = (ROOT / "README.md").read_text()
    blocks = [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]
    files = {
        "prompts": ("prompts.yaml", registry.load),
        "models": ("prices.yaml", lambda path: not pricing_file.load(path)[1]),
    }  # (entries, problems)
    data_files = [block for block in blocks if len(block) == 1 and next(iter(block)) in files]
    assert len(blocks) >= 2 and len(data_files) == 2
    (tmp_path / "my_evals.py").write_text("def polite(span):\n    return None\n")  # the custom evaluator example
    for block in data_files:
        name, load = files[next(iter(block))]
        (tmp_path / name).write_text(yaml.safe_dump(block))
        assert load(tmp_path / name)
    for data in blocks:
        if data in data_files:
            continue
        if "pipeline" not in data:  # a section example: wrap it in the smallest complete config
            data = {
                **data,
                "exporters": {"local": {}},
                "pipeline": {"exporters": ["local"], "processors": list(data.get("processors", {}))},
            }
        parse(
            data,
            environ={"GLASSBOX_HASH_SALT": "a-salt-of-at-least-16-chars", "DD_API_KEY": "k", "OPENAI_API_KEY": "k"},
            base_dir=tmp_path,
        )
