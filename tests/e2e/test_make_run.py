"""The system as `make run` starts it: real processes, real HTTP.

Runs `deploy/run_all.py` (every service runner and gunicorn) against this
test run's database and vhost on a free port, walks the README's first steps
with plain HTTP, kills a service with SIGKILL and expects it back, then stops
it with Ctrl-C (SIGINT) and expects a clean exit.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.helpers import process_environment

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, token=None, key=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key:
        headers["Idempotency-Key"] = key
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as failure:
        return failure.code, json.loads(failure.read() or b"null")


@pytest.fixture
def running_system(provisioned):
    port = free_port()
    env = process_environment(
        provisioned,
        HUIYUAN_GATEWAY_BIND=f"127.0.0.1:{port}",
        HUIYUAN_GATEWAY_WORKERS="2",
    )
    process = subprocess.Popen(
        [sys.executable, "deploy/run_all.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if http("GET", f"{base}/ready")[0] == 200:
                break
        except OSError:
            pass
        assert process.poll() is None, process.stdout.read()
        time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("the system did not become ready in 60 s")
    yield base, process
    if process.poll() is None:
        # SIGINT first: a SIGKILLed supervisor would leave its children (own sessions) running
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()


def test_sign_in_create_chain_store_cashier_and_cashier_signs_in(running_system):
    base, process = running_system
    api = f"{base}/api/v1"
    status, signed_in = http("POST", f"{api}/auth/sign-in", {"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD})
    assert status == 200, signed_in
    token = signed_in["token"]
    chain_code = f"E2E{uuid.uuid4().hex[:6]}"
    status, chain = http("POST", f"{api}/chains", {"code": chain_code, "name": "E2E"}, token, "e2e-1")
    assert status == 201, chain
    status, store = http(
        "POST",
        f"{api}/chains/{chain['id']}/stores",
        {"code": "S1", "name": "Store 1", "kind": "direct"},
        token,
        "e2e-2",
    )
    assert status == 201, store
    username = f"e2e{uuid.uuid4().hex[:6]}"
    status, cashier = http(
        "POST",
        f"{api}/chains/{chain['id']}/staff",
        {
            "username": username,
            "display_name": "Cashier",
            "role": "cashier",
            "store_id": store["id"],
            "password": "cashier-pass-1",
        },
        token,
        "e2e-3",
    )
    assert status == 201, cashier
    # a consume line's codes must be in the chain's dictionaries (S-2)
    status, _ = http("POST", f"{api}/chains/{chain['id']}/categories", {"code": "wash", "name": "Wash"}, token, "e2e-c")
    assert status == 201
    item = {"code": "W01", "name": "Wash", "category_code": "wash", "price": 12000}
    status, _ = http("POST", f"{api}/chains/{chain['id']}/items", item, token, "e2e-i")
    assert status == 201
    # staff sign in at their chain, by its code
    signing = {"chain": chain_code, "username": username, "password": "cashier-pass-1"}
    status, session = http("POST", f"{api}/auth/sign-in", signing)
    assert status == 200 and session["principal"]["store_ids"] == [store["id"]]
    status, body = http("POST", f"{api}/chains", {"code": "X", "name": "X"}, session["token"], "e2e-4")
    assert (status, body["error"]["code"]) == (403, "forbidden")

    # the cashier at work: enrol, issue a Silver card, recharge 1000 yuan, ring up a 120-yuan wash
    cashier_token, chain_path = session["token"], f"{api}/chains/{chain['id']}"
    status, member = http(
        "POST", f"{chain_path}/members", {"name": "E2E", "phone": "13900001111"}, cashier_token, "e2e-5"
    )
    assert status == 201, member
    status, card = http(
        "POST", f"{chain_path}/members/{member['id']}/cards", {"tier_code": "SILVER"}, cashier_token, "e2e-6"
    )
    assert status == 201, card
    recharge = {"card_no": card["card_no"], "store_id": store["id"], "amount": 100000, "payment_method": "cash"}
    status, paid_in = http("POST", f"{chain_path}/wallet/recharges", recharge, cashier_token, "e2e-7")
    assert (status, paid_in["bonus"]) == (201, 5000), paid_in
    wash = {"item_code": "W01", "name": "Wash", "category": "wash", "quantity": 1, "unit_price": 12000}
    consume = {"card_no": card["card_no"], "store_id": store["id"], "lines": [wash]}
    status, receipt = http("POST", f"{chain_path}/wallet/consumes", consume, cashier_token, "e2e-8")
    # Silver's default 5 % off: 12000 -> 11400 fen, from cash first
    assert status == 201, receipt
    assert (receipt["amount_due"], receipt["balances"]["cash"]) == (11400, 100000 - 11400)

    # a service killed outright is restarted by the supervisor, and the system is whole again
    [wallet] = [pid for pid, argv in children(process.pid) if argv[-2:] == ["services.kit.runner", "wallet"]]
    os.kill(wallet, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        restarted = [pid for pid, argv in children(process.pid) if argv[-1:] == ["wallet"] and pid != wallet]
        if restarted and http("GET", f"{base}/ready")[0] == 200:
            break
        time.sleep(0.5)
    else:
        pytest.fail("the killed wallet service was not back within 30 s")
    status, receipt = http("POST", f"{chain_path}/wallet/consumes", consume, cashier_token, "e2e-9")
    assert status == 201, receipt

    process.send_signal(signal.SIGINT)  # what Ctrl-C does
    output, _ = process.communicate(timeout=40)
    assert process.returncode == 0, output
    assert "Huiyuan is ready at" in output
    assert "wallet (pid" in output and "exited unexpectedly with status -9" in output
    assert "restarted wallet" in output


def children(parent: int) -> list[tuple[int, list[str]]]:
    """(pid, argv) of the processes whose parent is `parent`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().decode().split("\0")[:-1]
        except OSError:
            continue
        # the command name in parentheses may hold spaces: the fields after it are fixed
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            found.append((int(entry.name), argv))
    return found
