"""A thin HTTP client for tests, and builders for a chain with its people."""

from __future__ import annotations

import os
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from falcon import testing
from sqlalchemy import create_engine, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine

DEFAULT_PASSWORD = "correct-horse-battery"


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@dataclass
class Api:
    """Calls the gateway as one signed-in person (or nobody)."""

    client: testing.TestClient
    token: str | None
    principal: dict = field(default_factory=dict)
    # the code of the chain signed in to (None: a platform admin)
    chain: str | None = None

    @classmethod
    def sign_in(
        cls, client: testing.TestClient, username: str, password: str = DEFAULT_PASSWORD, chain: str | None = None
    ) -> Api:
        body = {"username": username, "password": password, **({"chain": chain} if chain is not None else {})}
        result = client.simulate_post("/api/v1/auth/sign-in", json=body)
        assert result.status_code == 200, result.text
        return cls(client, result.json["token"], result.json["principal"], chain)

    def headers(self, key: str | None = None, extra: dict | None = None) -> dict:
        headers = {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if key:
            headers["Idempotency-Key"] = key
        headers.update(extra or {})
        return headers

    def get(self, path: str, params: dict | None = None) -> testing.Result:
        return self.client.simulate_get(f"/api/v1{path}", params=params, headers=self.headers())

    def post(
        self, path: str, body: Any = None, key: str | None = "auto", headers: dict | None = None
    ) -> testing.Result:
        key = uuid.uuid4().hex if key == "auto" else key
        kwargs = {"json": body} if body is not None else {}
        return self.client.simulate_post(f"/api/v1{path}", headers=self.headers(key, headers), **kwargs)

    def patch(self, path: str, body: Any) -> testing.Result:
        return self.client.simulate_patch(f"/api/v1{path}", json=body, headers=self.headers())

    def put(self, path: str, body: Any) -> testing.Result:
        return self.client.simulate_put(f"/api/v1{path}", json=body, headers=self.headers())

    def as_user(self, username: str, password: str = DEFAULT_PASSWORD, chain: str | None = "same") -> Api:
        """Someone else signing in, by default at the chain this caller signed in to."""
        return Api.sign_in(self.client, username, password, self.chain if chain == "same" else chain)


def ok(result: testing.Result, status: int = 200) -> Any:
    assert result.status_code == status, f"{result.status_code}: {result.text}"
    return result.json


def error(result: testing.Result, status: int) -> dict:
    assert result.status_code == status, f"{result.status_code}: {result.text}"
    return result.json["error"]


@dataclass
class ChainWorld:
    """A chain with an HQ admin, two direct stores with a manager and a cashier
    each, and a franchisee owning a third store."""

    chain: dict
    hq: Api
    stores: dict[str, dict]
    usernames: dict[str, str]

    @property
    def id(self) -> str:
        return self.chain["id"]

    @property
    def code(self) -> str:
        return self.chain["code"]

    def path(self, rest: str = "") -> str:
        return f"/chains/{self.id}{rest}"


def build_chain(admin: Api, *, requires_store_approval: bool = False) -> ChainWorld:
    hq_name = unique("hq")
    chain = ok(
        admin.post(
            "/chains",
            {
                "code": unique("C"),
                "name": "洗车连锁 Wash Chain",
                "requires_store_approval": requires_store_approval,
                "hq_admin": {"username": hq_name, "display_name": "HQ Admin", "password": DEFAULT_PASSWORD},
            },
        ),
        201,
    )
    hq = admin.as_user(hq_name, chain=chain["code"])
    base = f"/chains/{chain['id']}"
    usernames = {"hq": hq_name}
    stores = {}
    for label in ("A", "B"):
        stores[label] = ok(
            hq.post(f"{base}/stores", {"code": unique(label), "name": f"Store {label}", "kind": "direct"}), 201
        )
        for role in ("store_manager", "cashier"):
            name = unique(f"{role[:3]}{label.lower()}")
            ok(
                hq.post(
                    f"{base}/staff",
                    {
                        "username": name,
                        "display_name": f"{role} {label}",
                        "role": role,
                        "store_id": stores[label]["id"],
                        "password": DEFAULT_PASSWORD,
                    },
                ),
                201,
            )
            usernames[f"{role}_{label}"] = name
    franchisee = unique("fr")
    ok(
        hq.post(
            f"{base}/staff",
            {"username": franchisee, "display_name": "Franchisee", "role": "franchisee", "password": DEFAULT_PASSWORD},
        ),
        201,
    )
    usernames["franchisee"] = franchisee
    fr = hq.as_user(franchisee)
    stores["F"] = ok(
        fr.post(f"{base}/stores", {"code": unique("F"), "name": "Franchise store", "kind": "franchise"}), 201
    )
    return ChainWorld(chain, hq, stores, usernames)


# the consumption categories and items the wallet tests ring up (S-2): a consume
# line's codes must be in the chain's dictionaries
CATEGORIES = ("wash", "parts", "oil", "repair", "other")
ITEMS = (("WASH", "wash"), ("W01", "wash"), ("PAD", "parts"), ("OIL", "oil"), ("R01", "repair"))


def add_catalogue(world: ChainWorld) -> None:
    for code in CATEGORIES:
        ok(world.hq.post(world.path("/categories"), {"code": code, "name": code.title()}), 201)
    for code, category in ITEMS:
        body = {"code": code, "name": code.title(), "category_code": category, "price": 100}
        ok(world.hq.post(world.path("/items"), body), 201)


# ---- looking under the services ----------------------------------------------------


def process_environment(settings, **overrides: str) -> dict[str, str]:
    """The environment of a real process (runner, gunicorn, run_all) on this test run's database
    and vhost, with the keys and role passwords it was provisioned with."""
    from services.kit.config import SERVICES, password_variable

    root = Path(__file__).resolve().parents[1]
    return {
        **os.environ,
        "HUIYUAN_DB_NAME": settings.db_name,
        "HUIYUAN_AMQP_URI": settings.amqp_uri,
        "HUIYUAN_PII_KEY": settings.pii_key,
        "HUIYUAN_PII_INDEX_KEY": settings.pii_index_key,
        # the roles were provisioned with these passwords, whatever var/huiyuan.env holds
        **{password_variable(s): settings.password(s) for s in SERVICES},
        "PYTHONPATH": str(root),
        # no metrics server unless a test asks for one: processes of parallel runs would share 9100
        "HUIYUAN_METRICS_PORT": "0",
        **overrides,
    }


def admin_engine(settings) -> Engine:
    """A superuser connection to the test database, for checks that look under the service."""
    return create_engine(settings.admin_url(settings.db_name))


def raw_rows(settings, sql: str, **params) -> list[dict]:
    """Read the database as its superuser would dump it, bypassing the service."""
    engine = admin_engine(settings)
    try:
        with engine.begin() as conn:
            return [dict(r._mapping) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def wait_for(condition, timeout: float = 10.0, interval: float = 0.1):
    """The first truthy value of `condition()`; fails the test if none comes in time
    (what an event handler does arrives a moment after the request that caused it)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: last value {value!r}")
        time.sleep(interval)


def generic_plan(conn, statement, params: dict) -> str:
    """EXPLAIN ANALYZE of `statement` as PostgreSQL runs a prepared statement after its fifth
    run, the generic plan the services' prepared statements settle on (planned for any
    parameters, not these), in the caller's transaction."""
    compiled = statement.compile(dialect=postgresql.dialect())
    values = {**compiled.params, **params}
    names: list[str] = []

    def numbered(match: re.Match) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    sql = re.sub(r"%\((\w+)\)s", numbered, compiled.string)
    conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    conn.exec_driver_sql(f"PREPARE generic_plan_probe AS {sql}")
    try:
        arguments = ", ".join(f"%({name})s" for name in names)
        rows = conn.exec_driver_sql(
            f"EXPLAIN (ANALYZE, COSTS OFF) EXECUTE generic_plan_probe({arguments})", {n: values[n] for n in names}
        )
        return "\n".join(row[0] for row in rows)
    finally:
        conn.exec_driver_sql("DEALLOCATE generic_plan_probe")
