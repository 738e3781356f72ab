"""Points and gift redemptions in the reports: R-1's points per consume, R-5 by points, R-6
gift redemptions (detail and statistics), from the points and gift services' events, and the
same figures after a replay twice in reverse order and after a rebuild."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from tests.helpers import error, ok, wait_for
from tests.points_helpers import oil, points_world, today

pytestmark = pytest.mark.integration


class Story:
    """Member one (Gold, 1.5 points a yuan) pays 200 yuan for two oil changes at A: 300 points;
    one is refunded: 150 reversed. One redeems two umbrellas of 50 points (100 points) at A, and
    a 40-point cap that a manager then cancels. Member two is given 500 points at A."""

    def __init__(self, admin):
        self.pw = pw = points_world(admin)
        w = pw.wallet
        self.w = w
        self.one, self.two = w.card("PGOLD"), w.card("PGOLD")
        ok(w.recharge(self.one["card_no"], 30000), 201)
        self.consume = ok(w.consume(self.one["card_no"], [oil(2, 10000)]), 201)["transaction_id"]
        pw.wait_balance(self.one["card_no"], 300)
        refund = {"transaction_id": self.consume, "store_id": w.store_a, "reason": "one back"}
        ok(w.cashier_a.post(w.path("/refunds"), {**refund, "lines": [{"line_no": 1, "quantity": 1}]}), 201)
        pw.wait_balance(self.one["card_no"], 150)
        self.umbrella = self.gift("Umbrella", 50)
        self.cap = self.gift("Cap", 40)
        self.kept = self.redeem(self.umbrella, 2)
        self.cancelled = self.redeem(self.cap, 1)
        path = w.world.path(f"/gift-redemptions/{self.cancelled['id']}/cancel")
        ok(w.manager_a.post(path, {"reason": "changed mind"}), 201)
        ok(pw.grant(self.two["card_no"], 500), 201)
        pw.wait_balance(self.two["card_no"], 500)
        wait_for(lambda: self.settled(), timeout=60)

    def gift(self, name: str, points: int) -> dict:
        body = {"name": name, "market_price": 5900, "points_cost": points, "stock": 5}
        return ok(self.w.hq.post(self.w.world.path("/gifts"), body), 201)

    def redeem(self, gift: dict, quantity: int) -> dict:
        body = {"gift_id": gift["id"], "card_no": self.one["card_no"], "store_id": self.w.store_a, "quantity": quantity}
        return ok(self.w.cashier_a.post(self.w.world.path("/gift-redemptions"), body, key="auto"), 201)

    def path(self, rest: str) -> str:
        return self.w.world.path(rest)

    def report(self, name: str, api=None, **query) -> dict:
        return ok((api or self.w.hq).get(self.path(f"/reports/{name}"), {"since": today(), "until": today(), **query}))

    def settled(self) -> bool:
        rows = self.report("gift-redemptions")["items"]
        ranked = self.report("points-rankings")["by_points"]
        consumes = self.report("consumptions")["items"]
        return (
            {r["status"] for r in rows} == {"completed", "cancelled"}
            and len(ranked) == 2
            and [c["points_reversed"] for c in consumes] == [-150]
        )


@pytest.fixture(scope="module")
def story(admin):
    return Story(admin)


def test_consumption_detail_shows_the_points_each_consume_earned_and_lost(story):
    """R-1: 200 yuan x 1.5 = 300 earned; half refunded: 150 reversed."""
    (row,) = story.report("consumptions")["items"]
    assert (row["transaction_id"], row["actual"], row["refunded"]) == (story.consume, 20000, 10000)
    assert (row["points_earned"], row["points_reversed"]) == (300, -150)


def test_rankings_by_points(story):
    """R-5: two got 500 given; one earned 300 and lost 150."""
    ranked = story.report("points-rankings")["by_points"]
    assert [(r["rank"], r["member_id"], r["points_earned"], r["points_reversed"], r["points"]) for r in ranked] == [
        (1, story.two["member_id"], 500, 0, 500),
        (2, story.one["member_id"], 300, -150, 150),
    ]
    assert [r["member_id"] for r in story.report("points-rankings", limit="1")["by_points"]] == [story.two["member_id"]]
    assert story.report("points-rankings", tier_code="WSILVER")["by_points"] == []
    assert story.report("points-rankings", api=story.w.manager_a)["by_points"] == ranked  # all at store A
    assert story.report("points-rankings", store_id=story.w.store_b)["by_points"] == []


def test_gift_redemption_detail(story):
    """R-6: the umbrellas stand, the cap is cancelled; member, card, gift, store, operator."""
    w = story.w
    rows = {r["redemption_id"]: r for r in story.report("gift-redemptions")["items"]}
    kept, cancelled = rows[story.kept["id"]], rows[story.cancelled["id"]]
    assert (kept["gift_id"], kept["quantity"], kept["points"], kept["status"]) == (
        story.umbrella["id"],
        2,
        100,
        "completed",
    )
    assert (kept["member_id"], kept["card_no"], kept["tier_code"]) == (
        story.one["member_id"],
        story.one["card_no"],
        "PGOLD",
    )
    assert kept["store_id"] == w.store_a and kept["store_name"]
    assert (kept["operator_id"], kept["operator_name"]) == (
        w.cashier_a.principal["staff_id"],
        w.cashier_a.principal["display_name"],
    )
    assert (kept["gift_name"], kept["cancelled_at"]) == ("Umbrella", None)
    assert (cancelled["status"], cancelled["points"], cancelled["cancel_reason"]) == ("cancelled", 40, "changed mind")
    assert cancelled["cancelled_at"] is not None and cancelled["operator_id"] == w.cashier_a.principal["staff_id"]
    assert cancelled["cancel_operator_id"] == w.manager_a.principal["staff_id"]
    only = story.report("gift-redemptions", status="cancelled")["items"]
    assert [r["redemption_id"] for r in only] == [story.cancelled["id"]]
    by_gift = story.report("gift-redemptions", gift_id=story.umbrella["id"])["items"]
    assert [r["redemption_id"] for r in by_gift] == [story.kept["id"]]
    first = story.report("gift-redemptions", limit="1")
    second = story.report("gift-redemptions", limit="1", after=first["next_cursor"])
    assert {first["items"][0]["redemption_id"], second["items"][0]["redemption_id"]} == set(rows)
    assert story.report("gift-redemptions", store_id=w.store_b)["items"] == []
    assert first["as_of"]["newest_event_at"] is not None
    error(w.cashier_a.get(story.path("/reports/gift-redemptions"), {"since": today(), "until": today()}), 403)
    error(
        w.manager_a.get(story.path("/reports/gift-stats"), {"since": today(), "until": today(), "store_id": w.store_b}),
        404,
    )


def test_gift_statistics_per_gift_and_store(story):
    """R-6: one standing redemption of two umbrellas for 100 points; the cancelled cap not counted."""
    stats = story.report("gift-stats")
    assert [
        (r["period"], r["store_id"], r["gift_id"], r["redemptions"], r["quantity"], r["points"]) for r in stats["rows"]
    ] == [(today(), story.w.store_a, story.umbrella["id"], 1, 2, 100)]
    assert stats["totals"] == {"redemptions": 1, "quantity": 2, "points": 100}
    month = story.report("gift-stats", group="month")
    assert [r["period"] for r in month["rows"]] == [today()[:7]] and month["totals"] == stats["totals"]
    assert story.report("gift-stats", gift_id=story.cap["id"])["rows"] == []


def test_exports(story):
    hq = story.w.hq
    query = {"since": today(), "until": today()}
    result = hq.get(story.path("/reports/gift-stats/export"), {**query, "format": "csv"})
    table = list(csv.reader(io.StringIO(result.content.decode("utf-8-sig"))))
    assert table[0] == ["期间", "门店", "礼品", "兑换笔数", "兑换数量", "消耗积分"]
    assert [row[2:] for row in table[1:]] == [["Umbrella", "1", "2", "100"]]
    result = hq.get(story.path("/reports/gift-redemptions/export"), {**query, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(result.content)).active
    header = [cell.value for cell in sheet[1]]
    rows = [dict(zip(header, (cell.value for cell in row), strict=True)) for row in sheet.iter_rows(min_row=2)]
    assert sorted((r["礼品"], r["数量"], r["积分"], r["状态"]) for r in rows) == [
        ("Cap", 1, 40, "cancelled"),
        ("Umbrella", 2, 100, "completed"),
    ]
    result = hq.get(story.path("/reports/points-rankings/export"), {**query, "format": "csv"})
    table = list(csv.reader(io.StringIO(result.content.decode("utf-8-sig"))))
    assert [row[-3:] for row in table[1:]] == [["500", "0", "500"], ["300", "-150", "150"]]
    result = hq.get(story.path("/reports/consumptions/export"), {**query, "format": "csv"})
    table = list(csv.reader(io.StringIO(result.content.decode("utf-8-sig"))))
    assert dict(zip(table[0], table[1], strict=True))["获得积分"] == "300"


def figures(story) -> dict:
    found = {}
    for name, query in (("gift-stats", {}), ("gift-stats", {"group": "month"}), ("points-rankings", {})):
        answer = story.report(name, **query)
        answer.pop("as_of")
        found[(name, tuple(query.items()))] = answer
    for name, key in (("consumptions", "transaction_id"), ("gift-redemptions", "redemption_id")):
        found[name] = sorted(story.report(name)["items"], key=lambda row: row[key])
    return found


def test_events_twice_in_reverse_order_and_a_rebuild_give_the_same_figures(story, settings, rpc_pool):
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from services.reporting import rebuild

    before = figures(story)
    assert before["points-rankings", ()]["by_points"][0]["points"] == 500

    def fetch(source, after, limit):
        return rpc_pool.call(source, "history", after, limit)

    engine = create_engine(settings.database_url("reporting"))
    try:
        events = list(rebuild.history(fetch))
        assert {e.source for e in events} >= {"points", "gift"}
        with Session(engine) as session, session.begin():
            rebuild.empty(session)
            backwards = [event for event in reversed(events) for _ in range(2)]
            assert rebuild.replay(session, backwards, inbox=False) == 2 * len(events)
        after = figures(story)
        for key in before:
            assert after[key] == before[key], key
        with Session(engine) as session:
            assert rebuild.rebuild(session, fetch) >= len(events)
        assert figures(story) == before
    finally:
        engine.dispose()
