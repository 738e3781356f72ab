"""Reminders through the real services (N-3, N-4, P-5): points expiring (the points service's
job publishes, notification sends), packages expiring and service reminders (notification's
schedule), and the marketing segment of members with points expiring.

Each is sent once when due, not before, not twice when the job runs twice, caught up after the
job did not run for days, and not when switched off. Messages go through the `record` provider.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from services.kit import clock
from services.kit.db import make_engine
from services.kit.outbox import OutboxWriter
from services.notification import scheduled
from services.points import jobs
from services.points.models import kit
from tests.helpers import error, ok, raw_rows, wait_for
from tests.points_helpers import RULES, points_world
from tests.wallet_helpers import WASH

ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def pw(admin):
    return points_world(admin)


def _today() -> date:
    return clock.today("Asia/Shanghai")


def _points_job(settings) -> dict:
    engine = create_engine(settings.database_url("points"))
    try:
        with Session(engine) as session:
            return jobs.run(session, OutboxWriter(kit.outbox, "points"))
    finally:
        engine.dispose()


def _schedule(settings, times: int = 2) -> list[int]:
    """notification's scheduled job, run `times` over (as by two instances, one after the other)."""
    engine = make_engine(settings.database_url("notification"), pool_size=2, application_name="reminder-test")
    session = sessionmaker(engine, expire_on_commit=False)()
    try:
        return [scheduled.run(session) for _ in range(times)]
    finally:
        session.close()
        engine.dispose()


def _last_done(settings, chain_id: str, kind: str, day: date) -> None:
    """As if the chain's `kind` was last done on `day` (the job was down since)."""
    raw_rows(
        settings,
        "INSERT INTO notification.schedule_runs (chain_id, kind, last_day) VALUES (:c, :k, :d)"
        " ON CONFLICT (chain_id, kind) DO UPDATE SET last_day = :d RETURNING last_day",
        c=chain_id,
        k=kind,
        d=day,
    )


def _messages(pw, **query) -> list[dict]:
    return ok(pw.hq.get(pw.wallet.world.path("/notifications/messages"), params=query))["items"]


def _sent(pw, message_id: str) -> dict:
    path = pw.wallet.world.path(f"/notifications/messages/{message_id}")
    return wait_for(lambda: (m := ok(pw.hq.get(path)))["status"] == "sent" and m, 15)


def _switch(pw, kind: str, **changes) -> dict:
    return ok(pw.hq.patch(pw.wallet.world.path(f"/notifications/kinds/{kind}"), changes))


def _expire_lot(settings, member_id: str, points: int, when: str) -> date:
    """Make the member's lot of `points` expire at `when` (an SQL interval from now, or NULL);
    returns its local expiry day."""
    at = "NULL" if when == "never" else f"now() + interval '{when}'"
    [row] = raw_rows(
        settings,
        f"UPDATE points.lots SET expires_at = {at} WHERE member_id = :m AND points = :p RETURNING expires_at",
        m=member_id,
        p=points,
    )
    return row["expires_at"].astimezone(ZONE).date() if row["expires_at"] else None


def _reminder_events(settings, member_id: str, event_type: str = "expiring_soon") -> list[dict]:
    return raw_rows(
        settings,
        "SELECT payload FROM points.outbox WHERE event_type = :t AND payload->'data'->>'member_id' = :m",
        t=event_type,
        m=member_id,
    )


def _in_notification_inbox(settings, event_id: str) -> bool:
    return bool(raw_rows(settings, "SELECT 1 FROM notification.inbox WHERE event_id = :e", e=event_id))


def _points_card(pw, *amounts: int) -> dict:
    card = pw.wallet.card()
    for points in amounts:
        ok(pw.grant(card["card_no"], points), 201)
    pw.wait_balance(card["card_no"], sum(amounts))
    return card


# ---- points expiring (P-5) --------------------------------------------------------------------------


def test_points_expiring_are_reminded_once_when_due_with_the_points_the_day_and_the_total(pw, settings):
    card = _points_card(pw, 100, 50)
    member = card["member_id"]
    _expire_lot(settings, member, 100, "10 days")  # the chain reminds 7 days ahead: not yet
    _expire_lot(settings, member, 50, "never")
    _points_job(settings)
    assert _reminder_events(settings, member) == []

    # due since 5 days ago, and the job did not run since: the next run catches it up
    day = _expire_lot(settings, member, 100, "2 days")
    _points_job(settings)
    _points_job(settings)  # and once more, as a second instance would
    [event] = _reminder_events(settings, member)
    assert event["payload"]["data"] == {
        "chain_id": pw.wallet.world.id,
        "member_id": member,
        "points": 100,
        "balance": 150,
        "expires_on": day.isoformat(),
    }
    [message] = wait_for(lambda: _messages(pw, member_id=member, kind="points_expiring"), 15)
    sent = _sent(pw, message["id"])
    assert sent["body"].endswith(f"您有100积分将于{day.isoformat()}到期，当前积分共150分，请及时使用。"), sent["body"]

    # the same occurrence said again (a redelivery, or a second reminder event): still one message
    raw_rows(settings, "DELETE FROM points.reminders WHERE member_id = :m RETURNING member_id", m=member)
    _points_job(settings)
    second = [e for e in _reminder_events(settings, member) if e["payload"]["id"] != event["payload"]["id"]]
    assert len(second) == 1
    wait_for(lambda: _in_notification_inbox(settings, second[0]["payload"]["id"]), 15)
    assert [m["id"] for m in _messages(pw, member_id=member, kind="points_expiring")] == [message["id"]]


def test_points_expiring_switched_off_sends_nothing(pw, settings):
    card = _points_card(pw, 70)
    member = card["member_id"]
    _expire_lot(settings, member, 70, "3 days")
    _switch(pw, "points_expiring", enabled=False)
    try:
        _points_job(settings)
        [event] = _reminder_events(settings, member)
        wait_for(lambda: _in_notification_inbox(settings, event["payload"]["id"]), 15)  # it arrived
        assert _messages(pw, member_id=member, kind="points_expiring") == []
    finally:
        _switch(pw, "points_expiring", enabled=True)


def test_the_yearly_reset_is_reminded_once_with_all_the_points_held(pw, settings):
    today = _today()
    # the first day within the 7 days ahead that a reset may fall on (days 1 to 28)
    reset_on = next(d for d in (today + timedelta(days=n) for n in range(1, 8)) if d.day <= 28)
    card = _points_card(pw, 80, 40)
    member = card["member_id"]
    rules = pw.wallet.world.path("/points/rules")
    ok(pw.hq.post(rules, {**RULES, "reset_month": reset_on.month, "reset_day": reset_on.day}))
    try:
        _points_job(settings)
        _points_job(settings)
    finally:
        ok(pw.hq.post(rules, RULES))
    [event] = _reminder_events(settings, member, "reset_coming")
    assert (event["payload"]["data"]["points"], event["payload"]["data"]["reset_on"]) == (120, reset_on.isoformat())
    [message] = wait_for(lambda: _messages(pw, member_id=member, kind="points_reset"), 15)
    body = _sent(pw, message["id"])["body"]
    assert body.endswith(f"您的120积分将于{reset_on.isoformat()}清零，当前积分共120分，请及时使用。"), body


# ---- packages expiring ---------------------------------------------------------------------------


def _sell(pw, card_no: str, name: str, valid_until: date, count: int = 10) -> dict:
    body = {
        "card_no": card_no,
        "store_id": pw.wallet.store_a,
        "item_code": "WASH",
        "name": name,
        "count": count,
        "price": 30000,
        "payment_method": "cash",
        "valid_until": valid_until.isoformat(),
    }
    return ok(pw.wallet.cashier_a.post(pw.wallet.path("/packages"), body), 201)["entitlement"]


def _copied(settings, *entitlement_ids: str) -> None:
    query = "SELECT count(*) AS n FROM notification.packages WHERE entitlement_id = ANY(:ids) AND name IS NOT NULL"
    wait_for(lambda: raw_rows(settings, query, ids=list(entitlement_ids))[0]["n"] == len(entitlement_ids), 15)


def test_a_package_is_reminded_once_within_the_days_before_its_last_day(pw, settings):
    today = _today()
    card = pw.wallet.card()
    soon = _sell(pw, card["card_no"], "洗车10次卡", today + timedelta(days=3))  # 7 days ahead: due
    later = _sell(pw, card["card_no"], "精洗5次卡", today + timedelta(days=10), count=5)  # not yet
    last_day = _sell(pw, card["card_no"], "打蜡卡", today, count=2)  # due 7 days ago, the job was down
    _copied(settings, soon["id"], later["id"], last_day["id"])
    _schedule(settings)  # twice
    made = _messages(pw, member_id=card["member_id"], kind="package_expiring")
    bodies = sorted(_sent(pw, m["id"])["body"].split("，", 1)[1] for m in made)
    assert bodies == sorted(
        [
            f"您的洗车10次卡将于{(today + timedelta(days=3)).isoformat()}到期，剩余10次，请及时使用。",
            f"您的打蜡卡将于{today.isoformat()}到期，剩余2次，请及时使用。",
        ]
    )

    # the chain reminds 12 days ahead from now on: the later one is due too, the others not again
    shown = _switch(pw, "package_expiring", days_before=12)
    assert shown["days_before"] == 12
    try:
        _schedule(settings)
    finally:
        _switch(pw, "package_expiring", days_before=7)
    again = _messages(pw, member_id=card["member_id"], kind="package_expiring")
    assert len(again) == 3 and {m["id"] for m in made} < {m["id"] for m in again}
    refused = error(pw.hq.patch(pw.wallet.world.path("/notifications/kinds/consume"), {"days_before": 3}), 422)
    assert refused["fields"] == {"days_before": ["Only a kind sent ahead of a date has days before it."]}


def test_a_package_used_up_refunded_or_switched_off_is_not_reminded(pw, settings):
    today = _today()
    card = pw.wallet.card()
    ok(pw.wallet.recharge(card["card_no"], 50000), 201)
    used = _sell(pw, card["card_no"], "单次洗车", today + timedelta(days=2), count=1)
    ok(pw.wallet.consume(card["card_no"], [{**WASH, "entitlement_id": used["id"]}]), 201)
    refunded = _sell(pw, card["card_no"], "退款卡", today + timedelta(days=2))
    body = {"card_no": card["card_no"], "entitlement_id": refunded["id"], "store_id": pw.wallet.store_a}
    ok(pw.wallet.cashier_a.post(pw.wallet.path("/package-refunds"), body), 201)
    kept = _sell(pw, card["card_no"], "保留卡", today + timedelta(days=2))
    _copied(settings, used["id"], refunded["id"], kept["id"])
    wait_for(
        lambda: raw_rows(
            settings,
            "SELECT 1 FROM notification.packages WHERE entitlement_id = :u AND remaining_count = 0",
            u=used["id"],
        ),
        15,
    )
    wait_for(
        lambda: raw_rows(
            settings, "SELECT 1 FROM notification.packages WHERE entitlement_id = :r AND closed", r=refunded["id"]
        ),
        15,
    )
    _switch(pw, "package_expiring", enabled=False)
    try:
        _schedule(settings)
        assert _messages(pw, member_id=card["member_id"], kind="package_expiring") == []
    finally:
        _switch(pw, "package_expiring", enabled=True)
    _schedule(settings)  # switched on again: only the one still open with uses left
    [made] = _messages(pw, member_id=card["member_id"], kind="package_expiring")
    assert "保留卡" in _sent(pw, made["id"])["body"]


# ---- service reminders ---------------------------------------------------------------------------


def _rules_path(pw, rest: str = "") -> str:
    return pw.wallet.world.path(f"/notifications/service-reminders{rest}")


def test_service_reminder_rules_are_hqs_and_checked(pw):
    refused = error(pw.hq.post(_rules_path(pw), {}), 422)
    assert set(refused["fields"]) == {"category", "service_name", "days"}
    bad = {"category": "wash wash", "service_name": " ", "days": 0}
    assert set(error(pw.hq.post(_rules_path(pw), bad), 422)["fields"]) == {"category", "service_name", "days"}
    rule = ok(pw.hq.post(_rules_path(pw), {"category": "polish", "service_name": "抛光", "days": 90}), 201)
    assert (rule["category"], rule["service_name"], rule["days"], rule["enabled"]) == ("polish", "抛光", 90, True)
    twice = error(pw.hq.post(_rules_path(pw), {"category": "polish", "service_name": "x", "days": 9}), 409)
    assert list(twice["fields"]) == ["category"]
    assert error(pw.hq.patch(_rules_path(pw, f"/{rule['id']}"), {"days": 400}), 422)["fields"] == {
        "days": ["Must be greater than or equal to 1 and less than or equal to 365."]
    }
    assert error(pw.hq.patch(_rules_path(pw, f"/{uuid.uuid4()}"), {"days": 30}), 404)
    changed = ok(pw.hq.patch(_rules_path(pw, f"/{rule['id']}"), {"days": 60, "enabled": False}))
    assert (changed["days"], changed["enabled"]) == (60, False)
    assert [r for r in ok(pw.hq.get(_rules_path(pw)))["items"] if r["id"] == rule["id"]] == [changed]
    assert error(pw.wallet.cashier_a.get(_rules_path(pw)), 403)


def _visited(pw, settings, days_ago: int) -> dict:
    """A member whose last wash was `days_ago` local days ago, at 10:00."""
    card = pw.wallet.card()
    ok(pw.wallet.recharge(card["card_no"], 50000), 201)
    ok(pw.wallet.consume(card["card_no"], [WASH]), 201)
    _visit_moved(pw, settings, card, days_ago)
    return card


def _visit_moved(pw, settings, card: dict, days_ago: int, minute: int = 0) -> None:
    query = "SELECT 1 FROM notification.category_visits WHERE member_id = :m AND category = 'wash'"
    wait_for(lambda: raw_rows(settings, query, m=card["member_id"]), 15)
    at = datetime.combine(_today() - timedelta(days=days_ago), datetime.min.time(), ZONE).replace(
        hour=10, minute=minute
    )
    raw_rows(
        settings,
        "UPDATE notification.category_visits SET last_visit_at = :at WHERE member_id = :m RETURNING member_id",
        at=at,
        m=card["member_id"],
    )


def test_a_service_reminder_is_sent_once_per_visit_gap_when_due_and_caught_up_after_downtime(pw, settings):
    rule = ok(pw.hq.post(_rules_path(pw), {"category": "wash", "service_name": "洗车", "days": 30}), 201)
    chain_id = pw.wallet.world.id
    due = _visited(pw, settings, 30)  # due today
    early = _visited(pw, settings, 29)  # due tomorrow
    missed = _visited(pw, settings, 32)  # due two days ago
    _last_done(settings, chain_id, "service_reminder", _today() - timedelta(days=1))
    _schedule(settings)  # twice
    [made] = _messages(pw, member_id=due["member_id"], kind="service_reminder")
    last_visit = (_today() - timedelta(days=30)).isoformat()
    assert _sent(pw, made["id"])["body"].endswith(
        f"您上次洗车是{last_visit}，已经30天了，欢迎再次光临洗车连锁 Wash Chain。"
    )
    assert _messages(pw, member_id=early["member_id"], kind="service_reminder") == []
    assert _messages(pw, member_id=missed["member_id"], kind="service_reminder") == []  # before today's run

    # the job did not run for the last three days: the days it missed are caught up, once
    _last_done(settings, chain_id, "service_reminder", _today() - timedelta(days=3))
    _schedule(settings)
    assert len(_messages(pw, member_id=missed["member_id"], kind="service_reminder")) == 1
    assert len(_messages(pw, member_id=due["member_id"], kind="service_reminder")) == 1

    # a new visit starts a new gap: nothing until its 30 days are up, then one more
    ok(pw.wallet.consume(due["card_no"], [WASH]), 201)
    newer = (
        "SELECT 1 FROM notification.category_visits WHERE member_id = :m AND last_visit_at > now() - interval '1 hour'"
    )
    wait_for(lambda: raw_rows(settings, newer, m=due["member_id"]), 15)
    _last_done(settings, chain_id, "service_reminder", _today() - timedelta(days=1))
    _schedule(settings)
    assert len(_messages(pw, member_id=due["member_id"], kind="service_reminder")) == 1
    _visit_moved(pw, settings, due, 30, minute=5)
    _last_done(settings, chain_id, "service_reminder", _today() - timedelta(days=1))
    _schedule(settings)
    assert len(_messages(pw, member_id=due["member_id"], kind="service_reminder")) == 2

    # a rule switched off reminds nobody
    ok(pw.hq.patch(_rules_path(pw, f"/{rule['id']}"), {"enabled": False}))
    off = _visited(pw, settings, 30)
    _last_done(settings, chain_id, "service_reminder", _today() - timedelta(days=1))
    _schedule(settings)
    assert _messages(pw, member_id=off["member_id"], kind="service_reminder") == []


# ---- the points-expiring segment (N-4) ----------------------------------------------------------


def _consenting_member(pw, settings, consent: bool, points: int) -> dict:
    phone = f"136{uuid.uuid4().int % 10**8:08d}"
    body = {"name": f"会员{points}", "phone": phone, "marketing_consent": consent}
    member = ok(pw.wallet.cashier_a.post(pw.wallet.world.path("/members"), body), 201)
    card = ok(
        pw.wallet.cashier_a.post(pw.wallet.world.path(f"/members/{member['id']}/cards"), {"tier_code": "WSILVER"}), 201
    )
    ok(pw.grant(card["card_no"], points), 201)
    pw.wait_balance(card["card_no"], points)
    wait_for(lambda: raw_rows(settings, "SELECT 1 FROM notification.members WHERE member_id = :m", m=member["id"]))
    return member


def test_the_points_expiring_segment_is_exactly_the_consenting_members_with_points_going_in_time(pw, settings):
    within = _consenting_member(pw, settings, True, 11)
    _expire_lot(settings, within["id"], 11, "5 days")
    too_late = _consenting_member(pw, settings, True, 12)
    _expire_lot(settings, too_late["id"], 12, "20 days")
    no_consent = _consenting_member(pw, settings, False, 13)
    _expire_lot(settings, no_consent["id"], 13, "5 days")
    never = _consenting_member(pw, settings, True, 14)
    _expire_lot(settings, never["id"], 14, "never")
    edge = _consenting_member(pw, settings, True, 15)
    _expire_lot(settings, edge["id"], 15, "9 days 23 hours")  # inside 10 days
    base = pw.wallet.world.path("/notifications/campaigns")
    refused = error(pw.hq.post(base, {"name": "x", "text": "x", "segment": {"points_expiring_within_days": 0}}), 422)
    assert list(refused["fields"]) == ["segment"]
    body = {
        "name": "积分到期",
        "text": "{member_name}，您的积分即将到期",
        "segment": {"points_expiring_within_days": 10},
    }
    campaign = ok(pw.hq.post(base, body), 201)
    assert campaign["segment"] == {"points_expiring_within_days": 10}
    ok(pw.hq.post(f"{base}/{campaign['id']}/sends", {}), 202)
    done = wait_for(lambda: (c := ok(pw.hq.get(f"{base}/{campaign['id']}")))["status"] == "done" and c, 20)
    assert done["total"] == 2 and done["progress"]["sent"] == 2
    messaged = raw_rows(
        settings, "SELECT member_id FROM notification.messages WHERE campaign_id = :c", c=campaign["id"]
    )
    assert sorted(m["member_id"] for m in messaged) == sorted([within["id"], edge["id"]])


def test_openapi_states_the_reminder_routes_and_fields_exactly(client):
    document = ok(client.simulate_get("/api/v1/openapi.json"))
    schemas = document["components"]["schemas"]

    def schema_of(entry: dict, where: str = "request") -> dict:
        content = entry["requestBody"] if where == "request" else entry["responses"][where]
        ref = content["content"]["application/json"]["schema"]["$ref"]
        return schemas[ref.rsplit("/", 1)[-1]]

    rules = document["paths"]["/api/v1/chains/{chain_id}/notifications/service-reminders"]
    create = schema_of(rules["post"])
    assert set(create["required"]) == {"category", "service_name", "days"}
    assert (create["properties"]["days"]["minimum"], create["properties"]["days"]["maximum"]) == (1, 365)
    assert set(schema_of(rules["post"], "201")["properties"]) == {
        "id",
        "category",
        "service_name",
        "days",
        "enabled",
        "created_at",
        "updated_at",
    }
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in rules["post"]["parameters"])
    assert "422" in rules["post"]["responses"] and "200" in rules["get"]["responses"]
    one = document["paths"]["/api/v1/chains/{chain_id}/notifications/service-reminders/{rule_id}"]["patch"]
    assert set(schema_of(one)["properties"]) == {"service_name", "days", "enabled"}
    assert "404" in one["responses"] and "422" in one["responses"]
    kind = document["paths"]["/api/v1/chains/{chain_id}/notifications/kinds/{kind}"]["patch"]
    days_before = schema_of(kind)["properties"]["days_before"]
    assert (days_before["minimum"], days_before["maximum"]) == (0, 90)
    segment = schemas["Segment"]["properties"]["points_expiring_within_days"]
    assert (segment["type"], segment["minimum"], segment["maximum"]) == ("integer", 1, 365)
