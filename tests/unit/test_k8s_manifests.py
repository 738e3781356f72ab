"""The Kubernetes manifests render and hold offline (deploy/k8s_check.py): every object against the
API's schemas and the operators' vendored CRDs, and the deployment's own rules. Each rule is also
shown to fail on a manifest broken the way it guards against."""

from __future__ import annotations

import copy

import pytest

from deploy import k8s_check
from services.kit import config

RECOVERY = k8s_check.K8S_DIR / "recovery" / "cluster-pitr.yaml"


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    return {overlay: k8s_check.render(overlay) for overlay in k8s_check.OVERLAYS}


def one(objects: list[dict], kind: str, name: str) -> dict:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def container(objects: list[dict], deployment: str) -> dict:
    return one(objects, "Deployment", deployment)["spec"]["template"]["spec"]["containers"][0]


def test_the_checker_knows_the_kits_services():
    assert k8s_check.SERVICES == config.SERVICES


@pytest.mark.parametrize("overlay", k8s_check.OVERLAYS)
def test_every_overlay_renders_and_every_object_is_valid(rendered, overlay):
    assert k8s_check.findings(rendered[overlay], overlay) == []


@pytest.mark.parametrize("overlay", k8s_check.OVERLAYS)
def test_a_deployment_per_service_and_the_gateway_with_a_pdb_each(rendered, overlay):
    objects = rendered[overlay]
    names = {o["metadata"]["name"] for o in objects if o["kind"] == "Deployment"}
    assert names == {f"huiyuan-{s}" for s in config.SERVICES} | {"huiyuan-gateway"}
    assert {o["metadata"]["name"] for o in objects if o["kind"] == "PodDisruptionBudget"} == names
    namespace = {"dev": "huiyuan-dev", "production": "huiyuan"}[overlay]
    assert {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"} == {namespace}


def test_production_state_runs_on_the_operators(rendered):
    objects = rendered["production"]
    assert one(objects, "RabbitmqCluster", "huiyuan-rabbitmq")["spec"]["replicas"] == 3
    cluster = one(objects, "Cluster", "huiyuan-pg")["spec"]
    assert cluster["instances"] == 2  # a primary and a replica
    assert cluster["backup"]["barmanObjectStore"]["destinationPath"].startswith("s3://")
    assert one(objects, "ScheduledBackup", "huiyuan-pg-nightly")["spec"]["cluster"]["name"] == "huiyuan-pg"
    pooler = one(objects, "Pooler", "huiyuan-pg-pooler-rw")["spec"]
    assert (pooler["pgbouncer"]["poolMode"], pooler["cluster"]["name"], pooler["type"]) == (
        "transaction",
        "huiyuan-pg",
        "rw",
    )
    config_map = next(o for o in objects if o["kind"] == "ConfigMap")
    assert config_map["data"]["HUIYUAN_DB_HOST"] == "huiyuan-pg-pooler-rw"  # the services go through PgBouncer
    job_env = {
        e["name"]: e for e in one(objects, "Job", "huiyuan-migrate")["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert job_env["HUIYUAN_DB_HOST"]["value"] == "huiyuan-pg-rw"  # DDL straight to the primary
    hpas = {o["spec"]["scaleTargetRef"]["name"]: o["spec"] for o in objects if o["kind"] == "HorizontalPodAutoscaler"}
    assert {name: (s["minReplicas"], s["maxReplicas"]) for name, s in hpas.items()} == {
        "huiyuan-wallet": (2, 6),
        "huiyuan-gateway": (2, 4),
    }
    assert one(objects, "Deployment", "huiyuan-member")["spec"]["replicas"] == 2
    assert not [o for o in objects if o["kind"] == "Secret"]


def test_dev_is_small_and_brings_throwaway_secrets(rendered):
    objects = rendered["dev"]
    assert one(objects, "Cluster", "huiyuan-pg")["spec"]["instances"] == 1
    assert "backup" not in one(objects, "Cluster", "huiyuan-pg")["spec"]
    assert not [o for o in objects if o["kind"] == "ScheduledBackup"]
    assert one(objects, "RabbitmqCluster", "huiyuan-rabbitmq")["spec"]["replicas"] == 1
    secrets = {o["metadata"]["name"].rsplit("-", 1)[0]: set(o["data"]) for o in objects if o["kind"] == "Secret"}
    assert secrets["huiyuan-db-passwords"] == {f"HUIYUAN_DB_PASSWORD_{s.upper()}" for s in config.SERVICES}
    assert secrets["huiyuan-pii"] == {"HUIYUAN_PII_KEY", "HUIYUAN_PII_INDEX_KEY"}


def test_graceful_shutdown_outlasts_a_call_and_the_gateway_drains_first(rendered):
    objects = rendered["production"]
    for service in config.SERVICES:
        pod = one(objects, "Deployment", f"huiyuan-{service}")["spec"]["template"]["spec"]
        # a worker lasts at most the RPC deadline (10 s) or a statement timeout (30 s)
        assert pod["terminationGracePeriodSeconds"] >= 40
    gateway = one(objects, "Deployment", "huiyuan-gateway")["spec"]["template"]["spec"]
    assert gateway["containers"][0]["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "10"]
    # 10 s out of the Service, then gunicorn's graceful_timeout of 15 s
    assert gateway["terminationGracePeriodSeconds"] >= 10 + 15


# --- each rule fails on what it guards against -------------------------------------------------


def broken(rendered: dict, change) -> list[str]:
    objects = copy.deepcopy(rendered["production"])
    change(objects)
    return k8s_check.findings(objects, "production")


def test_a_deployment_without_probes_is_refused(rendered):
    def drop(objects):
        del container(objects, "huiyuan-wallet")["livenessProbe"]
        del container(objects, "huiyuan-gateway")["readinessProbe"]

    assert sorted(broken(rendered, drop)) == [
        "Deployment/huiyuan-gateway container gateway: no readinessProbe",
        "Deployment/huiyuan-wallet container wallet: no livenessProbe",
    ]


def test_a_probe_on_an_undeclared_port_is_refused(rendered):
    def move(objects):
        container(objects, "huiyuan-org")["readinessProbe"]["httpGet"]["port"] = "health"

    assert broken(rendered, move) == [
        "Deployment/huiyuan-org container org: readinessProbe on a port the container does not declare"
    ]


def test_a_deployment_without_limits_is_refused(rendered):
    def drop(objects):
        del container(objects, "huiyuan-points")["resources"]["limits"]["memory"]

    assert broken(rendered, drop) == ["Deployment/huiyuan-points container points: no memory in resources.limits"]


def test_a_deployment_without_a_pdb_is_refused(rendered):
    def drop(objects):
        objects.remove(one(objects, "PodDisruptionBudget", "huiyuan-gift"))

    assert broken(rendered, drop) == ["Deployment/huiyuan-gift: no PodDisruptionBudget selects its pods"]


def test_an_hpa_that_targets_nothing_is_refused(rendered):
    def retarget(objects):
        one(objects, "HorizontalPodAutoscaler", "huiyuan-wallet")["spec"]["scaleTargetRef"]["name"] = "huiyuan-walet"

    assert broken(rendered, retarget) == [
        "HorizontalPodAutoscaler/huiyuan-wallet: targets Deployment/huiyuan-walet, which is not rendered",
        "Deployment/huiyuan-wallet: no HorizontalPodAutoscaler",
    ]


def test_a_misspelt_field_is_refused_by_the_kubernetes_schema(rendered):
    def typo(objects):
        one(objects, "Deployment", "huiyuan-member")["spec"]["template"]["spec"]["terminationGracePeriod"] = 45

    problems = broken(rendered, typo)
    assert len(problems) == 2  # once per Kubernetes version
    assert all(p.startswith("Deployment/huiyuan-member: Kubernetes 1.") for p in problems)
    assert all("'terminationGracePeriod' was unexpected" in p for p in problems)


def test_the_operators_kinds_are_checked_against_their_crds(rendered):
    def wrong(objects):
        one(objects, "Cluster", "huiyuan-pg")["spec"]["instance"] = 2  # not a field: the API would drop it
        one(objects, "Pooler", "huiyuan-pg-pooler-rw")["spec"]["pgbouncer"]["poolMode"] = "statement-ish"
        one(objects, "RabbitmqCluster", "huiyuan-rabbitmq")["spec"]["replicas"] = "three"
        one(objects, "ScheduledBackup", "huiyuan-pg-nightly")["spec"]["method"] = "pg_dump"

    problems = sorted(broken(rendered, wrong))
    assert len(problems) == 4
    assert problems[0].startswith("Cluster/huiyuan-pg: spec: Additional properties are not allowed ('instance'")
    assert problems[1] == (
        "Pooler/huiyuan-pg-pooler-rw: spec.pgbouncer.poolMode: 'statement-ish' is not one of ['session', 'transaction']"
    )
    assert problems[2] == "RabbitmqCluster/huiyuan-rabbitmq: spec.replicas: 'three' is not of type 'integer'"
    assert problems[3].startswith("ScheduledBackup/huiyuan-pg-nightly: spec.method: 'pg_dump' is not one of")


def test_a_service_given_another_services_password_is_refused(rendered):
    def leak(objects):
        env = container(objects, "huiyuan-wallet")["env"]
        env.append({k: (v.replace("WALLET", "MEMBER") if isinstance(v, str) else v) for k, v in env[0].items()})
        env[-1]["valueFrom"] = {"secretKeyRef": {"name": "huiyuan-db-passwords", "key": "HUIYUAN_DB_PASSWORD_MEMBER"}}

    passwords = "['HUIYUAN_DB_PASSWORD_MEMBER', 'HUIYUAN_DB_PASSWORD_WALLET']"
    assert broken(rendered, leak) == [f"Deployment/huiyuan-wallet: given database passwords {passwords}"]


def test_a_secret_or_key_nobody_provides_is_refused(rendered):
    def unknown(objects):
        env = container(objects, "huiyuan-notification")["env"]
        env[1]["valueFrom"]["secretKeyRef"]["name"] = "huiyuan-keys"
        env[2]["valueFrom"]["secretKeyRef"]["key"] = "PII_INDEX"

    assert broken(rendered, unknown) == [
        "Deployment/huiyuan-notification: reads Secret huiyuan-keys, which is neither rendered nor provided",
        "Deployment/huiyuan-notification: reads key PII_INDEX of Secret huiyuan-pii, which has none",
    ]


def test_a_secret_with_values_in_production_is_refused(rendered):
    def commit_keys(objects):
        metadata = {"name": "huiyuan-pii", "namespace": "huiyuan"}
        data = {"HUIYUAN_PII_KEY": "a2V5", "HUIYUAN_PII_INDEX_KEY": "a2V5"}
        objects.append({"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "data": data})

    assert broken(rendered, commit_keys) == [
        "Secret/huiyuan-pii: rendered with its values; production secrets never live in the repo"
    ]


def test_a_config_map_that_is_not_rendered_is_refused(rendered):
    def rename(objects):
        container(objects, "huiyuan-reporting")["envFrom"][0]["configMapRef"]["name"] = "huiyuan-settings"

    assert broken(rendered, rename) == [
        "Deployment/huiyuan-reporting: reads ConfigMap huiyuan-settings, which is not rendered"
    ]


def test_a_setting_no_code_reads_is_refused(rendered):
    def typo(objects):
        next(o for o in objects if o["kind"] == "ConfigMap")["data"]["HUIYUAN_MAX_WORKER"] = "10"

    assert broken(rendered, typo) == ["ConfigMap/huiyuan-config: HUIYUAN_MAX_WORKER is read by no code"]


def test_the_point_in_time_recovery_cluster_is_valid_and_reads_productions_archive(rendered):
    (recovery,) = [o for o in k8s_check.yaml.safe_load_all(RECOVERY.read_text(encoding="utf-8")) if o]
    assert k8s_check.schema_findings([recovery]) == []
    production = one(rendered["production"], "Cluster", "huiyuan-pg")["spec"]["backup"]["barmanObjectStore"]
    (source,) = recovery["spec"]["externalClusters"]
    assert recovery["spec"]["bootstrap"]["recovery"]["source"] == source["name"] == "huiyuan-pg"
    for field in ("destinationPath", "s3Credentials"):
        assert source["barmanObjectStore"][field] == production[field]
    recovery["spec"]["bootstrap"]["recovery"]["recoveryTarget"]["targetTim"] = "2026-11-25 14:30:00+08:00"
    assert k8s_check.schema_findings([recovery]) != []
