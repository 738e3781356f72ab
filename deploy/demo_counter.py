"""The demo chain's counter: members with cards and money on them, so a cashier can
look a member up, ring up a sale and print its receipt in the console right after `make demo`.

Made through the public HTTP API of the running system (`make run`), as a counter would make
them, so every rule, ledger entry and event applies. Safe to run again: each call carries a
fixed idempotency key, a member already there is left as it is, and a member who has
a card is not recharged again.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from deploy.run_all import DEFAULT_BIND, base_url

CODE = "DEMO"
# the chain's default tiers (services/member/rules.py): Silver takes 5 % off and a recharge of
# 1000 yuan or more brings 50 yuan of bonus (W-3, W-4)
# name, phone, plates, tier, store, recharge in fen
MEMBERS = (
    ("王小明", "13800135678", ["粤B12345"], "SILVER", "north", 100000),
    ("李华", "13900131234", [], "STANDARD", "north", 50000),
    ("张伟", "13700132468", ["粤B67890"], "SILVER", "south", 200000),
)


class Refused(Exception):
    def __init__(self, status: int, body: dict | None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body or {}


def call(base: str, method: str, path: str, body=None, token=None, key=None, query=""):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key:
        headers["Idempotency-Key"] = key
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base}/api/v1{path}{query}", data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as failure:
        raise Refused(failure.code, json.loads(failure.read() or b"null")) from None


def sign_in(base: str, username: str, password: str) -> dict:
    return call(base, "POST", "/auth/sign-in", {"chain": CODE, "username": username, "password": password})


def patiently(action, seconds: float = 30.0):
    """The demo chain was written straight into org's tables a moment ago: the other services
    hear of it from org's outbox, so what they refuse at first (404, 422) is asked again."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return action()
        except Refused as refused:
            if refused.status not in (404, 422, 503) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def seed_counter(base: str, password: str) -> list[dict]:
    """Members with cards and balances; returns each member's card."""
    hq = sign_in(base, "demo.hq", password)
    chain_id, token = hq["principal"]["chain_id"], hq["token"]
    chain = f"/chains/{chain_id}"

    def post(path: str, body: dict, who: str, key: str) -> dict:
        return patiently(lambda: call(base, "POST", f"{chain}{path}", body, who, key))

    stores = {s["code"]: s["id"] for s in call(base, "GET", f"{chain}/stores", token=token)["items"]}
    cards = []
    for name, phone, plates, tier_code, store, amount in MEMBERS:
        cashier = sign_in(base, f"demo.{store}.cashier", password)["token"]
        found = call(base, "GET", f"{chain}/members", token=cashier, query=f"?phone={phone}")["items"]
        member = (
            found[0]
            if found
            else post("/members", {"name": name, "phone": phone, "plates": plates}, cashier, f"demo-member-{phone}")
        )
        if member["cards"]:
            cards.append(member["cards"][0])
            continue
        card = post(f"/members/{member['id']}/cards", {"tier_code": tier_code}, cashier, f"demo-card-{phone}")
        recharge = {"card_no": card["card_no"], "store_id": stores[store], "amount": amount, "payment_method": "cash"}
        post("/wallet/recharges", recharge, cashier, f"demo-recharge-{phone}")
        cards.append(card)
    return cards


def gateway_url(env: dict) -> str:
    return base_url(env.get("HUIYUAN_GATEWAY_BIND") or DEFAULT_BIND)


def gateway_answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/ready", timeout=5):
            return True
    except (OSError, urllib.error.HTTPError):
        return False
