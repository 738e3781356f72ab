"""S-3 through the HTTP API with the real services: the printable receipt of a recharge, a consume
and a refund, with the figures worked out, on both papers, with the chain's footer and a
signature line, the card masked, and no receipt outside the caller's chain and store."""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from services.kit.receipts import WIDE_VALUE
from services.member.pii import mask_phone
from tests.helpers import admin_engine, build_chain, error, ok, raw_rows, unique, wait_for
from tests.wallet_helpers import wallet_world

pytestmark = pytest.mark.integration

FOOTER = "谢谢惠顾 <Thank you>\n请保留小票"
ZONE = "Asia/Shanghai"  # the chain's zone (org's default)
# 10 % off washes; a recharge of 100.00 or more brings 20.00 bonus
TIER = {
    "code": "WRCPT",
    "name": "Receipts tier",
    "rank": 20,
    "category_discounts": {"wash": 1000},
    "recharge_bonus_rules": [{"threshold": 10000, "bonus_fixed": 2000}],
}
DELUXE = {"item_code": "WASH", "name": "精洗 Deluxe wash", "category": "wash", "quantity": 2, "unit_price": 6000}
WAX = {"item_code": "W01", "name": "打蜡 Wax", "category": "wash", "quantity": 1, "unit_price": 1000}


@pytest.fixture(scope="module")
def w(admin, settings):
    world = wallet_world(admin)
    world.tier(**TIER)
    ok(world.hq.patch(world.world.path("/settings"), {"receipt_footer": FOOTER}))
    # the wallet prints from its own copy of the chain, kept from org's chain_changed
    wait_for(
        lambda: raw_rows(
            settings,
            "SELECT 1 FROM wallet.chains WHERE chain_id = :c AND receipt_footer = :f",
            c=world.world.id,
            f=FOOTER,
        )
    )
    return world


@pytest.fixture(scope="module")
def story(w):
    """One member's day: a recharge, a consume of two items split over cash and bonus, a partial refund."""
    card = w.card(tier_code="WRCPT")
    no = card["card_no"]
    server = w.manager_a.principal["staff_id"]
    recharge = ok(w.recharge(no, 10000, remark="开卡"), 201)
    sale = ok(w.consume(no, [DELUXE, WAX], serving_employee_id=server, remark="车牌 粤B·12345"), 201)
    body = {
        "transaction_id": sale["transaction_id"],
        "store_id": w.store_a,
        "reason": "one wash not done",
        "lines": [{"line_no": 1, "quantity": 1}],
    }
    refund = ok(w.cashier_a.post(w.path("/refunds"), body), 201)
    return {"card": card, "recharge": recharge, "sale": sale, "refund": refund}


def receipt(w, tx_id: str, api=None, paper: str | None = "80mm"):
    params = {"format": paper} if paper is not None else None
    return (api or w.cashier_a).get(w.path(f"/transactions/{tx_id}/receipt"), params=params)


def page_of(w, tx_id: str, api=None, paper: str = "80mm") -> str:
    result = receipt(w, tx_id, api, paper)
    assert result.status_code == 200, result.text
    assert result.headers["content-type"].startswith("text/html")
    return result.text


def row(label: str, value: str) -> str:
    label, value = html.escape(label), html.escape(value)
    if len(value) > WIDE_VALUE:  # an id: under its label, across the column
        return f"<tr><td colspan='2'>{label}</td></tr><tr><td colspan='2' class='v'>{value}</td></tr>"
    return f"<tr><td>{label}</td><td class='v'>{value}</td></tr>"


def heading(words: str) -> str:
    return f"<tr><th colspan='2'>{html.escape(words)}</th></tr>"


def local(moment: str) -> str:
    return datetime.fromisoformat(moment).astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M:%S")


def assert_common(page: str, tx: dict, card_no: str, paper: str) -> None:
    """What every receipt has: chain and store, time, the masked card, operator, id, footer, signature."""
    assert "<h1>洗车连锁 Wash Chain</h1><h2>Store A · " in page
    assert row("单号 No.", tx["transaction_id"]) in page
    assert row("时间 Time", local(tx["created_at"])) in page
    assert row("卡号 Card", "********" + card_no[-4:]) in page and card_no not in page
    assert row("操作员 Operator", "cashier A") in page
    assert "会员签名 Member signature" in page
    assert f"<div class='foot'>{html.escape(FOOTER)}</div>" in page
    assert ("size:80mm auto" in page) == (paper == "80mm") and ("size:A4" in page) == (paper == "a4")


@pytest.mark.parametrize("paper", ["80mm", "a4"])
def test_a_recharge_receipt_prints_amount_bonus_and_balances_after(w, story, paper):
    recharge, no = story["recharge"], story["card"]["card_no"]
    assert recharge["amount"] == 10000 and recharge["bonus"] == 2000
    page = page_of(w, recharge["transaction_id"], paper=paper)
    assert_common(page, recharge, no, paper)
    assert "<h2>Store A · 充值 Recharge</h2>" in page
    assert row("充值金额 Amount", "100.00") in page
    assert row("赠送金额 Bonus", "20.00") in page
    assert row("支付方式 Paid by", "现金 Cash") in page  # the method as the chain names it, not its code
    assert row("备注 Remark", "开卡") in page
    assert heading("余额 Balances after") + row("本金 Cash", "100.00") + row("赠送金 Bonus", "20.00") in page


@pytest.mark.parametrize("paper", ["80mm", "a4"])
def test_a_consume_receipt_prints_items_discount_due_split_balances_and_server(w, story, paper):
    sale, no = story["sale"], story["card"]["card_no"]
    # 2 × 60.00 = 120.00 less 10 % = 108.00; 1 × 10.00 less 10 % = 9.00; due 117.00:
    # the 100.00 cash first, then 17.00 of the 20.00 bonus
    assert sale["amount_due"] == 11700
    assert sale["paid"] == {"cash": 10000, "bonus": 1700, "credit": 0, "external": 0}
    page = page_of(w, sale["transaction_id"], paper=paper)
    assert_common(page, sale, no, paper)
    assert "<h2>Store A · 消费 Consume</h2>" in page
    items = (
        heading("商品 Items")
        + row("精洗 Deluxe wash", "")
        + row("  2 × 60.00", "120.00")
        + row("  会员折扣 Tier 10%", "-12.00")
        + row("打蜡 Wax", "")
        + row("  1 × 10.00", "10.00")
        + row("  会员折扣 Tier 10%", "-1.00")
    )
    assert items in page
    totals = row("原价 Before discount", "130.00") + row("折扣 Discount", "-13.00") + row("应付 Amount due", "117.00")
    assert totals in page
    paid = (
        heading("支付 Paid from")
        + row("本金 Cash", "100.00")
        + row("赠送金 Bonus", "17.00")
        + row("挂账 Credit", "0.00")
        + row("柜台 Counter", "0.00")
    )
    assert paid in page
    assert heading("余额 Balances after") + row("本金 Cash", "0.00") + row("赠送金 Bonus", "3.00") in page
    assert row("服务员工 Served by", "store_manager A") in page
    assert row("备注 Remark", "车牌 粤B·12345") in page


@pytest.mark.parametrize("paper", ["80mm", "a4"])
def test_a_partial_refund_receipt_prints_what_went_back_where_and_its_consume(w, story, paper):
    refund, sale, no = story["refund"], story["sale"], story["card"]["card_no"]
    # one of the two washes: 108.00 / 2 = 54.00, back in the reverse of the order paid: the 17.00
    # bonus first, then 37.00 cash
    assert refund["amount"] == 5400
    assert refund["refunded"] == {"cash": 3700, "bonus": 1700, "credit": 0, "external": 0}
    page = page_of(w, refund["transaction_id"], paper=paper)
    assert_common(page, refund, no, paper)
    assert "<h2>Store A · 退款 Refund</h2>" in page
    assert row("原单号 Original No.", sale["transaction_id"]) in page
    assert row("原单时间 Sold at", local(sale["created_at"])) in page
    assert row("退款金额 Amount", "54.00") in page
    assert row("原因 Reason", "one wash not done") in page
    back = (
        heading("退回 Back to")
        + row("本金 Cash", "37.00")
        + row("赠送金 Bonus", "17.00")
        + row("挂账 Credit", "0.00")
        + row("柜台 Counter", "0.00")
    )
    assert back in page
    assert heading("余额 Balances after") + row("本金 Cash", "37.00") + row("赠送金 Bonus", "20.00") in page


def test_the_paper_defaults_to_80mm_and_a_bad_format_is_422_naming_it(w, story):
    tx_id = story["recharge"]["transaction_id"]
    default = receipt(w, tx_id, paper=None)
    assert default.status_code == 200 and "size:80mm auto" in default.text
    bad = error(receipt(w, tx_id, paper="letter"), 422)
    assert list(bad["fields"]) == ["format"]


def test_the_card_is_masked_and_no_phone_is_printed(w, story, settings):
    no = story["card"]["card_no"]
    # the member's phone in full (HQ sees it) and masked as the wallet's card copy may hold it
    phone = ok(w.hq.get(w.world.path(f"/members/{story['card']['member_id']}")))["phone"]
    masked_phone = mask_phone(phone)
    assert "****" in masked_phone
    for tx in ("recharge", "sale", "refund"):
        page = page_of(w, story[tx]["transaction_id"])
        assert no not in page and "********" + no[-4:] in page
        assert phone not in page and masked_phone not in page


def test_store_staff_see_only_their_store_hq_sees_all_and_another_chain_sees_nothing(w, story, admin):
    tx_id = story["sale"]["transaction_id"]
    assert page_of(w, tx_id, api=w.manager_a)
    assert page_of(w, tx_id, api=w.hq)
    # a cashier of store B: as if it did not exist (the same as the transaction detail)
    refused = error(receipt(w, tx_id, api=w.cashier_b), 404)
    assert refused["code"] == "not_found"
    assert error(w.cashier_b.get(w.path(f"/transactions/{tx_id}")), 404)["code"] == "not_found"
    other = build_chain(admin)
    # another chain's HQ, on our chain's path or on its own with our transaction's id: 404, not 403
    assert error(receipt(w, tx_id, api=other.hq), 404)["code"] == "not_found"
    theirs = other.hq.get(other.path(f"/wallet/transactions/{tx_id}/receipt"))
    assert error(theirs, 404)["code"] == "not_found"


def test_a_missing_transaction_is_404_and_one_without_a_receipt_is_422(w, story):
    missing = error(receipt(w, "00000000-0000-4000-8000-000000000000"), 404)
    assert missing["code"] == "not_found"
    card = story["card"]["card_no"]
    grant = ok(
        w.manager_a.post(
            w.path("/bonus-grants"), {"card_no": card, "store_id": w.store_a, "amount": 500, "reason": "sorry"}
        ),
        201,
    )
    refused = error(receipt(w, grant["transaction_id"]), 422)
    assert list(refused["fields"]) == ["transaction_id"]


def test_names_and_footer_the_copies_lack_are_asked_of_org(w, story, settings):
    """A copy kept before receipts needed names (or whose event is still on the way) has none:
    the receipt asks org, and prints the same."""
    before = page_of(w, story["sale"]["transaction_id"])
    engine = admin_engine(settings)
    try:
        with engine.begin() as connection:
            chain = {"c": w.world.id}
            connection.execute(
                text("UPDATE wallet.chains SET name = NULL, receipt_footer = NULL WHERE chain_id = :c"), chain
            )
            connection.execute(text("UPDATE wallet.stores SET name = NULL WHERE chain_id = :c"), chain)
            connection.execute(text("UPDATE wallet.staff SET display_name = NULL WHERE chain_id = :c"), chain)
    finally:
        engine.dispose()
    assert page_of(w, story["sale"]["transaction_id"]) == before


def test_a_footer_given_when_the_chain_is_created_reaches_the_wallet_and_gift(admin, settings):
    """org's chain_created carries the footer: a chain that never changes its settings prints it."""
    footer = "开业大吉 Grand opening"
    chain = ok(
        admin.post("/chains", {"code": unique("R"), "name": "新链", "settings": {"receipt_footer": footer}}), 201
    )
    for schema in ("wallet", "gift"):
        sql = f"SELECT name, receipt_footer FROM {schema}.chains WHERE chain_id = :c"
        assert wait_for(lambda sql=sql: raw_rows(settings, sql, c=chain["id"])) == [
            {"name": "新链", "receipt_footer": footer}
        ]
