"""Schemathesis hooks for fuzzing a running gateway (loaded through SCHEMATHESIS_HOOKS).

`HUIYUAN_FUZZ_WORLD` names a JSON file written by the test that seeded the system: the
base URL, the account the run acts as, the platform admin, the usernames to keep out of
sign-in fuzzing, and real references (stores, cards, members, tiers, transactions).

- The token comes from an auth provider that signs in itself (not a fixed header, which
  Schemathesis' missing-header check would put back); after a 401 it signs in again. If
  the fuzzer has locked, disabled or re-passworded the account (it may, as HQ: those are
  operations it tests), the platform admin unlocks, enables and resets it first.
- Sign-in is never fuzzed with the seeded usernames, so wrong passwords cannot lock them.
- Positive cases get real references often enough to go past "not found" into the money
  paths, and the few rules no JSON Schema can state (a Luhn or ID check character, exactly
  one of two bonus fields, a store named by HQ) are satisfied the way a real client would.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import threading
from functools import cache
from typing import Any
from urllib.parse import unquote

import requests
import schemathesis

from contracts.base import CARD_NO_PATTERN
from contracts.org import SignInRequest
from services.notification.kinds import KINDS


@cache
def world() -> dict:
    with open(os.environ["HUIYUAN_FUZZ_WORLD"], encoding="utf-8") as handle:
        return json.load(handle)


def _sign_in(username: str, password: str, chain_code: str | None) -> requests.Response:
    body = {"username": username, "password": password}
    if chain_code and "chain" in SignInRequest._declared_fields:  # staff sign in within their chain
        body["chain"] = chain_code
    return requests.post(f"{world()['base_url']}/auth/sign-in", json=body, timeout=30)


def _rescue(account: dict) -> None:
    """The platform admin puts the fuzzed account back: unlocked, enabled, its password set."""
    admin = world()["admin"]
    answer = _sign_in(admin["username"], admin["password"], None)
    answer.raise_for_status()
    headers = {"Authorization": f"Bearer {answer.json()['token']}"}
    staff = f"{world()['base_url']}/chains/{account['chain_id']}/staff/{account['staff_id']}"
    for action, body in (("unlock", None), ("enable", None), ("password", {"new_password": account["password"]})):
        headers["Idempotency-Key"] = f"rescue-{_random.getrandbits(64):x}"
        requests.post(f"{staff}/{action}", json=body, headers=headers, timeout=30)


_lock = threading.Lock()
# an instance of its own: Hypothesis warns about the shared `random` module in generation
_random = random.Random(int(os.environ.get("HUIYUAN_FUZZ_SEED", "0")))


@schemathesis.auth()
class SignedIn:
    """A token for the seeded account; signs in again after a 401 (retry_on's default)."""

    def get(self, case: Any, context: Any) -> str:
        account = world()["account"]
        with _lock:
            answer = _sign_in(account["username"], account["password"], account.get("chain_code"))
            if answer.status_code != 200:
                _rescue(account)
                answer = _sign_in(account["username"], account["password"], account.get("chain_code"))
            answer.raise_for_status()
            return answer.json()["token"]

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.hook("filter_body").apply_to(method="POST", path_regex="/auth/sign-in$")
def keep_seeded_accounts_unlocked(context: Any, body: Any) -> bool:
    """Wrong passwords for a seeded account would lock it (five in a row): never send them."""
    username = body.get("username") if isinstance(body, dict) else None  # negative cases send any JSON
    return not (isinstance(username, str) and username in world()["protected_usernames"])


# ---- real references for positive cases -----------------------------------------------------


def _luhn(body: str) -> str:
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char) * (2 if position % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return str((10 - total % 10) % 10)


def _id_check(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


_CARD_NO = re.compile(CARD_NO_PATTERN)


def _card_no(value: Any) -> Any:
    """A real card most of the time; otherwise the generated number with a correct check digit.

    Only a number the document allows is replaced: it is then no part of what a negative case
    negates, so this is safe in either mode (Schemathesis re-judges a case's mode as it sends
    it, and a negative case whose negated part turned out valid goes out as a positive one)."""
    if not (isinstance(value, str) and _CARD_NO.fullmatch(value)):
        return value
    if _random.random() < 0.8:
        return _random.choice(world()["refs"]["card_nos"])
    digits = [c for c in value if c.isdigit()] if isinstance(value, str) else []
    if len(digits) != 12:
        return value
    fixed = "".join(digits[:11]) + _luhn("".join(digits[:11]))
    return fixed


def _id_number(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = "".join(value.split()).upper()
    return text[:17] + _id_check(text[:17]) if len(text) == 18 else value


def _bonus_rules(rules: Any) -> Any:
    """Exactly one of bonus_fixed and bonus_rate_bp per rule, and distinct thresholds."""
    if not isinstance(rules, list):
        return rules
    seen, fixed = set(), []
    for rule in rules:
        if not isinstance(rule, dict) or rule.get("threshold") in seen:
            continue
        seen.add(rule.get("threshold"))
        rule = dict(rule)
        if rule.get("bonus_fixed") is not None and rule.get("bonus_rate_bp") is not None:
            rule.pop(_random.choice(("bonus_fixed", "bonus_rate_bp")))
        elif rule.get("bonus_fixed") is None and rule.get("bonus_rate_bp") is None:
            rule.pop("bonus_fixed", None)
            rule["bonus_rate_bp"] = 100
        fixed.append(rule)
    return fixed


def _body(body: dict, schema_properties: set[str]) -> dict:
    refs = world()["refs"]
    account = world()["account"]
    body = dict(body)
    if "store_id" in schema_properties and (account["role"] != "hq_admin" or _random.random() < 0.8):
        body["store_id"] = _random.choice(refs["store_ids"])  # HQ names the store; store staff their own
    if "id_number" in body:
        body["id_number"] = _id_number(body["id_number"])
    if isinstance(body.get("category_discounts"), dict):
        # keys are category codes (the document's propertyNames, which generators of OpenAPI 3.0 skip)
        body["category_discounts"] = {
            _random.choice(refs["category_codes"]): v for v in body["category_discounts"].values()
        }
    if isinstance(body.get("item_fixed"), dict):
        # keys are item codes (propertyNames again): a commission rule's fixed amount per item
        body["item_fixed"] = {_random.choice(refs["items"])[0]: v for v in body["item_fixed"].values()}
    if "recharge_bonus_rules" in body:
        body["recharge_bonus_rules"] = _bonus_rules(body["recharge_bonus_rules"])
    for name, pool in (
        ("tier_code", "tier_codes"),
        ("referrer_id", "member_ids"),
        ("home_store_id", "store_ids"),
        ("transaction_id", "consume_ids"),
        ("category_code", "category_codes"),
        ("payment_method", "payment_methods"),
        ("external_payment_method", "payment_methods"),
        ("gift_id", "gift_ids"),
    ):
        if body.get(name) is not None and _random.random() < 0.8:
            body[name] = _random.choice(refs[pool])
    if isinstance(body.get("lines"), list):
        body["lines"] = [_line(line) for line in body["lines"]]
    return body


def _line(line: Any) -> Any:
    if not isinstance(line, dict):
        return line
    refs = world()["refs"]
    line = dict(line)
    if "item_code" in line and "category" in line and _random.random() < 0.8:
        line["item_code"], line["category"] = _random.choice(refs["items"])
    if line.get("entitlement_id") is not None and _random.random() < 0.8:
        line["entitlement_id"] = None
    return line


def _instant(value: Any) -> Any:
    """A query's date or date-time as something comparable (None when it is neither)."""
    try:
        parsed = dt.datetime.fromisoformat(str(value).upper().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _in_order(query: dict) -> None:
    """`until` not before `since` (a rule across two fields, which the document cannot state)."""
    since, until = _instant(query.get("since")), _instant(query.get("until"))
    if since is not None and until is not None and until < since:
        query["since"], query["until"] = query["until"], query["since"]


_PATH_POOLS = {
    "chain_id": "chain_ids",
    "store_id": "store_ids",
    "member_id": "member_ids",
    "card_id": "card_ids",
    "tier_id": "tier_ids",
    "transaction_id": "transaction_ids",
    "gift_id": "gift_ids",
    "message_id": "message_ids",
    "campaign_id": "campaign_ids",
    "kind": "kinds",
}


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    _card_numbers(case)
    meta = getattr(case, "meta", None)
    positive = meta is not None and meta.generation.mode.is_positive
    if not positive:
        return case
    refs = world()["refs"]
    for name in list(case.path_parameters or {}):
        pool = _PATH_POOLS.get(name)
        if pool and (name == "chain_id" or _random.random() < 0.85):
            case.path_parameters[name] = _random.choice(refs[pool])
    if case.query:
        # an opaque cursor is valid only as a previous page returned it
        case.query.pop("after", None)
        if "store_id" in case.query and _random.random() < 0.8:
            case.query["store_id"] = _random.choice(refs["store_ids"])
        _in_order(case.query)
    if isinstance(case.body, dict):
        schema = case.operation.body[0].definition.get("schema", {}) if case.operation.body else {}
        properties = set(_properties(case.operation, schema))
        case.body = _body(case.body, properties)
        _days_before_only_ahead(case)
    return case


def _days_before_only_ahead(case: Any) -> None:
    """A message kind's `days_before` is for a kind sent ahead of a date only (a rule between the
    path's kind and the body, which the document cannot state)."""
    kind = (case.path_parameters or {}).get("kind")
    if "days_before" in case.body and kind in KINDS and not KINDS[kind].ahead:
        case.body.pop("days_before")


def _card_numbers(case: Any) -> None:
    """Card numbers in the path, query and body: real, or with their Luhn check digit."""
    path = case.path_parameters or {}
    if isinstance(path.get("card_no"), str):  # path parameters come percent-encoded ("%20" for a space)
        number = unquote(path["card_no"])
        fixed = _card_no(number)
        if fixed != number:
            path["card_no"] = fixed  # digits only: nothing to encode
    for container in (case.query, case.body):
        if isinstance(container, dict) and "card_no" in container:
            container["card_no"] = _card_no(container["card_no"])


def _properties(operation: Any, schema: dict) -> dict:
    ref = schema.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[-1]
        return operation.schema.raw_schema["components"]["schemas"].get(name, {}).get("properties", {})
    return schema.get("properties", {})
