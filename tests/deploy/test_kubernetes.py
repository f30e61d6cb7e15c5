"""Every kustomize overlay renders, passes Kubernetes' schemas strictly, and keeps the promises deploy/README.md
makes: probes, read-only root, the queue on a volume, a grace period above the drain, the Secret, the ConfigMap,
hostPort and the downward-API host IP, native sidecars, trace-keyed routing to the gateway and its autoscaling."""

from __future__ import annotations

import inspect
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from glassbox.collector import telemetry
from glassbox.collector.service import Relay
from tests.deploy.tools import K8S, OVERLAYS, ROOT, one, rendered, rendered_text, tool

# The oldest version with native sidecars on by default (1.29) and the newest the validator knows.
KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")
EXAMPLES = [K8S / "daemonset" / "example-app.yaml"]  # copy-paste examples outside the overlays


def validate(paths: list[Path], version: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [tool("kubernetes-validate"), "--strict", "--kubernetes-version", version, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_overlay_and_example_passes_strict_schema_validation(tmp_path, version):
    files = list(EXAMPLES)
    for overlay in OVERLAYS:
        files.append(tmp_path / f"{overlay}.yaml")
        files[-1].write_text(rendered_text(overlay))
    result = validate(files, version)
    assert result.returncode == 0, result.stdout + result.stderr
    checked = result.stdout.count(" passed for resource ")
    assert checked == sum(len(rendered(o)) for o in OVERLAYS) + len(EXAMPLES), result.stdout


def test_strict_validation_refuses_a_key_kubernetes_does_not_know(tmp_path):
    """The check above can fail: a typo'd field (here in a probe) is an error, not a silently ignored key."""
    daemonset = one(rendered("daemonset"), "DaemonSet")
    daemonset["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGett"] = {"port": 13133}
    (tmp_path / "typo.yaml").write_text(yaml.safe_dump(daemonset))
    result = validate([tmp_path / "typo.yaml"], KUBERNETES_VERSIONS[-1])
    assert result.returncode != 0 and "httpGett" in result.stdout + result.stderr


def relay_pods(docs: list[dict]) -> list[tuple[dict, dict]]:
    """(pod spec, relay container) for every pod template that runs the glassbox image."""
    found = []
    for doc in docs:
        pod = doc.get("spec", {}).get("template", {}).get("spec")
        for container in (pod or {}).get("initContainers", []) + (pod or {}).get("containers", []):
            if container["image"].startswith("glassbox:") and container.get("args"):
                found.append((pod, container))
    return found


def worst_case_shutdown_seconds() -> float:
    """What `Relay.stop` may take: receivers (aiohttp's 2 s), processors (half the timeout), exporters."""
    drain = inspect.signature(Relay.__init__).parameters["shutdown_timeout"].default
    return 2.0 + drain / 2 + drain


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_relay_is_hardened_probed_sized_and_keeps_its_queue(overlay):
    docs = rendered(overlay)
    pods = relay_pods(docs)
    assert len(pods) == 1
    pod, relay = pods[0]
    assert relay["image"] == "glassbox:0.1.0"
    assert relay["args"] == ["run", "-c", "/etc/glassbox/relay.yaml"]
    assert relay["securityContext"]["readOnlyRootFilesystem"] is True
    assert relay["securityContext"]["allowPrivilegeEscalation"] is False
    assert (relay["securityContext"].get("runAsUser") or pod["securityContext"]["runAsUser"]) == 10001
    assert relay["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert relay["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"cpu", "memory"} <= relay["resources"]["requests"].keys() & relay["resources"]["limits"].keys()
    env = {e["name"]: e for e in relay["env"]}
    assert env["DD_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "glassbox-datadog", "key": "api-key"}
    assert pod["terminationGracePeriodSeconds"] > worst_case_shutdown_seconds()

    mounts = {m["mountPath"]: m["name"] for m in relay["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    configmap = one(docs, "ConfigMap", volumes[mounts["/etc/glassbox"]]["configMap"]["name"])
    assert "relay.yaml" in configmap["data"]
    assert "emptyDir" in volumes[mounts["/tmp"]]  # the only other place the read-only container writes
    queue = mounts["/var/lib/glassbox"]
    assert yaml.safe_load(configmap["data"]["relay.yaml"])["storage"]["directory"] == "/var/lib/glassbox"
    durable = {
        "daemonset": lambda: volumes[queue]["hostPath"]["path"] == "/var/lib/glassbox",
        "sidecar": lambda: "emptyDir" in volumes[queue],  # outlives the relay container, drained with the pod
        "gateway": lambda: (
            queue in {t["metadata"]["name"] for t in one(docs, "StatefulSet")["spec"]["volumeClaimTemplates"]}
        ),
    }
    assert durable[overlay]()


def test_daemonset_is_reachable_on_the_node_and_never_runs_two_relays_on_one_queue():
    docs = rendered("daemonset")
    daemonset = one(docs, "DaemonSet")
    assert daemonset["spec"]["updateStrategy"]["rollingUpdate"] == {"maxUnavailable": 1, "maxSurge": 0}
    relay = daemonset["spec"]["template"]["spec"]["containers"][0]
    host_ports = {p["containerPort"]: p.get("hostPort") for p in relay["ports"]}
    assert host_ports[4317] == 4317 and host_ports[4318] == 4318 and host_ports[13133] is None
    service = one(docs, "Service", "glassbox-relay")
    assert service["spec"]["internalTrafficPolicy"] == "Local"
    labels = daemonset["spec"]["template"]["metadata"]["labels"]
    for selector in (service["spec"]["selector"], one(docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"]):
        assert selector.items() <= labels.items()
    app = yaml.safe_load((K8S / "daemonset" / "example-app.yaml").read_text())["spec"]["template"]["spec"]
    env = {e["name"]: e for e in app["containers"][0]["env"]}
    assert env["GLASSBOX_RELAY_HOST"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.hostIP"
    assert app["containers"][0]["command"][:1] == ["glassbox-instrument"]


def test_sidecar_relay_starts_first_and_the_app_sends_to_localhost():
    pod = one(rendered("sidecar"), "Deployment")["spec"]["template"]["spec"]
    (relay,) = pod["initContainers"]
    assert relay["restartPolicy"] == "Always" and relay["startupProbe"]["httpGet"]["path"] == "/healthz"
    (app,) = pod["containers"]
    assert {"name": "GLASSBOX_RELAY_HOST", "value": "127.0.0.1"} in app["env"]
    assert app["command"][:1] == ["glassbox-instrument"]


def test_gateway_routes_each_trace_to_one_replica_and_scales_on_cpu_and_queue_depth():
    docs = rendered("gateway")
    loadbalancer = one(docs, "Deployment", "glassbox-otlp")
    volume = loadbalancer["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"]
    otelcol = yaml.safe_load(one(docs, "ConfigMap", volume)["data"]["otelcol.yaml"])
    exporter = otelcol["exporters"]["loadbalancing"]
    assert exporter["routing_key"] == "traceID"
    for signal in ("traces", "logs"):  # a span's content may come as log records: both go by trace id
        assert otelcol["service"]["pipelines"][signal]["exporters"] == ["loadbalancing"]

    headless = one(docs, "Service", "glassbox-gateway-headless")
    assert headless["spec"]["clusterIP"] == "None"
    namespace = headless["metadata"]["namespace"]
    assert exporter["resolver"]["dns"]["hostname"] == f"glassbox-gateway-headless.{namespace}.svc.cluster.local"
    assert [p["port"] for p in headless["spec"]["ports"]] == [int(exporter["resolver"]["dns"]["port"])]
    statefulset = one(docs, "StatefulSet", "glassbox-gateway")
    assert headless["spec"]["selector"].items() <= statefulset["spec"]["template"]["metadata"]["labels"].items()
    relay = statefulset["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "otlp-grpc", "containerPort": 4317, "protocol": "TCP"} in relay["ports"]

    hpa = one(docs, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "glassbox-gateway"}
    metrics = {m["type"]: m for m in hpa["spec"]["metrics"]}
    assert metrics["Resource"]["resource"]["name"] == "cpu"
    assert metrics["Pods"]["pods"]["metric"]["name"] == telemetry.EXPORTER_QUEUE_SIZE.family


def test_the_readmes_deploy_commands_apply_the_overlays_these_tests_check():
    for readme in (ROOT / "README.md", ROOT / "deploy" / "README.md"):
        applied = set(re.findall(r"kubectl apply -k deploy/k8s/(\w+)", readme.read_text()))
        assert applied == set(OVERLAYS), readme
