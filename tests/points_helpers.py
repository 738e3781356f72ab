"""Builders for points tests: a wallet world whose chain has earning rules, and short calls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from tests.helpers import Api, error, ok, raw_rows, wait_for
from tests.wallet_helpers import WalletWorld, wallet_world

# a tier with no discount, so a line's price is what is paid; its points multiplier is the chain's rule
PGOLD = {"code": "PGOLD", "name": "Gold (points tests)", "rank": 30, "default_discount_bp": 0, "category_discounts": {}}
RULES = {"base_rate": "1", "tier_multipliers": [{"tier_code": "PGOLD", "multiplier": "1.5"}]}


def today() -> str:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


def oil(quantity: int, unit_price: int) -> dict:
    return {"item_code": "OIL", "name": "Oil change", "category": "oil", "quantity": quantity, "unit_price": unit_price}


@dataclass
class PointsWorld:
    wallet: WalletWorld

    @property
    def hq(self) -> Api:
        return self.wallet.hq

    def path(self, rest: str) -> str:
        return self.wallet.world.path(f"/points{rest}")

    def balance(self, card_no: str) -> dict:
        return ok(self.wallet.cashier_a.get(self.path(f"/cards/{card_no}/balance")))

    def wait_balance(self, card_no: str, points: int) -> dict:
        return wait_for(lambda: (b := self.balance(card_no))["balance"] == points and b, timeout=15)

    def grant(self, card_no: str, points: int, kind: str = "gift", **extra):
        body = {"card_no": card_no, "store_id": self.wallet.store_a, "kind": kind, "points": points, "reason": "test"}
        return self.wallet.manager_a.post(self.path("/grants"), {**body, **extra})

    def refused(self, result, status: int, code: str, field: str) -> dict:
        err = error(result, status)
        assert err["code"] == code and field in err.get("fields", {}), err
        return err


def points_world(admin: Api) -> PointsWorld:
    wallet = wallet_world(admin)
    wallet.tier(**PGOLD)
    ok(wallet.hq.post(wallet.world.path("/points/rules"), RULES))
    return PointsWorld(wallet)


def transactions(settings, member_id: str, kind: str | None = None) -> list[dict]:
    sql = "SELECT * FROM points.transactions WHERE member_id = :m"
    if kind:
        sql += " AND kind = :k"
    return raw_rows(settings, sql + " ORDER BY created_at", m=member_id, k=kind)
