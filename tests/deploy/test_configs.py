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


def test_every_yaml_example_in_the_readme_is_a_valid_config(tmp_path):
    """Relay configs parse (with the files they name); prompt registry and pricing file examples load as such."""
    import re

    from glassbox.processors.cost import pricing_file
    from glassbox.processors.prompts import registry

    text = (DEPLOY.parent / "README.md").read_text()
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
