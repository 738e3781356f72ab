"""What the Kubernetes manifests count on when a pod stops (deploy/k8s/, README "Deploying"): on
SIGTERM a real service process stops taking messages, finishes what it took, and exits 0 well
within its terminationGracePeriodSeconds; what it had not taken stays on the queue for the
next instance, so no call is lost."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from nameko.exceptions import UnknownService
from nameko.standalone.rpc import ClusterRpcProxy

from deploy import k8s_check
from tests.conftest import _rabbitmqctl
from tests.helpers import process_environment

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
CALLS = 1000


@pytest.fixture
def own_vhost(provisioned):
    vhost = f"huiyuan_stop_{uuid.uuid4().hex[:8]}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    yield replace(provisioned, amqp_uri=provisioned.amqp_uri.rsplit("/", 1)[0] + "/" + vhost)
    _rabbitmqctl("delete_vhost", vhost)


def _queued(vhost: str, queue: str) -> int:
    listing = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name", "messages"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    counts = dict(line.split("\t") for line in listing.splitlines() if "\t" in line)
    return int(counts.get(queue, 0))


def _until_consuming(rpc, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            rpc.wallet.health()
            return
        except UnknownService:  # no consumer on rpc-wallet yet: the process is still starting
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_a_stopped_wallet_finishes_its_work_and_leaves_the_rest_queued(own_vhost, tmp_path):
    grace = next(
        d["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        for d in k8s_check.render("production")
        if d["kind"] == "Deployment" and d["metadata"]["name"] == "huiyuan-wallet"
    )
    environment = process_environment(own_vhost, HUIYUAN_LOG_JSON="0")
    processes = []

    def start() -> subprocess.Popen:
        log = open(tmp_path / f"wallet-{len(processes)}.log", "w")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [sys.executable, "-m", "services.kit.runner", "wallet"], cwd=ROOT, env=environment, stdout=log, stderr=log
        )
        processes.append(process)
        return process

    try:
        first = start()
        config = {"AMQP_URI": own_vhost.amqp_uri, "serializer": "json"}
        with ClusterRpcProxy(config, timeout=120) as rpc:
            _until_consuming(rpc)
            replies = [rpc.wallet.health.call_async() for _ in range(CALLS)]
            first.send_signal(signal.SIGTERM)
            began = time.monotonic()
            assert first.wait(timeout=grace) == 0  # clean, and before Kubernetes would SIGKILL it
            stopped_after = time.monotonic() - began
            left = _queued(own_vhost.amqp_uri.rsplit("/", 1)[1], "rpc-wallet")
            assert 0 < left < CALLS, "the stopped instance took some calls and left the rest on the queue"
            start()  # the next instance (the pod that replaces it, or another replica)
            answers = [reply.result() for reply in replies]
        assert len(answers) == CALLS and all(a["database"] is True for a in answers)  # none lost
        assert stopped_after < grace
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
