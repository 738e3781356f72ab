"""The notification service as a real process (N-1, N-3, N-4): a consume through the HTTP API
reaches a local SMS gateway once, with the points the points service reports for it, and a
bulk campaign to 10,000 seeded members survives a kill -9 of the service midway with each
consenting member messaged exactly once.

The in-process notification service of the test session stops sending (its timers) while
these processes run on the same database and vhost; it still answers RPC and handles events
beside them, as a second instance would. Only the real processes send, and the one killed
is one of them. The seeded segment has 10,000 members of whom one in ten
consents: the send is 1,000 messages, so the suite stays short on a shared machine.
"""

from __future__ import annotations

import ctypes
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from eventlet.event import Event as GreenEvent
from nameko.timer import Timer
from sqlalchemy import Boolean, DateTime, String, column, func, insert, table
from sqlalchemy.dialects.postgresql import JSONB

from services.kit import crypto
from tests.helpers import admin_engine, ok, process_environment, raw_rows, wait_for
from tests.notification_helpers import SmsGateway
from tests.wallet_helpers import WASH, wallet_world

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
MEMBERS = 10_000
SIGNATURE = "洗车宝"
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: killed when the test process dies, even by a timeout that skips `finally`
    (a stray instance would go on claiming this database's messages, its broker vhost gone)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _start(settings, log_dir: Path, name: str) -> subprocess.Popen:
    log = open(log_dir / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
    environment = process_environment(settings, HUIYUAN_LOG_JSON="0", HUIYUAN_MAX_WORKERS="4")
    command = [sys.executable, "-m", "services.kit.runner", "notification"]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=log,
        preexec_fn=_die_with_parent,  # noqa: PLW1509
    )


def _seed(settings, chain_id: str, tag: str) -> dict[str, bool]:
    """MEMBERS members with phones, one in ten consenting to marketing, written as the member
    service keeps them (phone sealed, keyed hash) and as the notification service's copy of them."""
    codec = crypto.codec(settings.pii_key, settings.pii_index_key)
    consent = {f"139{n:08d}": n % 10 == 0 for n in range(MEMBERS)}
    members, copies = [], []
    for n, (phone, yes) in enumerate(consent.items()):
        member_id = str(uuid.uuid4())
        members.append(
            {
                "id": member_id,
                "chain_id": chain_id,
                "member_no": f"B{n:08d}",
                "name": f"会员{n}",
                "phone_cipher": codec.encrypt(chain_id, "phone", phone),
                "phone_index": codec.index(chain_id, "phone", phone),
                "phone_last4_index": codec.index(chain_id, "phone_last4", phone[-4:]),
                "gender": "unknown",
                "tags": [tag],
                "notes": "",
                "marketing_consent": yes,
                "cumulative_spend": 0,
                "lifetime_points": 0,
            }
        )
        copies.append({"member_id": member_id, "chain_id": chain_id, "tags": [tag], "marketing_consent": yes})
    member_table = table(
        "members", *(column(k) for k in members[0] if k != "tags"), column("tags", JSONB), schema="member"
    )
    copy_table = table(
        "members",
        column("member_id", String),
        column("chain_id", String),
        column("tags", JSONB),
        column("marketing_consent", Boolean),
        column("as_of", DateTime),
        schema="notification",
    )
    engine = admin_engine(settings)
    try:
        with engine.begin() as conn:
            conn.execute(insert(member_table), members)
            conn.execute(insert(copy_table).values(as_of=func.now()), copies)
    finally:
        engine.dispose()
    return consent


def _consume_ms(w, card_no: str, times: int = 8) -> float:
    """The median time of a consume through the HTTP API, in ms."""
    took = []
    for _ in range(times):
        began = time.monotonic()
        ok(w.consume(card_no, [WASH]), 201)
        took.append((time.monotonic() - began) * 1000)
    return statistics.median(took)


def _statuses(settings, campaign_id: str) -> dict[str, int]:
    """The campaign's messages by status, read from the tables (the progress the API reports; read
    here so a moment of the shared database's connection limit does not end the wait)."""
    sql = "SELECT status, count(*) AS n FROM notification.messages WHERE campaign_id = :c GROUP BY status"
    return {r["status"]: r["n"] for r in raw_rows(settings, sql, c=campaign_id)}


@pytest.mark.timeout(300)
def test_real_processes_send_once_per_consume_and_once_per_member_of_a_bulk_send_across_a_kill(
    admin, services, settings, tmp_path
):
    gateway = SmsGateway().start()
    w = wallet_world(admin)
    base = w.world.path("/notifications")
    ok(w.hq.patch(w.world.path("/settings"), {"sms_signature": SIGNATURE}))
    provider = {
        "sms_provider": "http",
        "http_base_url": gateway.url,
        "http_account": gateway.account,
        "http_secret": gateway.secret,
        "http_timeout_ms": 1000,
        "retry_base_ms": 100,
        "marketing_per_minute": 60000,
    }
    ok(w.hq.patch(f"{base}/provider", provider))
    timers = [e for e in services.service_map["notification"].entrypoints if isinstance(e, Timer)]
    for timer in timers:  # only the real processes below send (the in-process one still answers and handles)
        timer.stop()
    processes: list[subprocess.Popen] = []
    try:
        processes.append(_start(settings, tmp_path, "notification-a"))
        card = w.card()
        ok(w.recharge(card["card_no"], 100000), 201)
        ok(w.consume(card["card_no"], [WASH]), 201)
        phone_of = "SELECT 1 FROM notification.messages WHERE member_id = :m AND kind = 'consume' AND status = 'sent'"
        wait_for(lambda: raw_rows(settings, phone_of, m=card["member_id"]), 30)
        consumes = [r for r in gateway.requests if "消费108.00元" in r.body["text"]]
        assert len(consumes) == 1 and consumes[0].body["text"].startswith(f"【{SIGNATURE}】")
        # P-2 with the chain's default rules: 108 yuan paid in cash x 1 point per yuan, a new member's first points
        assert "消费108.00元，本次积分108分，积分余额108分，当前余额942.00元。" in consumes[0].body["text"]
        assert consumes[0].signed

        buyer = w.card()["card_no"]
        ok(w.recharge(buyer, 500000), 201)
        quiet_ms = _consume_ms(w, buyer)  # the money path before the bulk send ...

        tag = f"bulk{uuid.uuid4().hex[:8]}"
        consent = _seed(settings, w.world.id, tag)
        body = {"name": "双十一", "text": "{member_name}：{chain_name}双十一会员专享", "segment": {"tags": [tag]}}
        campaign = ok(w.hq.post(f"{base}/campaigns", body), 201)
        started = time.monotonic()
        accepted = w.hq.post(f"{base}/campaigns/{campaign['id']}/sends", {})
        assert accepted.status_code == 202 and time.monotonic() - started < 2.0, accepted.text
        path = f"{base}/campaigns/{campaign['id']}"
        consenting = sum(consent.values())
        busy_ms = _consume_ms(w, buyer)  # ... and during it
        wait_for(lambda: _statuses(settings, campaign["id"]).get("sent", 0) >= consenting // 4, 120, interval=0.5)
        processes[0].send_signal(signal.SIGKILL)  # midway, with messages in flight
        processes[0].wait(timeout=10)
        at_kill = _statuses(settings, campaign["id"])
        processes.append(_start(settings, tmp_path, "notification-b"))
        wait_for(lambda: _statuses(settings, campaign["id"]) == {"sent": consenting}, 180, interval=1.0)
        elapsed = time.monotonic() - started
        done = wait_for(lambda: (c := w.hq.get(path)).status_code == 200 and c.json["status"] == "done" and c.json, 10)

        assert done["total"] == consenting and done["progress"]["sent"] == consenting
        assert at_kill.get("sent", 0) < consenting  # it was killed midway
        delivered = {}
        for received in gateway.requests:
            if received.body["text"].endswith("双十一会员专享") and received.status == 200:
                delivered.setdefault(received.body["to"], set()).add(received.body["reference"])
        assert {phone for phone, yes in consent.items() if yes} == set(delivered)  # never the others
        assert all(len(references) == 1 for references in delivered.values())  # each exactly once
        repeats = sum(1 for r in gateway.requests if r.body["text"].endswith("会员专享")) - consenting
        print(f"\nbulk: {consenting} sent in {elapsed:.1f} s, {at_kill} at the kill, {repeats} repeats dropped")
        print(f"consume median before the bulk send {quiet_ms:.0f} ms, during it {busy_ms:.0f} ms")
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)
        gateway.stop()
        for timer in timers:  # the in-process service sends again, for the tests after this one
            timer.should_stop, timer.worker_complete = GreenEvent(), GreenEvent()
            timer.start()
