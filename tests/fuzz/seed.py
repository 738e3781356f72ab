"""The state a fuzz run acts on: a chain with stores, staff, a tier, dictionaries, members
and cards with balances and purchases, made through the API before the fuzzer starts."""

from __future__ import annotations

from contracts.notification import AUTOMATIC_KINDS
from tests.helpers import DEFAULT_PASSWORD, Api, ChainWorld, build_chain, ok, wait_for
from tests.wallet_helpers import WASH, WalletWorld


def seed(admin: Api, role: str) -> dict:
    """A chain for one run, and what the run's hooks need to know about it (tests/fuzz/hooks.py).
    `role` is the account the run acts as: `hq_admin` or `cashier` (of store A)."""
    world: ChainWorld = build_chain(admin)
    hq = world.hq
    wallet = WalletWorld(
        world,
        cashier_a=hq.as_user(world.usernames["cashier_A"]),
        cashier_b=hq.as_user(world.usernames["cashier_B"]),
        manager_a=hq.as_user(world.usernames["store_manager_A"]),
    )
    tier = wallet.tier()
    for category in ("wash", "parts"):
        ok(hq.post(world.path("/categories"), {"code": category, "name": category}), 201)
    ok(hq.post(world.path("/items"), {"code": "WASH", "name": "Wash", "category_code": "wash", "price": 12000}), 201)
    cards, consumes, transactions = [], [], []
    for _ in range(3):
        card = wallet.card()
        cards.append(card)
        transactions.append(ok(wallet.recharge(card["card_no"], 200000), 201)["transaction_id"])
        consume = ok(wallet.consume(card["card_no"], [WASH]), 201)
        consumes.append(consume["transaction_id"])
    transactions += consumes
    gift = {"name": "Umbrella", "market_price": 5900, "points_cost": 600, "stock": 3}
    gift_ids = [ok(hq.post(world.path("/gifts"), gift), 201)["id"]]
    staff = {s["username"]: s for s in ok(hq.get(world.path("/staff")))["items"]}
    # the notifications the purchases caused, and a draft campaign: real ids for those paths
    messages = wait_for(lambda: ok(hq.get(world.path("/notifications/messages")))["items"], 15)
    campaign = ok(hq.post(world.path("/notifications/campaigns"), {"name": "fuzz", "text": "{member_name}"}), 201)
    username = world.usernames["hq" if role == "hq_admin" else "cashier_A"]
    store_ids = [s["id"] for s in world.stores.values()] if role == "hq_admin" else [world.stores["A"]["id"]]
    return {
        "account": {
            "username": username,
            "password": DEFAULT_PASSWORD,
            "role": role,
            "chain_id": world.id,
            "chain_code": world.chain["code"],
            "staff_id": staff[username]["id"],
        },
        "protected_usernames": sorted(world.usernames.values()),
        "refs": {
            "chain_ids": [world.id],
            "store_ids": store_ids,
            "card_nos": [c["card_no"] for c in cards],
            "card_ids": [c["id"] for c in cards],
            "member_ids": [c["member_id"] for c in cards],
            "tier_ids": [tier["id"]],
            "tier_codes": [tier["code"]],
            "transaction_ids": transactions,
            "message_ids": [m["id"] for m in messages],
            "campaign_ids": [campaign["id"]],
            "kinds": list(AUTOMATIC_KINDS),
            "consume_ids": consumes,
            "category_codes": ["wash", "parts"],
            "payment_methods": ["cash"],
            "items": [["WASH", "wash"]],
            "gift_ids": gift_ids,
        },
    }
