"""The wallet's receipt layout (S-3) with worked numbers, straight from the transaction record:
what each kind prints, packages, credit, a counter payment, names the copies lack."""

from __future__ import annotations

import html

import pytest

from services.wallet.receipts import Facts, receipt

FACTS = Facts(
    chain_name="洗车连锁",
    store_name="Store A",
    time_zone="Asia/Shanghai",
    footer="谢谢惠顾",
    staff_names={"op-1": "Li <Cashier>", "emp-1": "Wang"},
    method_names={"wechat": "微信 WeChat Pay", "alipay": "支付宝 Alipay"},
)


def row(label: str, value: str) -> str:
    return f"<tr><td>{html.escape(label)}</td><td class='v'>{html.escape(value)}</td></tr>"


def record(kind: str, **figures) -> dict:
    base = {
        "transaction_id": "t-1",
        "kind": kind,
        "created_at": "2026-05-01T15:59:59+00:00",
        "store_id": "s-1",
        "operator_id": "op-1",
        "member_id": "m-1",
        "card_no": "620000000017",
        "ref_transaction_id": None,
        "payment_method": None,
        "gross": 0,
        "discount": 0,
        "amount": 0,
        "bonus": 0,
        "paid": {"cash": 0, "bonus": 0, "credit": 0, "external": 0},
        "lines": [],
        "remark": "",
        "serving_employee_id": None,
        "plate": None,
        "cash_after": 0,
        "bonus_after": 0,
        "credit_used_after": 0,
    }
    return {**base, **figures}


def line(no: int, **figures) -> dict:
    base = {
        "line_no": no,
        "item_code": "WASH",
        "name": "",
        "category": "wash",
        "quantity": 1,
        "unit_price": 0,
        "gross": 0,
        "discount_bp": 0,
        "discount": 0,
        "net": 0,
        "entitlement_id": None,
        "counts_used": 0,
        "refunded_quantity": 0,
    }
    return {**base, **figures}


def test_a_recharge_prints_amount_bonus_and_balances_in_the_chain_zone():
    tx = record("recharge", amount=100000, bonus=5000, payment_method="wechat", cash_after=100050, bonus_after=5000)
    page = receipt(tx, FACTS, "80mm")
    assert row("时间 Time", "2026-05-01 23:59:59") in page  # 15:59:59 UTC is the same day in Shanghai
    assert row("充值金额 Amount", "1000.00") in page and row("赠送金额 Bonus", "50.00") in page
    assert row("支付方式 Paid by", "微信 WeChat Pay") in page and "wechat" not in page  # named as the chain names it
    assert row("本金 Cash", "1000.50") in page and row("赠送金 Bonus", "50.00") in page
    assert row("卡号 Card", "********0017") in page and "620000000017" not in page
    assert row("操作员 Operator", "Li <Cashier>") in page and "<Cashier>" not in page
    assert "已用信用" not in page  # no credit used: not printed
    assert "谢谢惠顾" in page and "会员签名 Member signature" in page


def test_a_consume_prints_a_package_line_credit_and_the_counter_with_its_method():
    lines = [
        # 3 × 33.33 = 99.99 less 12.5 % = 12.50 (half up per line) -> 87.49
        line(
            1,
            name="Pads",
            item_code="PAD",
            quantity=3,
            unit_price=3333,
            gross=9999,
            discount_bp=1250,
            discount=1250,
            net=8749,
        ),
        # paid with one count of a package: no money
        line(2, name="", quantity=1, unit_price=12000, entitlement_id="e-1", counts_used=1),
    ]
    tx = record(
        "consume",
        gross=9999,
        discount=1250,
        amount=8749,
        lines=lines,
        payment_method="alipay",
        paid={"cash": 0, "bonus": 0, "credit": 5000, "external": 3749},
        credit_used_after=5000,
        serving_employee_id="emp-9",
        plate="粤B12345",
    )
    page = receipt(tx, FACTS, "a4")
    assert row("Pads", "") + row("  3 × 33.33", "99.99") + row("  会员折扣 Tier 12.5%", "-12.50") in page
    # an unnamed line prints its code; its package count instead of money
    assert row("WASH", "") + row("  1 × 120.00", "0.00") + row("  次卡 Package, 1 used", "") in page
    assert row("应付 Amount due", "87.49") in page
    assert row("挂账 Credit", "50.00") + row("柜台 Counter (支付宝 Alipay)", "37.49") in page
    assert row("已用信用 Credit used", "50.00") in page
    # a serving employee the copies have not named yet is printed by id, not left out
    assert row("服务员工 Served by", "emp-9") in page and row("车牌 Plate", "粤B12345") in page
    assert page.index("Served by") < page.index("Plate") < page.index("商品 Items")  # with the sale, before the money
    assert "备注" not in page  # no remark


def test_a_refund_prints_its_consume_even_before_it_is_looked_up():
    tx = record(
        "refund",
        amount=5400,
        ref_transaction_id="t-0",
        paid={"cash": 3700, "bonus": 1700, "credit": 0, "external": 0},
        remark="not done",
    )
    looked_up = Facts(
        **{**FACTS.__dict__, "original": {"transaction_id": "t-0", "created_at": "2026-05-01T01:00:00+00:00"}}
    )
    page = receipt(tx, looked_up, "80mm")
    assert row("原单号 Original No.", "t-0") + row("原单时间 Sold at", "2026-05-01 09:00:00") in page
    assert row("本金 Cash", "37.00") + row("赠送金 Bonus", "17.00") in page
    assert row("原因 Reason", "not done") in page
    assert row("原单号 Original No.", "t-0") in receipt(tx, FACTS, "80mm")


def test_a_refund_to_the_counter_names_its_method_or_prints_its_code_when_the_name_is_not_known():
    # 30.00 of a consume paid 20.00 at the counter by Alipay goes back: 10.00 to cash, 20.00 to the counter
    tx = record(
        "refund", amount=3000, payment_method="alipay", paid={"cash": 1000, "bonus": 0, "credit": 0, "external": 2000}
    )
    assert row("柜台 Counter (支付宝 Alipay)", "20.00") in receipt(tx, FACTS, "80mm")
    unnamed = Facts(**{**FACTS.__dict__, "method_names": {}})
    assert row("柜台 Counter (alipay)", "20.00") in receipt(tx, unnamed, "80mm")


def test_only_recharges_consumes_and_refunds_have_a_receipt():
    with pytest.raises(ValueError, match="fee"):
        receipt(record("fee"), FACTS, "80mm")
