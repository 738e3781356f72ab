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
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from nameko.standalone.events import event_dispatcher

from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.helpers import process_environment, raw_rows

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


def test_sign_in_create_chain_store_cashier_and_cashier_signs_in(running_system, provisioned):
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

    walk_points(provisioned, api, chain, token, cashier_token, store["id"])

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


def walk_points(settings, api: str, chain: dict, admin_token: str, cashier_token: str, store_id: str) -> None:
    """Issue 12's rules through HTTP with the real processes: a Gold member (1.5) paying 200 yuan
    from cash in a double-points promotion earns 600 at base rate 1; a refund of half reverses
    300; the same consumed event delivered twice earns once; half paid from bonus earns half."""
    chain_path = f"{api}/chains/{chain['id']}"
    rules = {"base_rate": "1", "tier_multipliers": [{"tier_code": "GOLD", "multiplier": "1.5"}]}
    status, body = http("POST", f"{chain_path}/points/rules", rules, admin_token, "e2e-p1")
    assert status == 200, body
    local_today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    double = {"name": "Double points", "starts_on": local_today, "ends_on": local_today, "multiplier": "2"}
    status, promotion = http("POST", f"{chain_path}/points/promotions", double, admin_token, "e2e-p2")
    assert status == 201, promotion

    def card_of(phone: str, tier: str, key: str) -> str:
        status, member = http("POST", f"{chain_path}/members", {"name": "P", "phone": phone}, cashier_token, key)
        assert status == 201, member
        status, card = http(
            "POST", f"{chain_path}/members/{member['id']}/cards", {"tier_code": tier}, cashier_token, key + "c"
        )
        assert status == 201, card
        return card["card_no"]

    def points(card_no: str, want: int) -> None:
        deadline = time.monotonic() + 20
        while True:
            status, shown = http("GET", f"{chain_path}/points/cards/{card_no}/balance", token=cashier_token)
            if status == 200 and shown["balance"] == want:
                return
            assert time.monotonic() < deadline, (status, shown)
            time.sleep(0.3)

    gold = card_of("13900002222", "GOLD", "e2e-p3")
    recharge = {"card_no": gold, "store_id": store_id, "amount": 30000, "payment_method": "cash"}
    assert http("POST", f"{chain_path}/wallet/recharges", recharge, cashier_token, "e2e-p4")[0] == 201
    # Gold's 10 % off: 2 x 111.11 yuan -> 200.00 yuan due, all from cash
    wash = {"item_code": "W01", "name": "Wash", "category": "wash", "quantity": 2, "unit_price": 11111}
    consume = {"card_no": gold, "store_id": store_id, "lines": [wash]}
    status, receipt = http("POST", f"{chain_path}/wallet/consumes", consume, cashier_token, "e2e-p5")
    assert (status, receipt["amount_due"], receipt["paid"]["cash"]) == (201, 20000, 20000), receipt
    points(gold, 600)
    refund = {"transaction_id": receipt["transaction_id"], "store_id": store_id, "reason": "half back"}
    refund["lines"] = [{"line_no": 1, "quantity": 1}]
    assert http("POST", f"{chain_path}/wallet/refunds", refund, cashier_token, "e2e-p6")[0] == 201
    points(gold, 300)
    [consumed] = raw_rows(
        settings,
        "SELECT payload FROM wallet.outbox WHERE event_type = 'consumed' AND payload->'data'->>'transaction_id' = :t",
        t=receipt["transaction_id"],
    )
    dispatch = event_dispatcher(settings.nameko_config())
    dispatch("wallet", "consumed", consumed["payload"])
    dispatch("wallet", "consumed", {**consumed["payload"], "id": str(uuid.uuid4())})
    time.sleep(1.5)
    points(gold, 300)
    earns = raw_rows(
        settings,
        "SELECT points FROM points.transactions WHERE kind = 'earn' AND reference = :t",
        t=receipt["transaction_id"],
    )
    assert earns == [{"points": 600}]

    # half from bonus, with no promotion on: only the cash half earns (the chain's default)
    status, _ = http("PATCH", f"{chain_path}/points/promotions/{promotion['id']}", {"active": False}, admin_token)
    assert status == 200
    silver = card_of("13900003333", "SILVER", "e2e-p7")
    recharge = {"card_no": silver, "store_id": store_id, "amount": 10000, "payment_method": "cash"}
    assert http("POST", f"{chain_path}/wallet/recharges", recharge, cashier_token, "e2e-p8")[0] == 201
    manager = {"username": f"m{uuid.uuid4().hex[:8]}", "display_name": "Manager", "role": "store_manager"}
    manager.update(store_id=store_id, password="manager-pass-1")
    assert http("POST", f"{chain_path}/staff", manager, admin_token, "e2e-p11")[0] == 201
    signing = {"chain": chain["code"], "username": manager["username"], "password": manager["password"]}
    manager_token = http("POST", f"{api}/auth/sign-in", signing)[1]["token"]
    bonus = {"card_no": silver, "store_id": store_id, "amount": 10000, "reason": "welcome"}
    status, body = http("POST", f"{chain_path}/wallet/bonus-grants", bonus, manager_token, "e2e-p9")
    assert status == 201, body
    # Silver's 5 % off: 210.53 yuan -> 200.00 due, 100 from cash and 100 from bonus
    wash = {"item_code": "W01", "name": "Wash", "category": "wash", "quantity": 1, "unit_price": 21053}
    status, receipt = http(
        "POST",
        f"{chain_path}/wallet/consumes",
        {**consume, "card_no": silver, "lines": [wash]},
        cashier_token,
        "e2e-p10",
    )
    assert (status, receipt["paid"]["cash"], receipt["paid"]["bonus"]) == (201, 10000, 10000), receipt
    points(silver, 100)


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
