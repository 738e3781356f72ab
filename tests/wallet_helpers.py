"""Builders for wallet tests: a chain with a Silver tier, members with cards, and short calls."""

from __future__ import annotations

import random
from dataclasses import dataclass

from tests.helpers import Api, ChainWorld, add_catalogue, build_chain, error, ok, unique

# W-3 / W-4 worked examples: >= 1000 yuan recharge -> +50 yuan bonus; 10 % off washes
SILVER = {
    "code": "WSILVER",
    "name": "Silver (wallet tests)",
    "rank": 10,
    "default_discount_bp": 0,
    "category_discounts": {"wash": 1000, "parts": 500},
    "recharge_bonus_rules": [
        {"threshold": 50000, "bonus_fixed": 2000},
        {"threshold": 100000, "bonus_fixed": 5000},
        {"threshold": 300000, "bonus_rate_bp": 800},
    ],
}
WASH = {"item_code": "WASH", "name": "Standard wash", "category": "wash", "quantity": 1, "unit_price": 12000}


@dataclass
class WalletWorld:
    world: ChainWorld
    cashier_a: Api
    cashier_b: Api
    manager_a: Api

    @property
    def hq(self) -> Api:
        return self.world.hq

    @property
    def store_a(self) -> str:
        return self.world.stores["A"]["id"]

    @property
    def store_b(self) -> str:
        return self.world.stores["B"]["id"]

    def path(self, rest: str) -> str:
        return self.world.path(f"/wallet{rest}")

    def tier(self, **overrides) -> dict:
        body = {**SILVER, **overrides}
        return ok(self.hq.post(self.world.path("/tiers"), body), 201)

    def card(self, tier_code: str = "WSILVER", plates: list[str] | None = None, **issue) -> dict:
        """Enrol a member at store A and issue a card; returns the card."""
        phone = f"139{random.randint(0, 99999999):08d}"
        member = ok(
            self.cashier_a.post(
                self.world.path("/members"), {"name": unique("会员"), "phone": phone, "plates": plates or []}
            ),
            201,
        )
        body = {"tier_code": tier_code, **issue}
        return ok(self.cashier_a.post(self.world.path(f"/members/{member['id']}/cards"), body), 201)

    # ---- wallet calls -----------------------------------------------------------------

    def recharge(
        self,
        card_no: str,
        amount: int,
        api: Api | None = None,
        store: str | None = None,
        key: str | None = "auto",
        **extra,
    ):
        body = {
            "card_no": card_no,
            "store_id": store or self.store_a,
            "amount": amount,
            "payment_method": "cash",
            **extra,
        }
        return (api or self.cashier_a).post(self.path("/recharges"), body, key=key)

    def consume(
        self,
        card_no: str,
        lines: list[dict],
        api: Api | None = None,
        store: str | None = None,
        key: str | None = "auto",
        **extra,
    ):
        body = {"card_no": card_no, "store_id": store or self.store_a, "lines": lines, **extra}
        return (api or self.cashier_a).post(self.path("/consumes"), body, key=key)

    def balances(self, card_no: str, api: Api | None = None) -> dict:
        return ok((api or self.cashier_a).get(self.path(f"/cards/{card_no}/balances")))["balances"]

    def refused(self, result, status: int, code: str, card_no: str, before: dict) -> dict:
        """The request was refused with `code`, and no balance moved."""
        err = error(result, status)
        assert err["code"] == code, err
        assert self.balances(card_no) == before
        return err


def wallet_world(admin: Api) -> WalletWorld:
    world = build_chain(admin)
    add_catalogue(world)
    wallet = WalletWorld(
        world,
        cashier_a=world.hq.as_user(world.usernames["cashier_A"]),
        cashier_b=world.hq.as_user(world.usernames["cashier_B"]),
        manager_a=world.hq.as_user(world.usernames["store_manager_A"]),
    )
    wallet.tier()
    return wallet
