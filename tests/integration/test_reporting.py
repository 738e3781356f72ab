"""Reports (R-1..R-8) from the reporting read model, after a scripted day at two stores
(tests/reporting_helpers.py), checked against the day's own sums."""

import csv
import dataclasses
import io
import re
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook

from tests.helpers import error, ok, wait_for
from tests.reporting_helpers import scripted_day


@pytest.fixture(scope="module")
def day(admin):
    return scripted_day(admin)


def by_store(rows, day):
    labels = {day.w.store_a: "A", day.w.store_b: "B"}
    return {labels[r["store_id"]]: r for r in rows}


def test_store_summary_adds_up_the_day(day):
    """R-3. A: two washes 240 - 24 = 216 from cash; 1,000 recharged, 50 bonus. B: wash and pad
    160 - 12 - 2 = 146 from cash, 38 refunded (net 108); 500 recharged, 20 bonus."""
    report = day.report(day.w.hq, "store-summary")
    rows = by_store(report["rows"], day)
    assert {r["period"] for r in report["rows"]} == {day.today}
    figures = ("consume_count", "gross", "discount", "actual", "paid_cash", "paid_bonus", "paid_credit")
    assert [rows["A"][f] for f in figures] == [1, 24000, 2400, 21600, 21600, 0, 0]
    assert [rows["B"][f] for f in figures] == [1, 16000, 1400, 14600, 14600, 0, 0]
    assert (rows["A"]["refunded"], rows["A"]["net"]) == (0, 21600)
    assert (rows["B"]["refund_count"], rows["B"]["refunded"], rows["B"]["net"]) == (1, 3800, 10800)
    assert (rows["A"]["recharged"], rows["A"]["bonus_issued"]) == (100000, 5000)
    assert (rows["B"]["recharged"], rows["B"]["bonus_issued"]) == (50000, 2000)
    assert report["totals"]["net"] == 32400 and report["totals"]["recharged"] == 150000
    assert report["as_of"]["newest_event_at"] is not None and report["as_of"]["lag_ms"] >= 0
    month = day.report(day.w.hq, "store-summary", group="month")
    assert {r["period"] for r in month["rows"]} == {day.today[:7]}
    assert month["totals"] == report["totals"]


def test_liability_equals_the_wallets_and_settlement_is_netted(day):
    """R-8. A's lots: 1,000 - 146 + 38 = 892 cash, 50 bonus; B's: 500 - 216 = 284, 20 bonus.
    B spent 108 of A's cash, A spent 216 of B's: A owes B 108."""
    hq = day.w.hq
    ours = ok(hq.get(day.path("/reports/liability")))
    wallet = ok(hq.get(day.w.path("/liability")))
    assert ours["chain"] == wallet["chain"] == {"cash": 117600, "bonus": 7000}
    assert [(s["store_id"], s["cash"], s["bonus"]) for s in ours["stores"]] == [
        (s["store_id"], s["cash"], s["bonus"]) for s in wallet["stores"]
    ]
    assert by_store(ours["stores"], day)["A"]["cash"] == 89200
    long_ago = ok(hq.get(day.path("/reports/liability"), {"as_of": "2020-01-01"}))
    assert long_ago["stores"] == [] and long_ago["chain"] == {"cash": 0, "bonus": 0}
    rows = day.report(hq, "settlement")["rows"]
    assert [(r["debtor_store_id"], r["creditor_store_id"], r["amount"]) for r in rows] == [
        (day.w.store_a, day.w.store_b, 10800)
    ]


def test_consumption_and_recharge_detail(day):
    """R-1 and R-2: lines, sources, operator and employee; per member totals."""
    hq = day.w.hq
    rows = day.report(hq, "consumptions", store_id=day.w.store_b)["items"]
    assert len(rows) == 1
    sale = rows[0]
    assert (sale["transaction_id"], sale["actual"], sale["refunded"]) == (day.consumes["at_b"], 14600, 3800)
    assert sale["employee_id"] == day.employee_id and sale["employee_name"] == "技师 Li"
    assert [(x["item_code"], x["net"]) for x in sale["lines"]] == [("WASH", 10800), ("PAD", 3800)]
    assert sale["tier_code"] == "WSILVER" and sale["store_name"] == "Store B"
    first = day.report(hq, "consumptions", limit="1")
    second = ok(
        hq.get(
            day.path("/reports/consumptions"), {"since": day.today, "until": day.today, "after": first["next_cursor"]}
        )
    )
    assert {first["items"][0]["transaction_id"], second["items"][0]["transaction_id"]} == set(day.consumes.values())
    assert day.report(hq, "consumptions", tier_code="GOLD")["items"] == []
    recharges = day.report(hq, "recharges")["items"]
    assert sorted((r["amount"], r["bonus"]) for r in recharges) == [(50000, 2000), (100000, 5000)]
    one_only = {"member_id": day.members["one"]}
    assert [r["amount"] for r in day.report(hq, "recharges", **one_only)["items"]] == [100000]
    assert [r["transaction_id"] for r in day.report(hq, "consumptions", **one_only)["items"]] == [day.consumes["at_b"]]
    totals = {r["member_id"]: r for r in day.report(hq, "member-totals")["items"]}
    one = totals[day.members["one"]]
    assert (one["recharged"], one["consumed"], one["refunded"]) == (100000, 14600, 3800)


def test_member_statistics_rankings_and_commission(day):
    """R-4, R-5, R-7: two Silver members enrolled at A, both active; two ranked 216 then 108;
    the senior technician sold 146 - 38 = 108 and washed once: 5 % is 5.40, a wash 2.00."""
    hq = day.w.hq
    stats = day.report(hq, "member-stats")
    assert stats["periods"] == [{"period": day.today, "new_members": 2, "active_members": 2}]
    assert [(r["store_id"], r["tier_code"], r["members"]) for r in stats["by_store_and_tier"]] == [
        (day.w.store_a, "WSILVER", 2)
    ]
    ranked = day.report(hq, "rankings")["by_consumption"]
    assert [(r["member_id"], r["consumed"]) for r in ranked] == [
        (day.members["two"], 21600),
        (day.members["one"], 10800),
    ]
    rule = {"level": "senior", "sales_bp": 500, "item_fixed": {"WASH": 200, "PAD": 900}}
    assert ok(hq.put(day.path("/commission-rules"), rule)) == rule
    assert ok(hq.get(day.path("/commission-rules")))["items"] == [rule]
    (row,) = day.report(hq, "employees")["rows"]
    assert (row["employee_id"], row["level"], row["sales"], row["services"]) == (day.employee_id, "senior", 10800, 1)
    assert (row["commission_sales"], row["commission_fixed"], row["commission"]) == (540, 200, 740)
    assert error(day.w.manager_a.put(day.path("/commission-rules"), rule), 403)


def test_scope_store_manager_franchisee_and_cashier(day):
    w = day.w
    manager = w.manager_a
    error(
        manager.get(
            day.path("/reports/store-summary"), {"since": day.today, "until": day.today, "store_id": w.store_b}
        ),
        404,
    )
    error(
        manager.get(
            day.path("/reports/consumptions/export"),
            {"since": day.today, "until": day.today, "store_id": w.store_b, "format": "csv"},
        ),
        404,
    )
    own = day.report(manager, "store-summary")
    assert [r["store_id"] for r in own["rows"]] == [w.store_a]
    assert [s["store_id"] for s in ok(manager.get(day.path("/reports/liability")))["stores"]] == [w.store_a]
    franchisee = w.hq.as_user(w.world.usernames["franchisee"])
    assert day.report(franchisee, "store-summary")["rows"] == []
    cashier = w.cashier_b
    takings = day.report(cashier, "store-summary")["rows"]
    assert day.report(w.hq, "store-summary", operator_id=cashier.principal["staff_id"])["rows"] == takings
    assert [(r["store_id"], r["consume_count"], r["refund_count"], r["recharged"]) for r in takings] == [
        (w.store_b, 1, 1, 50000)
    ]
    error(cashier.get(day.path("/reports/store-summary"), {"since": "2020-01-01", "until": day.today}), 403)
    error(cashier.get(day.path("/reports/liability")), 403)
    error(
        w.cashier_a.get(
            day.path("/reports/consumptions"), {"since": day.today, "until": day.today, "store_id": w.store_b}
        ),
        404,
    )


def test_exports_hold_the_same_numbers_as_json(day):
    hq = day.w.hq
    query = {"since": day.today, "until": day.today}
    summary = day.report(hq, "store-summary")
    result = hq.get(day.path("/reports/store-summary/export"), {**query, "format": "csv"})
    assert result.status_code == 200 and result.headers["content-type"].startswith("text/csv")
    assert result.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(result.content.decode("utf-8-sig"))))
    assert table[0][:6] == ["期间", "门店", "消费笔数", "原价金额", "折扣金额", "实收金额"]
    assert sorted(row[5] for row in table[1:]) == ["146.00", "216.00"]
    result = hq.get(day.path("/reports/store-summary/export"), {**query, "format": "xlsx"})
    assert result.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(result.content)).active
    assert sheet.freeze_panes == "A2"
    header = [cell.value for cell in sheet[1]]
    rows = [dict(zip(header, (cell.value for cell in row), strict=True)) for row in sheet.iter_rows(min_row=2)]
    expected = {r["store_name"]: r for r in summary["rows"]}
    for row in rows:
        assert round(row["实收金额"] * 100) == expected[row["门店"]]["actual"]
        assert row["消费笔数"] == expected[row["门店"]]["consume_count"]
    assert sheet.cell(row=2, column=6).number_format == "#,##0.00"
    detail = hq.get(day.path("/reports/consumptions/export"), {**query, "format": "xlsx"})
    lines = list(load_workbook(io.BytesIO(detail.content)).active.iter_rows(min_row=2, values_only=True))
    assert sorted(row[10] for row in lines) == [146.0, 216.0]
    error(hq.get(day.path("/reports/store-summary/export"), {**query, "format": "pdf"}), 422)


FIGURES = (
    ("store-summary", {}),
    ("store-summary", {"group": "month"}),
    ("settlement", {}),
    ("member-totals", {}),
    ("rankings", {}),
    ("employees", {}),
    ("member-stats", {}),
)


def figures(day) -> dict:
    """Every report of the day but its freshness, which a replay renews."""
    found = {}
    for name, query in FIGURES:
        answer = day.report(day.w.hq, name, **query)
        answer.pop("as_of")
        found[(name, tuple(query.items()))] = answer
    for name in ("consumptions", "recharges"):
        items = day.report(day.w.hq, name)["items"]
        found[name] = sorted(items, key=lambda row: row["transaction_id"])
    liability = ok(day.w.hq.get(day.path("/reports/liability")))
    found["liability"] = (liability["stores"], liability["chain"])
    return found


def fresh(day) -> datetime:
    return datetime.fromisoformat(day.report(day.w.hq, "store-summary")["as_of"]["newest_event_at"])


def test_events_twice_in_reverse_order_and_a_rebuild_give_the_same_figures(day, settings, rpc_pool):
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from services.reporting import apply, rebuild

    before = figures(day)
    assert before["liability"][1] == {"cash": 117600, "bonus": 7000}

    def fetch(source, after, limit):
        return rpc_pool.call(source, "history", after, limit)

    engine = create_engine(settings.database_url("reporting"))
    try:
        events = list(rebuild.history(fetch))
        with Session(engine) as session, session.begin():
            rebuild.empty(session)
            # newest first, and each one twice, with no inbox to drop the second
            backwards = [event for event in reversed(events) for _ in range(2)]
            assert rebuild.replay(session, backwards, inbox=False) == 2 * len(events)
        assert figures(day) == before
        # the chain's freshness is its newest event, written once for the whole replay
        ours = [event for event in events if event.chain_id == day.w.world.id]
        newest = max(datetime.fromisoformat(event.occurred_at) for event in ours)
        assert fresh(day) == newest
        # what a transaction rolled back noted of it is not written by the next one
        with Session(engine) as session:
            later = dataclasses.replace(ours[-1], occurred_at=(newest + timedelta(days=1)).isoformat())
            session.begin()
            apply.apply(session, later)
            session.rollback()
            with session.begin():
                apply.freshen(session)
        assert fresh(day) == newest
        with Session(engine) as session:
            assert rebuild.rebuild(session, fetch) >= len(events)
        assert figures(day) == before
    finally:
        engine.dispose()


def test_dashboard_figures_and_its_page_with_a_local_chart_library(day, client):
    """Today's and this month's figures are the store summary's; liability today is the
    report's; the last 30 days end on today's liability; the page loads Chart.js from here."""
    hq = day.w.hq
    board = ok(hq.get(day.path("/reports/dashboard")))
    totals = day.report(hq, "store-summary")["totals"]
    assert board["today"] == totals and board["month"]["net"] >= totals["net"]
    assert board["liability"]["chain"] == {"cash": 117600, "bonus": 7000}
    assert len(board["liability_daily"]) == 30
    assert board["liability_daily"][-1] == {"date": day.today, "cash": 117600, "bonus": 7000}
    assert board["daily"][-1] == {"period": day.today, "actual": 36200, "net": 32400, "recharged": 150000}
    assert [m["member_id"] for m in board["top_members"]] == [day.members["two"], day.members["one"]]
    error(day.w.manager_a.get(day.path("/reports/dashboard")), 403)
    page = client.simulate_get("/dashboard")
    assert page.status_code == 200 and '<script src="/static/chart.umd.js">' in page.text
    assert all(src.startswith("/") for src in re.findall(r'src="([^"]*)"', page.text))  # nothing from elsewhere
    library = client.simulate_get("/static/chart.umd.js")
    assert library.status_code == 200 and library.text.startswith("/*!\n * Chart.js v4.5.1")
    assert client.simulate_get("/static/nothing.js").status_code == 404


def test_the_days_follow_a_change_of_the_chains_time_zone(admin):
    """A recharge counted on its day in Shanghai is counted again on its day in the chain's new
    zone (14 hours ahead of UTC), with the same figures; a cashier's own view, read from the
    facts, agrees."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from tests.wallet_helpers import wallet_world

    w = wallet_world(admin)
    no = w.card()["card_no"]
    done = ok(w.recharge(no, 30000), 201)
    at = datetime.fromisoformat(done["created_at"]).astimezone(UTC)
    path = w.world.path("/reports/store-summary")

    def rows(zone: str, api=None):
        day = at.astimezone(ZoneInfo(zone)).date().isoformat()
        return ok((api or w.hq).get(path, {"since": day, "until": day}))["rows"]

    assert wait_for(lambda: rows("Asia/Shanghai"), timeout=30)[0]["recharged"] == 30000
    ok(w.hq.patch(w.world.path("/settings"), {"time_zone": "Pacific/Kiritimati"}))
    moved = wait_for(lambda: rows("Pacific/Kiritimati"), timeout=30)
    assert [(r["period"], r["recharge_count"], r["recharged"]) for r in moved] == [
        (at.astimezone(ZoneInfo("Pacific/Kiritimati")).date().isoformat(), 1, 30000)
    ]
    assert rows("Pacific/Kiritimati", w.cashier_a) == moved  # the cashier's own takings of today
