"""A chain to load: provisioned database, a new chain each run (so a database can be
benched again and again without being recreated), one store and cashier per client, and
`cards` members with a funded card each per client.

Cards per client: a counter serves many members, one after another. With one card per
client the bench made a member consume five times a second, every downstream handler of
one consume waited on the row locks of the last one's (the member's spend, points and
message rows), and those few rows were updated thousands of times between vacuums."""

from __future__ import annotations

import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.client import Client
from services.kit import provision
from services.kit.config import Settings

ITEM = {"item_code": "W01", "name": "Wash", "category": "wash", "quantity": 1, "unit_price": 100}
FUNDS = 10**8  # fen per card: far more than a run spends
SEED_THREADS = 4


@dataclass(frozen=True)
class Card:
    card_no: str
    member_id: str


@dataclass(frozen=True)
class Seat:
    """One bench client's cards, and the cashier and store it works at; no other client
    uses these cards."""

    index: int
    store_id: str
    token: str
    cards: tuple[Card, ...]


@dataclass(frozen=True)
class World:
    chain_id: str
    code: str
    seats: tuple[Seat, ...]

    def path(self, rest: str) -> str:
        return f"/api/v1/chains/{self.chain_id}{rest}"


def prepare_database(settings: Settings) -> None:
    """Provision (create if missing, migrate; never drop) and make sure a platform admin
    exists; a new one gets a random password nobody needs (the chain is seeded below)."""
    provision.provision(settings)
    from services.org.bootstrap import ensure_platform_admin

    given = os.environ.get("HUIYUAN_ADMIN_PASSWORD")
    os.environ["HUIYUAN_ADMIN_PASSWORD"] = given or secrets.token_urlsafe(18)
    try:
        ensure_platform_admin(settings)
    finally:
        if given is None:
            del os.environ["HUIYUAN_ADMIN_PASSWORD"]


def create_chain(settings: Settings, code: str, hq_password: str) -> str:
    """A chain with an HQ admin, through org's own domain functions (as `make demo`), its
    events relayed by the running org service."""
    from contracts.auth import Actor
    from contracts.org import ChainCreate
    from services.kit.db import make_engine
    from services.kit.outbox import OutboxWriter
    from services.org import auth, chains
    from services.org.models import Staff, kit

    engine = make_engine(settings.database_url("org"), pool_size=1, application_name="huiyuan-bench")
    try:
        with Session(engine) as session, session.begin():
            admin = session.scalars(select(Staff).where(Staff.role == "platform_admin").limit(1)).one()
            actor = Actor.from_dict(auth.principal(session, admin))
            body = ChainCreate().load(
                {
                    "code": code,
                    "name": f"Bench {code}",
                    "hq_admin": {"username": "bench.hq", "display_name": "Bench HQ", "password": hq_password},
                }
            )
            return chains.create(session, OutboxWriter(kit.outbox, "org"), actor, body)["id"]
    finally:
        engine.dispose()


def sign_in(port: int, code: str, username: str, password: str) -> str:
    body = {"chain": code, "username": username, "password": password}
    return Client(port).ok("POST", "/api/v1/auth/sign-in", body, status=200)["token"]


def until_ok(action, timeout: float = 30.0):
    """The first success of `action`: what a service learns from another's events (a new
    store, a new card) arrives a moment after the request that made it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return action()
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def seed(settings: Settings, port: int, seats: int, cards: int) -> World:
    code = f"B{time.strftime('%m%d%H%M%S')}{secrets.token_hex(2).upper()}"
    password = secrets.token_urlsafe(18)
    chain_id = create_chain(settings, code, password)
    hq = Client(port, until_ok(lambda: sign_in(port, code, "bench.hq", password)))
    base = f"/api/v1/chains/{chain_id}"
    until_ok(lambda: hq.ok("POST", f"{base}/categories", {"code": "wash", "name": "Wash"}))
    hq.ok("POST", f"{base}/items", {"code": "W01", "name": "Wash", "category_code": "wash", "price": 100})

    def one_seat(i: int) -> Seat:
        client = Client(port, hq.token)
        store = client.ok("POST", f"{base}/stores", {"code": f"S{i:03d}", "name": f"Store {i}", "kind": "direct"})
        staff = {
            "username": f"bench.cashier{i}",
            "display_name": f"Cashier {i}",
            "role": "cashier",
            "store_id": store["id"],
            "password": password,
        }
        client.ok("POST", f"{base}/staff", staff)
        cashier = Client(port, sign_in(port, code, staff["username"], password))
        made = tuple(one_card(cashier, store["id"], i, n) for n in range(cards))
        return Seat(i, store["id"], cashier.token or "", made)

    def one_card(cashier: Client, store_id: str, i: int, n: int) -> Card:
        body = {"name": f"Bench {i}.{n}", "phone": f"139{i:04d}{n:04d}"}
        member = until_ok(lambda: cashier.ok("POST", f"{base}/members", body))
        card = cashier.ok("POST", f"{base}/members/{member['id']}/cards", {"store_id": store_id})
        funding = {"card_no": card["card_no"], "store_id": store_id, "amount": FUNDS, "payment_method": "cash"}
        until_ok(lambda: cashier.ok("POST", f"{base}/wallet/recharges", funding))
        return Card(card["card_no"], member["id"])

    with ThreadPoolExecutor(SEED_THREADS) as pool:
        made = tuple(pool.map(one_seat, range(seats)))
    return World(chain_id, code, made)
