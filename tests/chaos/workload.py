"""A chain to sell in, and till threads selling in it while the faults happen.

The chain (two stores, a cashier each, members with cards on a tier with a
recharge bonus and category discounts) is made through the HTTP API. Each
till thread recharges, consumes and refunds under fresh keys, retrying each
key until a definite answer; every acknowledged answer moves the card's
expected balances by the amounts the API reported.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass, field

from tests.chaos.system import ADMIN_PASSWORD
from tests.chaos.tills import Http, KeyBook, KeyRecord, send_until_definite

STAFF_PASSWORD = "chaos-staff-password-1"
TIER = {
    "code": "CHAOSTIER",
    "name": "Chaos tier",
    "rank": 100,  # the top: no automatic upgrade changes the discounts mid-run
    "category_discounts": {"wash": 1000, "parts": 500},
    "recharge_bonus_rules": [{"threshold": 50000, "bonus_fixed": 2000}],
}
ITEMS = [("WASH", "wash", 3000, 8000), ("WAX", "wash", 5000, 12000), ("OILF", "parts", 2000, 15000)]
INITIAL_CASH = 100000


class SetupFailed(RuntimeError):
    pass


@dataclass
class Card:
    card_no: str
    member_id: str
    cash: int = 0
    bonus: int = 0
    spend: int = 0


@dataclass
class World:
    chain_id: str
    chain_code: str
    stores: list[str]
    cashier_tokens: dict[str, str]  # store id -> token
    cards: dict[str, Card] = field(default_factory=dict)  # every card, checked at the end
    till_cards: list[str] = field(default_factory=list)  # the ones the till threads sell on
    lock: threading.Lock = field(default_factory=threading.Lock)
    # acknowledged consumes not yet refunded: (transaction id, store id, card number)
    refundable: list[tuple[str, str, str]] = field(default_factory=list)
    cashiers: dict[str, Http] = field(default_factory=dict)  # store id -> the setup's client

    def path(self, rest: str) -> str:
        return f"/chains/{self.chain_id}{rest}"

    def apply(self, record: KeyRecord) -> None:
        """Move the expected balances by an acknowledged answer (once per key)."""
        status, body = record.first
        if not (200 <= status < 300) or not isinstance(body, dict) or record.card_no is None:
            return
        with self.lock:
            card = self.cards[record.card_no]
            if record.op == "recharge":
                card.cash += body["amount"]
                card.bonus += body["bonus"]
            elif record.op == "consume":
                card.cash -= body["paid"]["cash"]
                card.bonus -= body["paid"]["bonus"]
                card.spend += body["amount_due"]
                self.refundable.append((body["transaction_id"], record.body["store_id"], record.card_no))
            elif record.op == "refund":
                card.cash += body["refunded"]["cash"]
                card.bonus += body["refunded"]["bonus"]
                card.spend -= body["amount"]

    def take_refundable(self, store_id: str, rng: random.Random) -> tuple[str, str, str] | None:
        with self.lock:
            mine = [i for i, (_, s, _) in enumerate(self.refundable) if s == store_id]
            if not mine:
                return None
            return self.refundable.pop(rng.choice(mine))


def sign_in(http: Http, username: str, password: str, chain_code: str | None = None) -> str:
    """A token. Chain staff name their chain; a gateway that does not know the
    field yet refuses it (422), and then the sign-in is sent without it."""
    body = {"username": username, "password": password}
    if chain_code:
        status, answer = http.call("POST", "/auth/sign-in", {"chain": chain_code, **body})
        if status == 200:
            return answer["token"]
        if status not in (400, 422):
            raise SetupFailed(f"sign-in of {username}: {status} {answer}")
    status, answer = http.call("POST", "/auth/sign-in", body)
    if status != 200:
        raise SetupFailed(f"sign-in of {username}: {status} {answer}")
    return answer["token"]


def _create(http: Http, book: KeyBook, path: str, body: dict, op: str = "setup", card_no: str | None = None) -> dict:
    record = book.open(KeyRecord(f"chaos-setup-{uuid.uuid4().hex}", op, path, body, card_no, http.token or ""))
    result = send_until_definite(http, book, record, give_up_after=60)
    if result is None or not (200 <= result[0] < 300):
        raise SetupFailed(f"POST {path}: {result}")
    return result[1]


def build_world(port: int, timeout: float, book: KeyBook, cards: int, rng: random.Random) -> World:
    admin = Http(port, timeout)
    admin.token = sign_in(admin, "admin", ADMIN_PASSWORD)
    code = f"CHAOS{uuid.uuid4().hex[:6].upper()}"
    hq_name = f"chaos.hq.{uuid.uuid4().hex[:6]}"
    chain = _create(
        admin,
        book,
        "/chains",
        {
            "code": code,
            "name": "Chaos Car Wash",
            "hq_admin": {"username": hq_name, "display_name": "HQ", "password": STAFF_PASSWORD},
        },
    )
    hq = Http(port, timeout)
    hq.token = sign_in(hq, hq_name, STAFF_PASSWORD, code)
    world = World(chain["id"], code, [], {})
    _create(hq, book, world.path("/tiers"), TIER)
    # a consume may name only the chain's own categories and items
    for category in sorted({c for _, c, _, _ in ITEMS} | {"goods"}):
        _create(hq, book, world.path("/categories"), {"code": category, "name": category.title()})
    for item, category, low, _ in [*ITEMS, ("GOODS", "goods", 100, 0)]:
        body = {"code": item, "name": item.title(), "category_code": category, "price": low}
        _create(hq, book, world.path("/items"), body)
    cashiers: dict[str, Http] = {}
    for label in ("A", "B"):
        store = _create(
            hq, book, world.path("/stores"), {"code": f"S{label}", "name": f"Store {label}", "kind": "direct"}
        )
        world.stores.append(store["id"])
        username = f"chaos.cashier.{label.lower()}.{uuid.uuid4().hex[:4]}"
        _create(
            hq,
            book,
            world.path("/staff"),
            {
                "username": username,
                "display_name": f"Cashier {label}",
                "role": "cashier",
                "store_id": store["id"],
                "password": STAFF_PASSWORD,
            },
        )
        cashier = Http(port, timeout)
        cashier.token = sign_in(cashier, username, STAFF_PASSWORD, code)
        world.cashier_tokens[store["id"]] = cashier.token
        cashiers[store["id"]] = cashier
    world.cashiers = cashiers
    world.till_cards = [enrol(world, book, n, INITIAL_CASH, rng) for n in range(cards)]
    return world


def enrol(world: World, book: KeyBook, n: int, cash: int, rng: random.Random) -> str:
    """A member with a card holding `cash` (recharged through the API); returns the card number."""
    store_id = world.stores[n % len(world.stores)]
    cashier = world.cashiers[store_id]
    member = _create(
        cashier,
        book,
        world.path("/members"),
        {"name": f"Member {n}", "phone": f"139{rng.randrange(10**8):08d}", "home_store_id": store_id},
    )
    card = _create(cashier, book, world.path(f"/members/{member['id']}/cards"), {"tier_code": TIER["code"]})
    world.cards[card["card_no"]] = Card(card["card_no"], member["id"])
    body = {"card_no": card["card_no"], "store_id": store_id, "amount": cash, "payment_method": "cash"}
    path = world.path("/wallet/recharges")
    key = f"chaos-seed-{uuid.uuid4().hex}"
    record = book.open(KeyRecord(key, "recharge", path, body, card["card_no"], cashier.token or ""))
    result = send_until_definite(cashier, book, record, give_up_after=60)
    if result is None or result[0] != 201:
        raise SetupFailed(f"first recharge of {card['card_no']}: {result}")
    world.apply(record)
    return card["card_no"]


@dataclass
class TillStats:
    started: int = 0
    acknowledged: int = 0
    refused: int = 0
    unresolved: list[KeyRecord] = field(default_factory=list)


class Till(threading.Thread):
    """One till at one store, selling until told to stop."""

    def __init__(
        self,
        n: int,
        world: World,
        book: KeyBook,
        port: int,
        timeout: float,
        seed: int,
        stop: threading.Event,
        give_up_after: float,
        gate: threading.Event,
    ) -> None:
        super().__init__(name=f"till-{n}", daemon=True)
        self.n = n
        self.world = world
        self.book = book
        self.store_id = world.stores[n % len(world.stores)]
        self.http = Http(port, timeout, world.cashier_tokens[self.store_id])
        self.rng = random.Random(seed * 1000 + n)
        self.stop = stop
        self.gate = gate  # cleared while a fault needs the tills to hold back
        self.give_up_after = give_up_after
        self.stats = TillStats()
        self.counter = 0

    def _lines(self) -> list[dict]:
        lines = []
        for _ in range(self.rng.randint(1, 2)):
            code, category, low, high = self.rng.choice(ITEMS)
            price = self.rng.randrange(low, high, 100)
            lines.append(
                {
                    "item_code": code,
                    "name": code,
                    "category": category,
                    "quantity": self.rng.randint(1, 2),
                    "unit_price": price,
                }
            )
        return lines

    def _next(self) -> tuple[str, str, dict, str | None]:
        card_no = self.rng.choice(self.world.till_cards)
        roll = self.rng.random()
        if roll < 0.15:
            taken = self.world.take_refundable(self.store_id, self.rng)
            if taken is not None:
                tx_id, store_id, refund_card = taken
                body = {"transaction_id": tx_id, "store_id": store_id, "reason": "chaos refund"}
                return "refund", "/wallet/refunds", body, refund_card
        if roll < 0.45:
            amount = self.rng.choice([10000, 20000, 30000, 50000, 60000])
            body = {"card_no": card_no, "store_id": self.store_id, "amount": amount, "payment_method": "cash"}
            return "recharge", "/wallet/recharges", body, card_no
        lines = self._lines()
        if self.rng.random() < 0.1:  # more than any card holds: a definite refusal, which must stay one
            lines[0] = {**lines[0], "unit_price": 5_000_000}
        body = {"card_no": card_no, "store_id": self.store_id, "lines": lines}
        return "consume", "/wallet/consumes", body, card_no

    def run(self) -> None:
        while not self.stop.is_set():
            if not self.gate.wait(timeout=1.0):
                continue
            op, rest, body, card_no = self._next()
            self.counter += 1
            key = f"chaos-{self.n}-{self.counter}-{uuid.uuid4().hex[:8]}"
            record = self.book.open(KeyRecord(key, op, self.world.path(rest), body, card_no, self.http.token or ""))
            self.stats.started += 1
            result = send_until_definite(
                self.http, self.book, record, give_up_after=self.give_up_after, stop=self.stop, rng=self.rng
            )
            if result is None:
                self.stats.unresolved.append(record)
            elif 200 <= result[0] < 300:
                self.stats.acknowledged += 1
                self.world.apply(record)
            else:
                self.stats.refused += 1
            time.sleep(self.rng.uniform(0.1, 0.4))
