"""Helpers for member tests: a chain with its people signed in, enrolment, raw reads."""

from __future__ import annotations

import random
from dataclasses import dataclass

from tests.helpers import Api, ChainWorld, add_catalogue, build_chain, ok, raw_rows


def random_phone() -> str:
    return "139" + "".join(random.choice("0123456789") for _ in range(8))


@dataclass
class MemberWorld:
    world: ChainWorld
    hq: Api
    cashier_a: Api
    cashier_b: Api
    manager_a: Api

    @property
    def id(self) -> str:
        return self.world.id

    def path(self, rest: str = "") -> str:
        return self.world.path(rest)

    def store(self, label: str) -> str:
        return self.world.stores[label]["id"]


def member_world(admin: Api) -> MemberWorld:
    world = build_chain(admin)
    add_catalogue(world)
    hq = world.hq
    return MemberWorld(
        world=world,
        hq=hq,
        cashier_a=hq.as_user(world.usernames["cashier_A"]),
        cashier_b=hq.as_user(world.usernames["cashier_B"]),
        manager_a=hq.as_user(world.usernames["store_manager_A"]),
    )


def enrol(api: Api, mw: MemberWorld, **fields) -> dict:
    body = {"name": "张三 Zhang San", "phone": random_phone(), **fields}
    return ok(api.post(mw.path("/members"), body), 201)


def enrol_with_card(api: Api, mw: MemberWorld, tier_code: str | None = None, **fields) -> tuple[dict, dict]:
    member = enrol(api, mw, **fields)
    body = {"tier_code": tier_code} if tier_code else {}
    card = ok(api.post(mw.path(f"/members/{member['id']}/cards"), body), 201)
    return member, card


def outbox(settings, chain_id: str, event_type: str | None = None) -> list[dict]:
    sql = "SELECT event_type, payload FROM member.outbox WHERE chain_id = :chain"
    params = {"chain": chain_id}
    if event_type:
        sql += " AND event_type = :type"
        params["type"] = event_type
    return [r["payload"] for r in raw_rows(settings, sql + " ORDER BY seq", **params)]
