"""deploy/ is right by construction: every command it runs is a real `miles` command and the probes answer;
every pod migrates before it serves; no credential, Secret or floating tag ships; pods are locked down and
given their time to stop; the pools fit the connection budget of deploy/README.md."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
MILES_ROLES = {"migrate", "api", "worker", "beat"}
RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}
POD_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "fsGroup": 10001,
    "seccompProfile": {"type": "RuntimeDefault"},
}


@cache
def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load((DEPLOY / "compose.yaml").read_text()))


@cache
def _rendered() -> tuple[dict[str, Any], ...]:
    """The base as `kubectl apply -k` sends it: generated ConfigMaps, the image's registry and tag applied."""
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (its kustomize renders deploy/k8s) is installed on this project's machines"
    out = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    return tuple(doc for doc in yaml.safe_load_all(out) if doc)


def _kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in _rendered() if d["kind"] == kind}


def _pods() -> dict[str, dict[str, Any]]:
    """Each Deployment's pod spec, by Deployment name."""
    return {name: d["spec"]["template"]["spec"] for name, d in _kind("Deployment").items()}


def _containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod["containers"]]


def _is_miles(container: dict[str, Any]) -> bool:
    return str(container["image"]).startswith("registry.example.com/miles/miles:")


def _config() -> dict[str, str]:
    (config,) = [d for d in _rendered() if d["kind"] == "ConfigMap" and "MILES_POOL_SIZE" in d["data"]]
    return dict(config["data"])


def _miles_commands() -> list[list[str]]:
    commands = [[str(a) for a in s["command"]] for n, s in _compose()["services"].items() if n in MILES_ROLES]
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            pod = (doc or {}).get("spec", {}).get("template", {}).get("spec")
            for container in _containers(pod) if pod else []:
                if container["image"] == "miles":
                    commands.append([re.sub(r"\$\(\w+\)", "x", str(a)) for a in container["args"]])
    cmd = re.search(r"^CMD (\[.*\])$", (DEPLOY / "Dockerfile").read_text(), re.M)
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


def test_every_deployment_of_the_image_migrates_in_an_init_container_before_its_role_starts() -> None:
    roles = {name: pod for name, pod in _pods().items() if any(map(_is_miles, pod["containers"]))}
    assert set(roles) == {"miles-api", "miles-worker", "miles-beat"}
    for name, pod in roles.items():
        (init,) = pod["initContainers"]
        (main,) = pod["containers"]
        assert init["args"] == ["db", "upgrade"], name
        assert init["image"] == main["image"], name  # the release's own migrations, not another's
        assert init["envFrom"] == main["envFrom"], name  # the same settings, MILES_MIGRATION_DATABASE_URL too
    assert not _kind("Job"), "a fixed-name Job is refused by the next release's apply"


def test_the_base_ships_no_secret_and_the_readme_says_how_to_make_the_ones_it_reads() -> None:
    assert not _kind("Secret")
    referenced = set()
    for pod in _pods().values():
        for container in _containers(pod):
            referenced |= {s["secretRef"]["name"] for s in container.get("envFrom", []) if "secretRef" in s}
        for volume in pod.get("volumes", []):
            sources = volume.get("projected", {}).get("sources", [])
            referenced |= {s["secret"]["name"] for s in sources if "secret" in s}
    assert referenced == {"miles", "miles-pgbouncer"}
    readme = (DEPLOY / "README.md").read_text()
    assert "create secret generic miles \\" in readme
    assert "create secret generic miles-pgbouncer --from-file=userlist.txt" in readme
    keys = ["DATABASE_URL", "MIGRATION_DATABASE_URL", "BROKER_URL", "CONSOLE_SECRET", "METRICS_TOKEN"]
    for key in keys:
        assert f"--from-literal=MILES_{key}=" in readme, key


def test_every_image_is_pinned_and_the_miles_image_is_named_in_one_place() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    (image,) = [i for i in kustomization["images"] if i["name"] == "miles"]
    assert image["newName"] == "registry.example.com/miles/miles"
    assert re.fullmatch(r"\d+\.\d+\.\d+|[0-9a-f]{7,40}", str(image["newTag"])), "a version or a commit sha"
    services = _compose()["services"]
    assert {services[role]["image"] for role in MILES_ROLES} == {
        "${MILES_IMAGE:-miles:local}"
    }  # this checkout
    images = [c["image"] for pod in _pods().values() for c in _containers(pod)]
    images += [s["image"] for name, s in services.items() if name not in MILES_ROLES]
    for name in images:
        repository, _, tag = name.rpartition(":")
        assert repository, name
        assert tag != "latest", name
        assert re.search(r"\d", tag), name
    assert {"postgres", "redis", "mher/flower", "edoburu/pgbouncer"} <= {i.rpartition(":")[0] for i in images}
    compose_images = {s["image"].rpartition(":")[0]: s["image"] for s in services.values()}
    assert re.fullmatch(r"postgres:15\.\d+(-\w+)?", compose_images["postgres"])
    assert re.fullmatch(r"redis:7\.\d+\.\d+(-\w+)?", compose_images["redis"])
    assert compose_images["mher/flower"] == "mher/flower:2.0.1"
    for line in re.findall(r"^FROM (\S+)", (DEPLOY / "Dockerfile").read_text(), re.M):
        assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", line), line
    assert not re.search(r":latest\b|newTag: latest", "".join(p.read_text() for p in DEPLOY.rglob("*.y*ml")))


def test_every_pod_and_every_container_is_locked_down() -> None:
    for name, pod in _pods().items():
        assert pod["securityContext"] == POD_SECURITY, name
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["enableServiceLinks"] is False, name  # no MILES_API_PORT=tcp://... among the settings
        empty_dirs = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        for container in _containers(pod):
            assert container["securityContext"] == RESTRICTED, (name, container["name"])
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get("/tmp") in empty_dirs, (name, container["name"])
    namespace = _kind("Namespace")["miles"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for service in ("migrate", "api", "worker", "beat"):
        role = _compose()["services"][service]
        assert role["read_only"] is True, service
        assert role["cap_drop"] == ["ALL"], service
        assert "/tmp" in role["tmpfs"], service


def test_beat_writes_its_schedule_in_a_writable_data_dir() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    data_dir = re.search(r"MILES_DATA_DIR=(\S+)", dockerfile)
    assert data_dir is not None
    assert _config()["MILES_DATA_DIR"] == data_dir.group(1)
    beat = _pods()["miles-beat"]
    empty_dirs = {v["name"] for v in beat["volumes"] if "emptyDir" in v}
    mounts = {m["mountPath"]: m["name"] for m in beat["containers"][0]["volumeMounts"]}
    assert mounts.get(data_dir.group(1)) in empty_dirs
    assert data_dir.group(1) in _compose()["services"]["beat"]["tmpfs"]


def test_disruption_budgets_keep_api_workers_and_pgbouncer_serving_through_a_drain() -> None:
    budgets = _kind("PodDisruptionBudget")
    for name in ("miles-api", "miles-worker", "miles-pgbouncer"):
        labels = _kind("Deployment")[name]["spec"]["template"]["metadata"]["labels"]
        assert budgets[name]["spec"]["maxUnavailable"] == 1
        assert budgets[name]["spec"]["selector"]["matchLabels"].items() <= labels.items(), name


def test_each_role_is_given_the_time_to_stop_cleanly() -> None:
    pods, services = _pods(), _compose()["services"]
    api = pods["miles-api"]
    assert api["containers"][0]["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "10"]
    assert api["terminationGracePeriodSeconds"] >= 10 + 20  # preStop + `miles serve`'s drain
    assert api["terminationGracePeriodSeconds"] == 40
    assert pods["miles-worker"]["terminationGracePeriodSeconds"] == 600  # a chunk or a saga step finishes
    assert pods["miles-beat"]["terminationGracePeriodSeconds"] == 30
    pgbouncer = pods["miles-pgbouncer"]["containers"][0]
    assert "kill -INT 1" in " ".join(pgbouncer["lifecycle"]["preStop"]["exec"]["command"])
    assert services["api"]["stop_grace_period"] == "35s"
    assert services["worker"]["stop_grace_period"] == "600s"
    assert services["pgbouncer"]["stop_signal"] == "SIGINT"


def test_autoscaled_deployments_leave_their_count_to_the_autoscaler() -> None:
    targets = {h["spec"]["scaleTargetRef"]["name"] for h in _kind("HorizontalPodAutoscaler").values()}
    assert targets == {"miles-api", "miles-worker"}
    for name in targets:  # a count here would be applied again by every release
        assert "replicas" not in _kind("Deployment")[name]["spec"], name


def _arg(args: list[str], option: str) -> int:
    return int(args[args.index(option) + 1])


def test_the_pools_fit_the_connection_budget_of_the_readme() -> None:
    from miles.config import Settings

    config = _config()
    assert {k.removeprefix("MILES_").lower() for k in config} <= set(Settings.model_fields), "a typo"
    assert config["MILES_DATABASE_POOLER"] == "pgbouncer"
    ini = configparser.ConfigParser(comment_prefixes=(";", "#"))
    ini.read_string((K8S / "pgbouncer.ini").read_text())
    bouncer = {k: ini["pgbouncer"][k] for k in ini["pgbouncer"]}
    assert bouncer["pool_mode"] == "transaction"
    pods, hpas, deployments = _pods(), _kind("HorizontalPodAutoscaler"), _kind("Deployment")

    api_args, worker_args = (
        pods["miles-api"]["containers"][0]["args"],
        pods["miles-worker"]["containers"][0]["args"],
    )
    api_pod = _arg(api_args, "--workers") * (
        int(config["MILES_POOL_SIZE"]) + int(config["MILES_POOL_OVERFLOW"]) + 2
    )
    worker_pod = _arg(worker_args, "--concurrency") * int(config["MILES_WORKER_POOL_SIZE"]) + 2
    assert (api_pod, worker_pod) == (24, 6)

    def most(name: str) -> int:
        return int(hpas[name]["spec"]["maxReplicas"])

    def surge(name: str) -> int:
        return int(deployments[name]["spec"]["strategy"]["rollingUpdate"]["maxSurge"])

    def scale_up(name: str) -> int:
        (policy,) = hpas[name]["spec"]["behavior"]["scaleUp"]["policies"]
        assert policy["type"] == "Pods"
        assert policy["periodSeconds"] >= 60
        return int(policy["value"])

    api, worker = "miles-api", "miles-worker"
    inits = surge(api) + scale_up(api) + surge(worker) + scale_up(worker) + 1  # + beat
    steady = most(api) * api_pod + most(worker) * worker_pod + 2
    peak = 2 * most(api) * api_pod + (2 * most(worker) + surge(worker)) * worker_pod + 2 + inits
    assert peak <= int(bouncer["max_client_conn"]) <= 1024 - int(bouncer["max_db_connections"]) - 50

    assert int(bouncer["default_pool_size"]) + int(bouncer["reserve_pool_size"]) == int(
        bouncer["max_db_connections"]
    )
    probe = dict(part.split("=", 1) for part in ini["databases"]["miles_probe"].split())
    assert probe["dbname"] == dict(part.split("=", 1) for part in ini["databases"]["miles"].split())["dbname"]
    assert probe["pool_size"] == probe["max_db_connections"]
    assert probe["reserve_pool"] == "0"
    per_bouncer = int(bouncer["max_db_connections"]) + int(probe["max_db_connections"])
    assert per_bouncer == 25
    bouncers = deployments["miles-pgbouncer"]["spec"]
    assert bouncers["strategy"]["rollingUpdate"]["maxSurge"] == 0
    servers_peak = (bouncers["replicas"] + 1) * per_bouncer  # a new one beside a draining one
    migrations = 2 + (inits - 1)  # the lock holder's two, one for each init container waiting
    superuser_reserved = 3
    assert servers_peak + migrations + superuser_reserved <= 100

    readme = (DEPLOY / "README.md").read_text()
    for figure in (api_pod, worker_pod, steady, peak, servers_peak, migrations):
        assert f"{figure}" in readme, figure
    assert f"**{steady}**" in readme
    assert f"**{peak}**" in readme


def test_compose_writes_no_credential_and_the_example_env_names_every_one() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    for line in text.splitlines():
        credentials = re.search(r"://(.*)@[\w.-]+:\d+/", line)
        if credentials:  # user:${PASSWORD:?...}, never a password written out
            assert re.fullmatch(r"\w*:\$\{\w+:\?[^}]*\}", credentials.group(1)), line
    for service in _compose()["services"].values():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET|TOKEN|_AUTH$", key):
                assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", str(value)), key
    required = set(re.findall(r"\$\{(\w+):\?", text))
    example = set(re.findall(r"^#? ?(\w+)=", (DEPLOY / ".env.example").read_text(), re.M))
    assert required
    assert required <= example
    assert "deploy/.env" in (ROOT / ".gitignore").read_text().splitlines()


def test_flower_asks_for_a_password_and_only_the_loopback_is_published() -> None:
    services = _compose()["services"]
    flower = services["flower"]
    assert flower["environment"]["FLOWER_BASIC_AUTH"].startswith("${FLOWER_BASIC_AUTH:?")
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), name


def test_compose_checks_each_role_with_its_own_health_check() -> None:
    services = _compose()["services"]
    assert {"postgres", "redis", "pgbouncer", "migrate", "api", "worker", "beat", "flower"} <= set(services)
    assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"])
    assert "inspect ping" in " ".join(services["worker"]["healthcheck"]["test"])
    for name in ("postgres", "redis"):
        assert "healthcheck" in services[name], name
    for name in ("beat", "migrate"):  # no port of theirs answers HTTP
        assert "healthcheck" not in services[name], name
    for name in ("api", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_the_image_installs_the_hashed_lock_and_leaves_health_checks_to_the_roles() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert not re.search(r"^HEALTHCHECK", dockerfile, re.M)
    assert re.search(r"pip install --require-hashes --no-deps -r requirements\.lock$", dockerfile, re.M)
    assert re.search(r"pip install --no-deps --no-build-isolation \.$", dockerfile, re.M)
    assert re.search(r"^USER 10001", dockerfile, re.M)
    assert dockerfile.count("\nFROM ") >= 2


def test_the_probes_paths_answer_on_the_api(client: TestClient) -> None:
    api = _pods()["miles-api"]["containers"][0]
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        path = api[probe]["httpGet"]["path"]
        assert client.get(path).status_code == 200, path


def _pins(path: Path) -> dict[str, str]:
    """name -> version of a lock (pip-compile format: markers after `;`, hashes on indented lines)."""
    pins = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith(("#", " ")):
            requirement = line.split(";")[0].rstrip(" \\")
            name, _, version = requirement.partition("==")
            assert version, f"{path.name}: {line!r} is not pinned with =="
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return pins


def _requirement_names(requirements: list[str]) -> set[str]:
    names = {re.sub(r"[-_.]+", "-", re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0]).lower() for r in requirements}
    return names - {"miles"}  # `miles[embedded]`: the project's own extra


def test_every_dependency_is_pinned_in_the_lock_files_ci_and_the_image_install_from() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime, dev = _pins(ROOT / "requirements.lock"), _pins(ROOT / "requirements-dev.lock")
    assert _requirement_names(project["dependencies"]) | {"setuptools", "wheel"} <= set(runtime)
    assert _requirement_names(project["optional-dependencies"]["dev"]) <= set(dev)
    assert _requirement_names(project["optional-dependencies"]["embedded"]) <= set(dev) - set(runtime)
    shared = {
        name: pin for name, pin in runtime.items() if name not in {"setuptools", "wheel"}
    }  # the build's
    assert {name: dev.get(name) for name in shared} == shared, "the two lock files disagree"
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    unhashed = [
        line
        for line, after in zip(lines, [*lines[1:], ""], strict=True)
        if line
        and not line.startswith(("#", " "))
        and not (line.endswith(" \\") and after.lstrip().startswith("--hash=sha256:"))
    ]
    assert not unhashed, f"--require-hashes refuses pins without hashes: {unhashed}"
    assert "-c requirements-dev.lock" in (ROOT / ".ci" / "run").read_text()
