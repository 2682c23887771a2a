"""deploy/ is right by construction: every command it runs is a real `miles` command, probes answer."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load((DEPLOY / "compose.yaml").read_text()))


def _manifests() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d and d.get("kind") != "Kustomization")
    return docs


def _containers() -> list[dict[str, Any]]:
    out = []
    for doc in _manifests():
        spec = doc.get("spec", {})
        template = spec.get("template", {}).get("spec", {})
        out.extend(template.get("containers", []))
    return out


def _miles_commands() -> list[list[str]]:
    commands = []
    for name, service in _compose()["services"].items():
        if (
            service.get("image", "").startswith("miles")
            or "<<" in service
            or name in {"migrate", "api", "worker", "beat"}
        ):
            commands.append([str(a) for a in service["command"]])
    for container in _containers():
        commands.append([re.sub(r"\$\(\w+\)", "x", str(a)) for a in container["args"]])
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.M)
    assert cmd is not None
    commands.append(yaml.safe_load(cmd.group(1)))
    return commands


@pytest.mark.parametrize("command", _miles_commands(), ids=lambda c: " ".join(c))
def test_every_service_runs_a_real_miles_command(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "miles.cli", *command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_has_every_role_with_health_checks() -> None:
    services = _compose()["services"]
    assert {"postgres", "redis", "migrate", "api", "worker", "beat", "flower"} <= set(services)
    for name in ("postgres", "redis", "api", "worker"):
        assert "healthcheck" in services[name], name
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_kubernetes_has_the_deployments_job_probes_and_autoscaler() -> None:
    kinds = {(d["kind"], d["metadata"]["name"]) for d in _manifests()}
    assert {
        ("Deployment", "miles-api"),
        ("Deployment", "miles-worker"),
        ("Deployment", "miles-beat"),
        ("Job", "miles-migrate"),
        ("HorizontalPodAutoscaler", "miles-worker"),
        ("ConfigMap", "miles"),
        ("Secret", "miles"),
    } <= kinds
    beat = next(
        d for d in _manifests() if d["metadata"]["name"] == "miles-beat" and d["kind"] == "Deployment"
    )
    assert beat["spec"]["replicas"] == 1


def test_the_images_run_as_a_non_root_user() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^USER 10001", dockerfile, re.M)
    assert dockerfile.count("FROM ") >= 2
    for doc in _manifests():
        template = doc.get("spec", {}).get("template", {}).get("spec")
        if template:
            assert template["securityContext"]["runAsNonRoot"] is True


def test_the_probes_paths_answer_on_the_api(client: TestClient) -> None:
    api = next(c for c in _containers() if c["name"] == "api")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        path = api[probe]["httpGet"]["path"]
        assert client.get(path).status_code == 200, path


ROOT = DEPLOY.parent


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"{path.name}: {line!r} is not pinned with =="
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.sub(r"[-_.]+", "-", re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0]).lower() for r in requirements}


def test_every_dependency_is_pinned_in_the_lock_files_ci_and_the_image_install_from() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime, dev = _pins(ROOT / "requirements.lock"), _pins(ROOT / "requirements-dev.lock")
    assert _requirement_names(project["dependencies"]) <= set(runtime)
    assert _requirement_names(project["optional-dependencies"]["dev"]) <= set(dev)
    assert {name: dev.get(name) for name in runtime} == runtime, "the two lock files disagree"
    assert "-c requirements-dev.lock" in (ROOT / ".ci" / "run").read_text()
    assert "requirements.lock" in (DEPLOY / "Dockerfile").read_text()
