"""Notification service through the gateway (N-1..N-5, S-1), with a local SMS gateway and a
real SMTP server process at the outer edge."""

from __future__ import annotations

import email.policy
import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from kombu import Connection, Exchange
from sqlalchemy import text, update
from sqlalchemy.orm import sessionmaker

from services.kit import clock
from services.kit.db import make_engine
from services.notification import scheduled
from services.notification.models import ScheduleRun
from tests.helpers import admin_engine, build_chain, error, ok, raw_rows, wait_for
from tests.notification_helpers import SmsGateway, SmtpServer
from tests.wallet_helpers import WASH, wallet_world

SIGNATURE = "洗车宝"


@pytest.fixture(scope="module")
def gateway():
    server = SmsGateway().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def world(admin, gateway):
    """A chain whose SMS go through the local gateway, retried after 0.1 s, 0.2 s ..., and whose
    washes earn double points, Silver half as much again (P-2)."""
    w = wallet_world(admin)
    ok(w.hq.patch(w.world.path("/settings"), {"sms_signature": SIGNATURE}))
    provider = {
        "sms_provider": "http",
        "http_base_url": gateway.url,
        "http_account": gateway.account,
        "http_secret": gateway.secret,
        "http_timeout_ms": 500,
        "retry_base_ms": 100,
        "max_attempts": 5,
    }
    ok(w.hq.patch(w.world.path("/notifications/provider"), provider))
    rules = {
        "base_rate": "1",
        "category_rates": [{"category": "wash", "rate": "2"}],
        "tier_multipliers": [{"tier_code": "WSILVER", "multiplier": "1.5"}],
    }
    ok(w.hq.post(w.world.path("/points/rules"), rules))
    return w


def _messages(world, **query) -> list[dict]:
    return ok(world.hq.get(world.world.path("/notifications/messages"), params=query))["items"]


def _test_send(world, to: str, kind: str = "recharge", channel: str = "sms") -> dict:
    body = {"kind": kind, "phone" if channel == "sms" else "email": to}
    return ok(world.hq.post(world.world.path("/notifications/test-sends"), body), 201)["items"][0]


def _final(world, message_id: str, timeout: float = 15.0) -> dict:
    path = world.world.path(f"/notifications/messages/{message_id}")
    return wait_for(lambda: (m := ok(world.hq.get(path)))["status"] in ("sent", "failed") and m, timeout)


def _phone() -> str:
    return f"137{uuid.uuid4().int % 10**8:08d}"


def _outbox_event(settings, schema: str, event_type: str, field: str, value: str) -> dict:
    sql = f"SELECT payload FROM {schema}.outbox WHERE event_type = :e AND payload->'data'->>'{field}' = :v"
    return raw_rows(settings, sql, e=event_type, v=value)[0]["payload"]


def _publish(settings, event: dict, exchange: str = "", routing_key: str = "") -> None:
    """Deliver `event` as the broker would: to an exchange (every subscriber), or with the default
    exchange straight to one queue (only that service's handler)."""
    with Connection(settings.amqp_uri) as conn:
        target = Exchange(exchange, type="topic", durable=True) if exchange else ""
        conn.Producer(serializer="json").publish(event, exchange=target, routing_key=routing_key)


def _to_notification(settings, event: dict) -> None:
    """Only to the notification service's handler of the event (nameko's queue name)."""
    method = {"consumed": "on_consumed", "changed": "on_points_changed"}[event["type"]]
    _publish(settings, event, routing_key=f"evt-{event['source']}-{event['type']}--notification.{method}")


def _handled(settings, event: dict) -> None:
    wait_for(lambda: raw_rows(settings, "SELECT 1 FROM notification.inbox WHERE event_id = :e", e=event["id"]), 10)


def _consume_messages(settings, consume_id: str) -> list[dict]:
    sql = "SELECT * FROM notification.messages WHERE source_key LIKE :k"
    return raw_rows(settings, sql, k=f"consume:{consume_id}%")


def _another_consume(consumed: dict, changed: dict) -> tuple[str, dict, dict]:
    """The same consume's two events as if for another consume (a fresh transaction id, fresh
    envelopes), so they can be delivered to the notification service alone in any order."""
    consume_id = str(uuid.uuid4())
    consumed = {**consumed, "id": str(uuid.uuid4()), "data": {**consumed["data"], "transaction_id": consume_id}}
    changed = {**changed, "id": str(uuid.uuid4()), "data": {**changed["data"], "reference": consume_id}}
    return consume_id, consumed, changed


@pytest.fixture(scope="module")
def consume(world, gateway, settings):
    """One consume with points (P-2 worked out below) and its SMS; its events, for the tests
    that deliver them again or in another order."""
    card = world.card()
    points = world.world.path("/points")
    grant = {"card_no": card["card_no"], "store_id": world.store_a, "kind": "gift", "points": 100, "reason": "test"}
    ok(world.manager_a.post(f"{points}/grants", grant), 201)
    ok(world.recharge(card["card_no"], 100000), 201)  # 1000 yuan + 50 bonus (Silver)
    sale = ok(world.consume(card["card_no"], [WASH]), 201)  # 120 yuan less 10 % -> 108.00
    assert sale["amount_due"] == 10800 and sale["paid"]["cash"] == 10800
    messages = wait_for(lambda: _messages(world, member_id=card["member_id"], kind="consume"), 10)
    sent = _final(world, messages[0]["id"])
    consumed = _outbox_event(settings, "wallet", "consumed", "transaction_id", sale["transaction_id"])
    changed = _outbox_event(settings, "points", "changed", "reference", sale["transaction_id"])
    return {"card": card, "sale": sale, "sent": sent, "consumed": consumed, "changed": changed}


# P-2 for this chain: 108 yuan paid in cash x base rate 1 x the wash category's 2 x Silver's 1.5
EARNED = 324
TOTAL = 100 + EARNED  # the 100 granted before
SMS_TEXT = (
    f"【{SIGNATURE}】尊敬的{{name}}，您尾号{{tail}}的会员卡于{{time}}在{{store}}消费108.00元，"
    f"本次积分{EARNED}分，积分余额{TOTAL}分，当前余额942.00元。"
)


def test_a_consume_sends_one_signed_sms_with_amount_points_and_balance_and_a_redelivery_sends_none(
    world, gateway, settings, consume
):
    sent, card = consume["sent"], consume["card"]
    assert sent["status"] == "sent" and sent["attempts"] == 1 and sent["provider"] == "http"
    received = [r for r in gateway.requests if r.body["reference"] == sent["id"]]
    assert len(received) == 1
    member = ok(world.hq.get(world.world.path(f"/members/{card['member_id']}")))
    when = datetime.fromisoformat(consume["consumed"]["occurred_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    store = world.world.stores["A"]["name"]
    # 1000 + 50 bonus - 108 = 942.00 left
    assert received[0].body["text"] == SMS_TEXT.format(
        name=member["name"], tail=card["card_no"][-4:], time=when.strftime("%Y-%m-%d %H:%M"), store=store
    )
    assert received[0].signed and received[0].path == "/sms/send"
    assert sent["provider_message_id"] == gateway.accepted[sent["id"]]
    phone = received[0].body["to"]
    assert sent["recipient"] == phone[:3] + "****" + phone[-4:]
    assert (
        raw_rows(
            settings,
            "SELECT * FROM notification.consume_points WHERE consume_id = :c",
            c=consume["sale"]["transaction_id"],
        )
        == []
    )

    # both events delivered again (as the broker may): no second message, no second SMS
    _publish(settings, consume["consumed"], "wallet.events", "consumed")
    _publish(settings, consume["changed"], "points.events", "changed")
    time.sleep(1.5)  # a second message would be sent within a dispatch round or two
    assert len(_messages(world, member_id=card["member_id"], kind="consume")) == 1
    assert len([r for r in gateway.to(phone) if "消费" in r.body["text"]]) == 1
    # found by the phone's exact number (its keyed hash), never by a part of it
    assert [m["id"] for m in _messages(world, phone=phone, kind="consume")] == [sent["id"]]
    assert _messages(world, phone=phone[:-1] + str((int(phone[-1]) + 1) % 10), kind="consume") == []


def test_a_consume_that_earns_no_points_says_0_and_the_total_without_waiting_out_the_wait(world, gateway, settings):
    card = world.card()
    grant = {"card_no": card["card_no"], "store_id": world.store_a, "kind": "gift", "points": 50, "reason": "test"}
    ok(world.manager_a.post(world.world.path("/points/grants"), grant), 201)
    bonus = {"card_no": card["card_no"], "store_id": world.store_a, "amount": 20000, "reason": "promo"}
    ok(world.manager_a.post(world.path("/bonus-grants"), bonus), 201)
    began = time.monotonic()
    sale = ok(world.consume(card["card_no"], [WASH]), 201)
    assert sale["paid"]["bonus"] == 10800  # all from the bonus balance, which earns nothing here (P-2)
    made = wait_for(lambda: _messages(world, member_id=card["member_id"], kind="consume"), 10)
    sent = _final(world, made[0]["id"])
    assert time.monotonic() - began < settings.points_wait_seconds / 2  # points answered; nothing waited it out
    assert "消费108.00元，本次积分0分，积分余额50分，当前余额92.00元。" in sent["body"]
    assert [r.body["text"] for r in gateway.requests if r.body["reference"] == sent["id"]] == [sent["body"]]


def test_the_points_answer_before_the_consume_makes_the_same_one_message(world, gateway, settings, consume):
    consume_id, consumed, changed = _another_consume(consume["consumed"], consume["changed"])
    _to_notification(settings, changed)
    _handled(settings, changed)
    kept = raw_rows(settings, "SELECT * FROM notification.consume_points WHERE consume_id = :c", c=consume_id)
    assert [(r["consumed"], r["points_earned"], r["points_total"]) for r in kept] == [(False, EARNED, TOTAL)]
    assert _consume_messages(settings, consume_id) == []  # nothing to say before the consume itself
    _to_notification(settings, consumed)
    made = wait_for(lambda: _consume_messages(settings, consume_id), 10)
    sent = _final(world, made[0]["id"])
    texts = [r.body["text"] for r in gateway.requests if r.body["reference"] == sent["id"]]
    assert texts == [consume["sent"]["body"]]  # the very text of the consume's own message, points and all
    assert f"本次积分{EARNED}分，积分余额{TOTAL}分" in texts[0]
    assert raw_rows(settings, "SELECT * FROM notification.consume_points WHERE consume_id = :c", c=consume_id) == []
    # each delivered again, in either order: still the one message
    _to_notification(settings, consumed)
    _to_notification(settings, changed)
    time.sleep(1.5)
    assert len(_consume_messages(settings, consume_id)) == 1
    assert len([r for r in gateway.requests if r.body["reference"] == sent["id"] and r.status == 200]) == 1


def test_a_consume_whose_points_never_come_goes_after_the_wait_without_the_points_part(
    world, gateway, settings, consume
):
    consume_id, consumed, changed = _another_consume(consume["consumed"], consume["changed"])
    _to_notification(settings, consumed)
    waiting = wait_for(lambda: _consume_messages(settings, consume_id), 10)[0]
    assert waiting["status"] == "waiting" and waiting["attempts"] == 0
    shown = ok(world.hq.get(world.world.path(f"/notifications/messages/{waiting['id']}")))
    assert shown["status"] == "waiting"
    wait = (waiting["next_attempt_at"] - waiting["created_at"]).total_seconds()
    assert wait == pytest.approx(settings.points_wait_seconds, abs=1)
    time.sleep(1.0)
    assert _consume_messages(settings, consume_id)[0]["status"] == "waiting"  # still, within the wait
    # the wait runs out (as if a minute had passed)
    sql = "UPDATE notification.messages SET next_attempt_at = now() WHERE id = :m"
    engine = admin_engine(settings)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), {"m": waiting["id"]})
    finally:
        engine.dispose()
    sent = _final(world, waiting["id"])
    without = consume["sent"]["body"].replace(f"，本次积分{EARNED}分，积分余额{TOTAL}分", "")
    assert sent["status"] == "sent" and sent["body"] == without and "积分" not in without
    # points answers late: the message went already, nothing more is sent
    _to_notification(settings, changed)
    _handled(settings, changed)
    time.sleep(1.0)
    assert [m["status"] for m in _consume_messages(settings, consume_id)] == ["sent"]
    assert [r.body["text"] for r in gateway.requests if r.body["reference"] == sent["id"]] == [without]


def test_500_twice_then_200_is_sent_after_three_attempts(world, gateway):
    gateway.script[:] = [(500, 0.0), (500, 0.0)]
    phone = _phone()
    sent = _final(world, _test_send(world, phone)["id"])
    assert (sent["status"], sent["attempts"]) == ("sent", 3)
    assert [r.status for r in gateway.to(phone)] == [500, 500, 200]
    assert len({r.body["reference"] for r in gateway.to(phone)}) == 1  # the same message each time
    assert sent["last_error"] is None


def test_a_slow_gateway_is_a_timeout_and_retried(world, gateway):
    gateway.script[:] = [(200, 1.5)]  # longer than the 500 ms timeout
    phone = _phone()
    sent = _final(world, _test_send(world, phone)["id"])
    assert (sent["status"], sent["attempts"]) == ("sent", 2)


def test_400_fails_at_once_with_the_reason_and_staff_can_retry(world, gateway):
    gateway.script[:] = [(400, 0.0)]
    phone = _phone()
    failed = _final(world, _test_send(world, phone)["id"])
    assert (failed["status"], failed["attempts"]) == ("failed", 1)
    assert failed["last_error"] == "HTTP 400: scripted 400"
    assert [m["id"] for m in _messages(world, status="failed", phone=phone)] == [failed["id"]]

    path = world.world.path(f"/notifications/messages/{failed['id']}/retries")
    ok(world.hq.post(path), 201)
    sent = _final(world, failed["id"])
    assert (sent["status"], sent["attempts"]) == ("sent", 2)
    assert error(world.hq.post(path), 409)["fields"] == {"message_id": ["The message is sent."]}


def test_an_email_reaches_the_smtp_server_rendered(world, tmp_path):
    smtp = SmtpServer(tmp_path / "mail").start()
    try:
        settings = {
            "email_provider": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "smtp_security": "none",
            "email_from": "notice@example.com",
        }
        ok(world.hq.patch(world.world.path("/notifications/provider"), settings))
        body = {
            "sms_text": "x",
            "email_subject": "{chain_name}：{member_name}充值",
            "email_text": "充值{amount}元，余额{balance}元",
        }
        ok(world.hq.patch(world.world.path("/notifications/kinds/recharge"), body))
        sent = _final(world, _test_send(world, "member@example.com", channel="email")["id"])
        assert sent["status"] == "sent" and sent["recipient"] == "m***@example.com"
        mail = wait_for(smtp.messages, 10)[0]
        parsed = email.message_from_bytes(bytes(mail), policy=email.policy.default)
        assert parsed["To"] == "member@example.com" and parsed["From"] == "notice@example.com"
        assert parsed["Subject"] == "洗车连锁 Wash Chain：张三充值"
        assert parsed.get_content().strip() == "充值120.00元，余额880.00元"
    finally:
        smtp.stop()
        ok(world.hq.patch(world.world.path("/notifications/kinds/recharge"), {"reset_texts": True}))
        ok(world.hq.patch(world.world.path("/notifications/provider"), {"email_provider": "record"}))


def test_a_recharge_by_email_reaches_a_member_with_an_address_rendered_and_both_sends_an_sms_too(
    world, gateway, settings, tmp_path
):
    smtp = SmtpServer(tmp_path / "mail").start()
    base = world.world.path("/notifications")
    try:
        provider = {
            "email_provider": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "smtp_security": "none",
            "email_from": "notice@example.com",
        }
        ok(world.hq.patch(f"{base}/provider", provider))
        texts = {
            "channel": "email",
            "email_subject": "{chain_name}充值提醒",
            "email_text": "充值{amount}元，余额{balance}元",
        }
        assert ok(world.hq.patch(f"{base}/kinds/recharge", texts))["channel"] == "email"
        address = f"li.{uuid.uuid4().hex[:8]}@example.com"
        card = world.card()
        ok(world.cashier_a.patch(world.world.path(f"/members/{card['member_id']}"), {"email": address}), 200)
        ok(world.recharge(card["card_no"], 100000), 201)  # 1000 yuan + 50 bonus
        made = wait_for(lambda: _messages(world, member_id=card["member_id"], kind="recharge"), 10)
        sent = _final(world, made[0]["id"])
        assert (sent["channel"], sent["status"], sent["recipient"]) == ("email", "sent", "l***@example.com")
        mail = wait_for(lambda: [m for m in smtp.messages() if m["To"] == address], 10)
        assert len(mail) == 1
        parsed = email.message_from_bytes(bytes(mail[0]), policy=email.policy.default)
        assert parsed["From"] == "notice@example.com" and parsed["Subject"] == "洗车连锁 Wash Chain充值提醒"
        assert parsed.get_content().strip() == "充值1000.00元，余额1050.00元"
        phone = ok(world.hq.get(world.world.path(f"/members/{card['member_id']}")))["phone"]
        assert len(made) == 1 and gateway.to(phone) == []  # by e-mail only
        # the address is not kept by the notification service: only its keyed hash and masked form
        row = raw_rows(settings, "SELECT t::text AS row FROM notification.messages t WHERE id = :m", m=sent["id"])
        assert address.split("@")[0] not in row[0]["row"]

        # both: one SMS and one e-mail for one recharge
        ok(world.hq.patch(f"{base}/kinds/recharge", {"channel": "both"}))
        ok(world.recharge(card["card_no"], 20000), 201)
        both = wait_for(
            lambda: (m := _messages(world, member_id=card["member_id"], kind="recharge")) and len(m) == 3 and m, 10
        )
        finals = [_final(world, m["id"]) for m in both[:2]]
        assert sorted(m["channel"] for m in finals) == ["email", "sms"] and {m["status"] for m in finals} == {"sent"}
        wait_for(lambda: len([m for m in smtp.messages() if m["To"] == address]) == 2, 10)
        sms = next(m for m in finals if m["channel"] == "sms")
        assert [r.body["text"] for r in gateway.requests if r.body["reference"] == sms["id"]] == [sms["body"]]
        assert "充值200.00元" in sms["body"] and sms["body"].startswith(f"【{SIGNATURE}】")

        # e-mail to a member without an address fails at once, saying why
        ok(world.hq.patch(f"{base}/kinds/recharge", {"channel": "email"}))
        bare = world.card()
        ok(world.recharge(bare["card_no"], 20000), 201)
        made = wait_for(lambda: _messages(world, member_id=bare["member_id"], kind="recharge"), 10)
        failed = _final(world, made[0]["id"])
        assert (failed["status"], failed["last_error"]) == ("failed", "The member has no e-mail address to send to.")
    finally:
        smtp.stop()
        ok(world.hq.patch(f"{base}/kinds/recharge", {"channel": "sms", "reset_texts": True}))
        ok(world.hq.patch(f"{base}/provider", {"email_provider": "record"}))


def test_kinds_list_their_variables_and_a_template_with_an_unknown_one_is_refused(world):
    kinds = {k["kind"]: k for k in ok(world.hq.get(world.world.path("/notifications/kinds")))["items"]}
    assert kinds["consume"]["variables"][:3] == ["member_name", "chain_name", "card_tail"]
    assert {"amount", "points_earned", "points_total", "balance"} <= set(kinds["consume"]["variables"])
    assert "{?，本次积分{points_earned}分，积分余额{points_total}分?}" in kinds["consume"]["sms_text"]
    assert kinds["consume"]["sms_text"].startswith("尊敬的{member_name}") and not kinds["consume"]["customised"]
    path = world.world.path("/notifications/kinds/consume")
    refused = error(world.hq.patch(path, {"sms_text": "余额{balance}，积分{points}"}), 422)
    assert refused["fields"]["sms_text"][0].startswith("Unknown variable {points}; this kind offers:")
    assert error(world.hq.patch(path, {"sms_text": "{balance"}), 422)["fields"]["sms_text"][0].startswith("Stray '{'")
    assert error(world.hq.patch(path, {"sms_text": "余额{balance}{?积分{points_total}"}), 422)["fields"] == {
        "sms_text": ["An optional part {?... is not closed with ?}."]
    }
    assert ok(world.hq.get(world.world.path("/notifications/kinds")))["items"][0] == kinds["consume"]  # unchanged
    assert error(world.hq.patch(world.world.path("/notifications/kinds/nonsense"), {"enabled": False}), 404)
    cashier = world.cashier_a
    assert error(cashier.get(world.world.path("/notifications/kinds")), 403)


def test_secrets_are_write_only_and_a_provider_needs_what_it_sends_with(world, gateway, settings, admin):
    path = world.world.path("/notifications/provider")
    shown = ok(world.hq.get(path))
    assert shown["http_secret_set"] is True and gateway.secret not in str(shown)
    assert "http_secret" not in shown and "smtp_password" not in shown
    stored = raw_rows(settings, "SELECT http_secret_cipher FROM notification.provider_settings")
    assert stored and all(gateway.secret not in (r["http_secret_cipher"] or "") for r in stored)
    fresh = build_chain(admin)
    path = fresh.path("/notifications/provider")
    before = ok(fresh.hq.get(path))
    assert (before["sms_provider"], before["email_provider"]) == ("record", "record")  # a new chain's
    refused = error(fresh.hq.patch(path, {"sms_provider": "http", "http_base_url": "https://sms.example.com"}), 422)
    assert refused["fields"] == {
        "http_account": ["Required for the http SMS provider."],
        "http_secret": ["Required for the http SMS provider."],
    }
    assert ok(fresh.hq.get(path)) == before  # nothing changed


def test_a_kind_switched_off_sends_nothing(world, gateway):
    card = world.card()
    path = world.world.path("/notifications/kinds/recharge")
    ok(world.hq.patch(path, {"enabled": False}))
    try:
        ok(world.recharge(card["card_no"], 20000), 201)
        ok(world.consume(card["card_no"], [WASH]), 201)  # consume is on: its message shows the events arrived
        consume = wait_for(lambda: _messages(world, member_id=card["member_id"], kind="consume"), 10)
        _final(world, consume[0]["id"])
        assert _messages(world, member_id=card["member_id"], kind="recharge") == []
    finally:
        ok(world.hq.patch(path, {"enabled": True}))


def test_birthdays_are_caught_up_after_downtime_and_a_second_run_greets_nobody_twice(world, settings):
    today = clock.today("Asia/Shanghai")
    born = f"{today.year - 30}-{today.month:02d}-{today.day:02d}" if (today.month, today.day) != (2, 29) else None
    body = {"name": "寿星", "phone": _phone(), "birthday": born or f"{today.year - 32}-02-29"}
    member = ok(world.cashier_a.post(world.world.path("/members"), body), 201)
    wait_for(lambda: raw_rows(settings, "SELECT 1 FROM notification.members WHERE member_id = :m", m=member["id"]))
    engine = make_engine(settings.database_url("notification"), pool_size=2, application_name="birthday-test")
    session = sessionmaker(engine, expire_on_commit=False)()
    try:
        with session.begin():  # the service was down for the last two days
            session.execute(
                update(ScheduleRun).where(ScheduleRun.chain_id == world.world.id).values(last_day=today - timedelta(2))
            )
        made = [scheduled.run(session), scheduled.run(session)]  # two instances, one after the other
    finally:
        session.close()
        engine.dispose()
    greetings = _messages(world, member_id=member["id"], kind="birthday")
    assert len(greetings) == 1 and made[1] == 0
    sent = _final(world, greetings[0]["id"])
    assert sent["body"] == f"【{SIGNATURE}】亲爱的寿星，洗车连锁 Wash Chain祝您生日快乐！"


def _member(world, name: str, tags: list[str], consent: bool) -> tuple[dict, str]:
    phone = _phone()
    body = {"name": name, "phone": phone, "tags": tags, "marketing_consent": consent}
    return ok(world.cashier_a.post(world.world.path("/members"), body), 201), phone


def _clock(moment) -> str:
    return moment.strftime("%H:%M")


def test_a_campaign_reaches_consenting_members_of_its_segment_once_held_through_quiet_hours(world, gateway, settings):
    tag = f"vip{uuid.uuid4().hex[:6]}"
    fan, fan_phone = _member(world, "李四", [tag], True)
    shy, shy_phone = _member(world, "王五", [tag], False)  # in the segment, no consent
    other, other_phone = _member(world, "赵六", ["other"], True)  # consents, not in the segment
    known = "SELECT count(*) AS n FROM notification.members WHERE member_id IN (:a, :b, :c)"
    wait_for(lambda: raw_rows(settings, known, a=fan["id"], b=shy["id"], c=other["id"])[0]["n"] == 3)
    base = world.world.path("/notifications")
    refused = error(world.hq.post(f"{base}/campaigns", {"name": "x", "text": "{balance}"}), 422)
    assert refused["fields"]["text"][0].startswith("Unknown variable {balance}; this kind offers: chain_name")

    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    quiet = {"quiet_start": _clock(now - timedelta(hours=1)), "quiet_end": _clock(now + timedelta(hours=1))}
    ok(world.hq.patch(f"{base}/provider", quiet))
    body = {"name": "会员日", "text": "{member_name}您好，{chain_name}会员日全场八折", "segment": {"tags": [tag]}}
    campaign = ok(world.hq.post(f"{base}/campaigns", body), 201)
    assert campaign["status"] == "draft" and campaign["total"] is None
    sending = ok(world.hq.post(f"{base}/campaigns/{campaign['id']}/sends", {}), 202)
    assert sending["status"] == "scheduled"
    path = f"{base}/campaigns/{campaign['id']}"
    running = wait_for(lambda: (c := ok(world.hq.get(path)))["status"] == "running" and c, 10)
    assert running["total"] == 1  # the consenting member of the segment only
    held = wait_for(
        lambda: raw_rows(
            settings, "SELECT * FROM notification.messages WHERE campaign_id = :c AND held", c=campaign["id"]
        ),
        10,
    )
    assert held[0]["member_id"] == fan["id"] and held[0]["status"] == "queued" and held[0]["attempts"] == 0
    opens = datetime.combine(now.date(), datetime.strptime(quiet["quiet_end"], "%H:%M").time(), now.tzinfo)
    assert held[0]["next_attempt_at"] == opens + (timedelta(days=1) if opens < now else timedelta())
    assert gateway.to(fan_phone) == []
    assert error(world.hq.post(f"{base}/campaigns/{campaign['id']}/sends", {}), 409)["code"] == "invalid_state"
    assert error(world.hq.patch(path, {"name": "later"}), 409)["code"] == "invalid_state"

    ok(world.hq.patch(f"{base}/provider", {"quiet_start": None, "quiet_end": None}))  # the window opens
    done = wait_for(lambda: (c := ok(world.hq.get(path)))["status"] == "done" and c, 15)
    assert done["progress"] == {"queued": 0, "sending": 0, "sent": 1, "failed": 0}
    assert [r.body["text"] for r in gateway.to(fan_phone)] == [
        f"【{SIGNATURE}】李四您好，洗车连锁 Wash Chain会员日全场八折"
    ]
    assert gateway.to(shy_phone) == [] and gateway.to(other_phone) == []


def test_a_test_send_needs_somewhere_to_go_and_a_real_phone(world):
    path = world.world.path("/notifications/test-sends")
    assert error(world.hq.post(path, {"kind": "consume"}), 422)["fields"] == {
        "phone": ["Give a phone, an e-mail address, or both."]
    }
    refused = error(world.hq.post(path, {"kind": "consume", "phone": "1381234567"}), 422)
    assert refused["fields"] == {"phone": ["A mobile number has 11 digits, this has 10."]}
    path = world.world.path("/notifications/kinds/consume")
    assert error(world.hq.patch(path, {"channel": "fax"}), 422)["fields"] == {
        "channel": ["Must be one of: sms, email, both."]
    }
    assert ok(world.hq.get(world.world.path("/notifications/kinds")))["items"][0]["channel"] == "sms"  # unchanged
