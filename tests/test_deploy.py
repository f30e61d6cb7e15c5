"""The shipped configs are valid: the embedded default and the Kubernetes ConfigMap's relay.yaml."""

from pathlib import Path

import yaml

from glassbox.collector.config import default_config, parse

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def test_embedded_default_binds_localhost_unless_told_otherwise():
    local = default_config({})
    assert local.receivers.otlp.http.endpoint == "127.0.0.1:4318"
    assert local.pipeline.exporters == ["local"]
    container = default_config({"GLASSBOX_BIND": "0.0.0.0", "DD_API_KEY": "k"})
    assert container.receivers.otlp.grpc.endpoint == "0.0.0.0:4317"
    assert container.pipeline.exporters == ["datadog"] and container.exporters.datadog.transport == "agentless"


def test_kubernetes_configmap_relay_config_is_valid():
    configmap = yaml.safe_load((DEPLOY / "k8s" / "configmap.yaml").read_text())
    config = parse(yaml.safe_load(configmap["data"]["relay.yaml"]), environ={"DD_AGENT_HOST": "10.0.0.7"})
    assert config.exporters.datadog.transport == "agent"
    assert config.exporters.datadog.agent_url == "http://10.0.0.7:8126"
    assert config.pipeline.processors == ["redaction"]


def test_every_yaml_example_in_the_readme_is_a_valid_config():
    import re

    text = (DEPLOY.parent / "README.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    assert len(blocks) >= 2
    for block in blocks:
        data = yaml.safe_load(block)
        if "pipeline" not in data:  # a section example: wrap it in the smallest complete config
            data = {
                **data,
                "exporters": {"local": {}},
                "pipeline": {"exporters": ["local"], "processors": list(data.get("processors", {}))},
            }
        parse(data, environ={"GLASSBOX_HASH_SALT": "a-salt-of-at-least-16-chars", "DD_API_KEY": "k"})
