"""A scripted day at two stores for the reporting tests, with its own sums worked out."""

from __future__ import annotations

from dataclasses import dataclass

from services.kit import clock
from tests.helpers import DEFAULT_PASSWORD, Api, ok, unique, wait_for
from tests.wallet_helpers import WASH, WalletWorld, wallet_world

PAD = {"item_code": "PAD", "name": "刹车片 Brake pad", "category": "parts", "quantity": 1, "unit_price": 4000}


@dataclass
class Day:
    w: WalletWorld
    today: str
    employee_id: str
    members: dict[str, str]  # "one", "two" -> member id
    consumes: dict[str, str]  # "at_b", "at_a" -> transaction id

    def path(self, rest: str) -> str:
        return self.w.world.path(rest)

    def report(self, api: Api, name: str, **query) -> dict:
        return ok(api.get(self.path(f"/reports/{name}"), {"since": self.today, "until": self.today, **query}))


def scripted_day(admin: Api) -> Day:
    """Member one recharges 1,000 yuan at A (+50 bonus) and buys a wash and a brake pad at B
    (108 + 38 after Silver's 10 % and 5 %, from A's cash), then the pad is refunded at B.
    Member two recharges 500 yuan at B (+20 bonus) and buys two washes at A (216, from B's cash)."""
    w = wallet_world(admin)
    employee = ok(
        w.hq.post(
            w.world.path("/staff"),
            {
                "username": unique("emp"),
                "display_name": "技师 Li",
                "role": "cashier",
                "store_id": w.store_b,
                "password": DEFAULT_PASSWORD,
                "level": "senior",
            },
        ),
        201,
    )
    one, two = w.card(), w.card()
    ok(w.recharge(one["card_no"], 100000), 201)
    ok(w.recharge(two["card_no"], 50000, api=w.cashier_b, store=w.store_b), 201)
    at_b = ok(
        w.consume(one["card_no"], [WASH, PAD], api=w.cashier_b, store=w.store_b, serving_employee_id=employee["id"]),
        201,
    )
    at_a = ok(w.consume(two["card_no"], [{**WASH, "quantity": 2}]), 201)
    refund = {"transaction_id": at_b["transaction_id"], "store_id": w.store_b, "lines": [{"line_no": 2, "quantity": 1}]}
    ok(w.cashier_b.post(w.path("/refunds"), {**refund, "reason": "pad returned"}), 201)
    day = Day(
        w,
        clock.today(clock.DEFAULT_TIME_ZONE).isoformat(),
        employee["id"],
        {"one": one["member_id"], "two": two["member_id"]},
        {"at_b": at_b["transaction_id"], "at_a": at_a["transaction_id"]},
    )
    wait_for(lambda: day.report(w.hq, "store-summary")["totals"]["refund_count"] == 1, timeout=60)
    return day
