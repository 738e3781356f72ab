"""The platform underneath: schema isolation, migrations, outbox, inbox, idempotency."""

import dataclasses
import json
import time
import uuid

import eventlet
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from kombu import Connection, Exchange, Queue
from nameko.runners import ServiceRunner
from nameko.standalone.events import event_dispatcher
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from contracts.events import Event
from services.kit import config, handlers, inbox, migrations, parked, provision
from services.kit.db import Database, make_engine
from services.kit.handlers import handles
from services.org.models import Base as OrgBase
from services.org.models import kit as org_kit
from tests.helpers import admin_engine, build_chain, ok, raw_rows, unique, wait_for

pytestmark = pytest.mark.integration


def metadata_of(service):
    module = __import__(f"services.{service}.models", fromlist=["Base"])
    return module.Base.metadata


@pytest.fixture
def superuser(provisioned):
    engine = admin_engine(provisioned)
    yield engine
    engine.dispose()


def test_a_service_role_cannot_read_another_schema(provisioned, superuser):
    # a schema of another owner, as every other service's schema is to org
    with superuser.begin() as conn:
        conn.execute(
            text("DO $$ BEGIN CREATE ROLE huiyuan_probe NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        )
        conn.execute(text("CREATE SCHEMA IF NOT EXISTS probe AUTHORIZATION huiyuan_probe"))
        conn.execute(text("CREATE TABLE IF NOT EXISTS probe.secrets (v text)"))
    schemas = ["probe", *[s for s in config.SERVICES if s != "org"]]
    engine = make_engine(provisioned.database_url("org"), pool_size=1, application_name="isolation-test")
    try:
        for schema in schemas:
            table = "secrets" if schema == "probe" else "outbox"
            with engine.connect() as conn, pytest.raises(ProgrammingError, match="permission denied for schema"):
                conn.execute(text(f"SELECT * FROM {schema}.{table}"))
        with engine.connect() as conn, pytest.raises(ProgrammingError, match="permission denied for schema public"):
            conn.execute(text("CREATE TABLE public.sneaky (v int)"))
        with engine.connect() as conn:  # its own schema, by search_path: the platform admin is there
            assert conn.execute(text("SELECT count(*) FROM staff WHERE role = 'platform_admin'")).scalar() >= 1
    finally:
        engine.dispose()


@pytest.mark.parametrize("service", config.SERVICES)
def test_migrations_match_the_models(provisioned, service):
    engine = create_engine(provisioned.database_url(service), connect_args=migrations.NEUTRAL_SEARCH_PATH)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "include_schemas": True,
                    "include_name": lambda name, type_, parent: type_ != "schema" or name == service,
                    "compare_server_default": True,
                    "version_table_schema": service,
                },
            )
            assert compare_metadata(context, metadata_of(service)) == []
    finally:
        engine.dispose()


def test_committed_events_are_published_with_the_request_id(provisioned, admin, client):
    exchange = Exchange("org.events", type="topic", durable=True)
    probe = Queue(f"probe-{uuid.uuid4().hex}", exchange, routing_key="chain_created", auto_delete=True)
    with Connection(provisioned.amqp_uri) as conn:
        with conn.SimpleQueue(probe) as queue:
            result = client.simulate_post(
                "/api/v1/chains",
                json={"code": unique("EV"), "name": "Evented"},
                headers={
                    "Authorization": f"Bearer {admin.token}",
                    "Idempotency-Key": uuid.uuid4().hex,
                    "X-Request-Id": "req-outbox-1",
                },
            )
            chain = ok(result, 201)
            deadline = eventlet.Timeout(10)
            try:
                while True:
                    message = queue.get(timeout=10)
                    message.ack()
                    payload = message.payload if isinstance(message.payload, dict) else json.loads(message.payload)
                    if payload["data"]["chain_id"] == chain["id"]:
                        break
            finally:
                deadline.cancel()
    assert payload["source"] == "org" and payload["type"] == "chain_created"
    assert payload["correlation_id"] == "req-outbox-1"
    assert payload["chain_id"] == chain["id"]


def test_inbox_accepts_an_event_once(provisioned):
    engine = make_engine(provisioned.database_url("org"), pool_size=1, application_name="inbox-test")
    event = Event(str(uuid.uuid4()), "member", "member_enrolled", 1, "2026-01-01T00:00:00+00:00", None, None, {})
    from sqlalchemy.orm import Session

    try:
        with Session(engine) as session, session.begin():
            assert inbox.first_delivery(session, org_kit.inbox, event) is True
        with Session(engine) as session, session.begin():
            assert inbox.first_delivery(session, org_kit.inbox, event) is False
        with engine.connect() as conn:
            count = conn.execute(select(org_kit.inbox.c.event_id).where(org_kit.inbox.c.event_id == event.id)).all()
        assert len(count) == 1
    finally:
        engine.dispose()


def test_a_batchs_inbox_records_are_one_statement_and_name_only_the_new(provisioned):
    from sqlalchemy import event as sa_event
    from sqlalchemy.orm import Session

    engine = make_engine(provisioned.database_url("org"), pool_size=1, application_name="inbox-test")
    made = [
        Event(str(uuid.uuid4()), "member", "member_enrolled", 1, "2026-01-01T00:00:00+00:00", None, None, {})
        for _ in range(4)
    ]
    statements = []
    sa_event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    try:
        with Session(engine) as session, session.begin():
            assert inbox.first_delivery(session, org_kit.inbox, made[0]) is True
        statements.clear()
        with Session(engine) as session, session.begin():
            # one handled before, one delivered twice in the batch: the other three are new, each once
            fresh = inbox.first_deliveries(session, org_kit.inbox, [made[2], made[0], made[1], made[2], made[3]])
        assert fresh == {made[1].id, made[2].id, made[3].id}
        assert len([s for s in statements if "inbox" in s]) == 1
        with Session(engine) as session, session.begin():
            assert inbox.first_deliveries(session, org_kit.inbox, made) == set()
        with engine.connect() as conn:
            rows = conn.execute(
                select(org_kit.inbox.c.event_id, org_kit.inbox.c.source, org_kit.inbox.c.event_type).where(
                    org_kit.inbox.c.event_id.in_([e.id for e in made])
                )
            ).all()
        assert sorted(rows) == sorted((e.id, "member", "member_enrolled") for e in made)
    finally:
        engine.dispose()


def test_an_event_delivered_twice_in_one_batch_is_applied_once(provisioned):
    from sqlalchemy.orm import Session

    applied = []

    class Counting:
        name = "counting"
        kit_tables = org_kit

        @handles("org", "dictionary_changed")
        def on_changed(self, event):
            applied.append(event.id)

    engine = make_engine(provisioned.database_url("org"), pool_size=1, application_name="batch-dup-test")

    def payload() -> dict:
        return {
            "id": str(uuid.uuid4()),
            "source": "org",
            "type": "dictionary_changed",
            "version": 1,
            "occurred_at": "2026-01-01T00:00:00+00:00",
            "chain_id": None,
            "correlation_id": None,
            "data": {"dictionary": "items", "code": "W01", "entry": {}},
        }

    one, other = payload(), payload()
    service = Counting()
    try:
        with Session(engine) as session:
            service.db = session
            # none goes back on the queue; the twice-delivered one applied once
            assert Counting.on_changed(service, [one, other, one]) == [False, False, False]
        assert sorted(applied) == sorted([one["id"], other["id"]])
    finally:
        engine.dispose()


def test_concurrent_requests_with_one_key_create_one_store(admin, rpc_pool):
    world = build_chain(admin)
    key = uuid.uuid4().hex
    body = {"code": unique("C"), "name": "Concurrent", "kind": "direct"}
    actor = world.hq.principal
    pool = eventlet.GreenPool(8)
    results = list(pool.imap(lambda _: rpc_pool.call("org", "create_store", actor, world.id, body, key), range(8)))
    assert len({r["id"] for r in results}) == 1
    codes = [s["code"] for s in ok(world.hq.get(world.path("/stores"), {"limit": 200}))["items"]]
    assert codes.count(body["code"]) == 1


def test_org_metadata_is_in_its_own_schema():
    assert {t.schema for t in OrgBase.metadata.tables.values()} == {"org"}


class FailsOnce:
    """A consumer whose handler fails the first time it sees each event."""

    name = "fails_once"
    db = Database()
    kit_tables = org_kit  # org's inbox: org consumes none of its own events
    calls: list[str] = []

    @handles("org", "chain_created")
    def on_chain_created(self, event):
        FailsOnce.calls.append(event.data["chain_id"])
        if FailsOnce.calls.count(event.data["chain_id"]) == 1:
            raise RuntimeError("a passing failure (database restarting, say)")


def test_an_event_whose_handler_fails_is_delivered_again_not_lost(provisioned, admin, rpc_pool):
    config = provisioned.nameko_config()
    config["DATABASE_URLS"] = {**config["DATABASE_URLS"], "fails_once": provisioned.database_url("org")}
    runner = ServiceRunner(config)
    runner.add_service(FailsOnce)
    runner.start()
    try:
        chain = rpc_pool.call("org", "create_chain", admin.principal, {"code": unique("RQ"), "name": "Retry"}, "rq-1")
        deadline = time.monotonic() + 15
        while FailsOnce.calls.count(chain["id"]) < 2 and time.monotonic() < deadline:
            eventlet.sleep(0.1)
        assert FailsOnce.calls.count(chain["id"]) == 2  # failed once, delivered again, handled
        # handled for good: its failure is no longer on record (the second call has committed)
        failing = "SELECT 1 AS f FROM org.event_failures WHERE payload->'data'->>'chain_id' = :c"
        wait_for(lambda: raw_rows(provisioned, failing, c=chain["id"]) == [])
    finally:
        runner.stop()


class FailsUntilFixed:
    """A consumer whose handler fails for the PK stores of one chain until `fixed` is set."""

    name = "fails_until_fixed"
    db = Database()
    kit_tables = org_kit
    target: str | None = None
    fixed = False
    calls: list[str] = []

    @handles("org", "store_changed")
    def on_store_changed(self, event):
        if event.data["chain_id"] != FailsUntilFixed.target or not event.data["code"].startswith("PK"):
            return
        FailsUntilFixed.calls.append(event.id)
        if not FailsUntilFixed.fixed:
            raise RuntimeError("a bug, until fixed")


def test_an_event_that_keeps_failing_is_parked_then_replayed_once_fixed(provisioned, admin, rpc_pool, monkeypatch):
    monkeypatch.setattr(handlers, "FIRST_PAUSE_SECONDS", 0.01)
    config = provisioned.nameko_config()
    config["DATABASE_URLS"] = {**config["DATABASE_URLS"], "fails_until_fixed": provisioned.database_url("org")}
    runner = ServiceRunner(config)
    runner.add_service(FailsUntilFixed)
    runner.start()
    engine = make_engine(provisioned.database_url("org"), pool_size=1, application_name="parked-test")
    try:
        world = build_chain(admin)
        FailsUntilFixed.target = world.id
        store = ok(
            world.hq.post(world.path("/stores"), {"code": unique("PK"), "name": "Parked", "kind": "direct"}), 201
        )
        deadline = time.monotonic() + 15
        while len(FailsUntilFixed.calls) < handlers.MAX_ATTEMPTS and time.monotonic() < deadline:
            eventlet.sleep(0.1)
        eventlet.sleep(0.5)  # time for a sixth attempt, which must not come
        assert len(FailsUntilFixed.calls) == handlers.MAX_ATTEMPTS
        [row] = [r for r in parked.parked(engine, "org") if r.payload["data"]["store_id"] == store["id"]]
        assert row.attempts == handlers.MAX_ATTEMPTS and "a bug, until fixed" in row.last_error
        # fixed: the operator replays it, and it is handled once
        FailsUntilFixed.fixed = True
        assert parked.replay(engine, "org", provisioned.amqp_uri, [row.event_id]) == 1
        deadline = time.monotonic() + 10
        while len(FailsUntilFixed.calls) < handlers.MAX_ATTEMPTS + 1 and time.monotonic() < deadline:
            eventlet.sleep(0.1)
        assert len(FailsUntilFixed.calls) == handlers.MAX_ATTEMPTS + 1
        assert [r for r in parked.parked(engine, "org") if r.event_id == row.event_id] == []
    finally:
        runner.stop()
        engine.dispose()


class FailsTransiently:
    """A consumer whose handler meets a lock timeout, as a busy database gives, seven times."""

    name = "fails_transiently"
    db = Database()
    kit_tables = org_kit
    target: str | None = None
    calls: list[str] = []

    @handles("org", "store_changed")
    def on_store_changed(self, event):
        if event.data["chain_id"] != FailsTransiently.target or not event.data["code"].startswith("TR"):
            return
        FailsTransiently.calls.append(event.id)
        if len(FailsTransiently.calls) <= 7:
            raise OperationalError("UPDATE ...", {}, Exception("canceling statement due to lock timeout"))


def test_a_transient_failure_is_retried_past_the_attempt_limit_and_never_parked(
    provisioned, admin, rpc_pool, monkeypatch
):
    """Non-negotiable 13: seven lock timeouts in a row, more than MAX_ATTEMPTS (5); the
    event is applied on the eighth delivery and is not parked."""
    monkeypatch.setattr(handlers, "FIRST_PAUSE_SECONDS", 0.005)
    config = provisioned.nameko_config()
    config["DATABASE_URLS"] = {**config["DATABASE_URLS"], "fails_transiently": provisioned.database_url("org")}
    runner = ServiceRunner(config)
    runner.add_service(FailsTransiently)
    runner.start()
    engine = make_engine(provisioned.database_url("org"), pool_size=1, application_name="transient-test")
    try:
        world = build_chain(admin)
        FailsTransiently.target = world.id
        ok(world.hq.post(world.path("/stores"), {"code": unique("TR"), "name": "Busy", "kind": "direct"}), 201)
        wait_for(lambda: len(FailsTransiently.calls) >= 8, timeout=30)
        eventlet.sleep(0.3)
        assert len(FailsTransiently.calls) == 8  # 7 failures, then handled once
        assert len(set(FailsTransiently.calls)) == 1
        assert [r for r in parked.parked(engine, "org") if r.event_id == FailsTransiently.calls[0]] == []
        with admin_engine(provisioned).connect() as conn:  # handled at last: no longer counted as failing
            left = conn.execute(
                text("SELECT count(*) FROM org.event_failures WHERE event_id = :id"), {"id": FailsTransiently.calls[0]}
            ).scalar()
        assert left == 0
    finally:
        runner.stop()
        engine.dispose()


def test_an_event_that_breaks_its_contract_is_parked_at_once(provisioned, services):
    broken = {
        "id": str(uuid.uuid4()),
        "source": "org",
        "type": "store_changed",
        "version": 1,
        "occurred_at": "2026-11-25T10:00:00+00:00",
        "chain_id": None,
        "correlation_id": None,
        "data": {"store_id": "not-an-id"},
    }
    event_dispatcher({"AMQP_URI": provisioned.amqp_uri, "serializer": "json"})("org", "store_changed", broken)
    # every service that keeps stores from org's events parks it at once
    keepers = ("wallet", "gift", "reporting", "notification")
    try:
        for service in keepers:
            engine = make_engine(provisioned.database_url(service), pool_size=1, application_name="contract-test")
            try:
                found = lambda e=engine, s=service: [r for r in parked.parked(e, s) if r.event_id == broken["id"]]  # noqa: E731
                row = wait_for(found)[0]
                assert row.attempts == 1 and "store_id" in row.last_error, service
            finally:
                engine.dispose()
    finally:
        # an operator would delete a parked event that can never be applied; the run's audit expects it
        with admin_engine(provisioned).begin() as conn:
            for service in keepers:
                conn.execute(text(f"DELETE FROM {service}.event_failures WHERE event_id = :id"), {"id": broken["id"]})


def test_provisioning_leaves_a_roles_password_alone_unless_given_one(provisioned, superuser):
    """Roles belong to the whole PostgreSQL cluster: a test or bench database provisioned beside
    `make run`'s must not reset the passwords its services use; a password given is set."""
    read = text("SELECT rolpassword FROM pg_authid WHERE rolname = 'huiyuan_org'")
    with superuser.connect() as conn:
        before = conn.execute(read).scalar()
    try:
        provision.ensure_roles_and_schemas(dataclasses.replace(provisioned, db_passwords={}), ("org",))
        with superuser.connect() as conn:
            assert conn.execute(read).scalar() == before
        provision.ensure_roles_and_schemas(
            dataclasses.replace(provisioned, db_passwords={"org": "a-new-one"}), ("org",)
        )
        with superuser.connect() as conn:
            assert conn.execute(read).scalar() != before
    finally:
        with superuser.begin() as conn:
            restore = "ALTER ROLE huiyuan_org PASSWORD NULL" if before is None else "ALTER ROLE huiyuan_org PASSWORD :p"
            conn.execute(text(restore), {"p": before})


class Batches:
    """A consumer that takes its time over the first store of a chain (the one the chain is
    made with), so the next stores' events wait and come to it together; a store whose code
    starts with BAD breaks it."""

    name = "batches"
    db = Database()
    kit_tables = org_kit
    target: str | None = None
    calls: list[tuple[str, int]] = []  # (store code, the worker's service instance)
    # per `events_applied`: (the store codes its worker had handled, whether inside their transaction)
    applied: list[tuple[list[str], bool]] = []

    @handles("org", "store_changed")
    def on_store_changed(self, event):
        if event.data["chain_id"] != Batches.target:
            return
        Batches.calls.append((event.data["code"], id(self)))
        if len(Batches.calls) == 1:
            eventlet.sleep(3.0)  # the rest arrive meanwhile
        if event.data["code"].startswith("BAD"):
            raise RuntimeError("a bug in one event")

    def events_applied(self):
        handled = [code for code, worker in Batches.calls if worker == id(self)]
        if handled:
            Batches.applied.append((handled, self.db.in_transaction()))


def _run_batches(provisioned, admin, codes: list[str]) -> tuple[object, dict[str, str]]:
    config = provisioned.nameko_config()
    config["DATABASE_URLS"] = {**config["DATABASE_URLS"], "batches": provisioned.database_url("org")}
    runner = ServiceRunner(config)
    runner.add_service(Batches)
    runner.start()
    world = build_chain(admin)
    Batches.target, Batches.calls, Batches.applied = world.id, [], []
    ids = {}
    for code in codes:
        store = ok(world.hq.post(world.path("/stores"), {"code": code, "name": code, "kind": "direct"}), 201)
        ids[code] = store["id"]
    return runner, ids


def _handled(provisioned, store_id: str) -> int:
    """Inbox rows of the store's event: 1 once its handling committed."""
    query = (
        "SELECT count(*) AS n FROM org.outbox o JOIN org.inbox i ON i.event_id = o.event_id"
        " WHERE o.payload->'data'->>'store_id' = :s AND o.event_type = 'store_changed'"
    )
    return raw_rows(provisioned, query, s=store_id)[0]["n"]


def test_events_that_wait_for_a_handler_are_handled_together_each_once(provisioned, admin):
    codes = [unique("BT") for _ in range(5)]
    runner, ids = _run_batches(provisioned, admin, codes)
    try:
        ours = lambda: [(c, w) for c, w in Batches.calls if c in codes]  # noqa: E731 - not the chain's own store
        wait_for(lambda: {c for c, _ in ours()} == set(codes), timeout=20)
        eventlet.sleep(0.3)
        assert sorted(c for c, _ in ours()) == sorted(codes)  # each once
        workers = {}
        for code, worker in ours():
            workers.setdefault(worker, []).append(code)
        # all five waited behind the chain's first store and went in one worker, one transaction
        assert sorted(len(v) for v in workers.values()) == [5]
        # the service's `events_applied` ran once for them, after all five, inside their transaction
        [(seen, inside)] = [(seen, inside) for seen, inside in Batches.applied if set(codes) & set(seen)]
        assert set(codes) <= set(seen) and inside
        assert all(_handled(provisioned, ids[c]) == 1 for c in codes)
    finally:
        runner.stop()


def test_a_bad_event_in_a_batch_is_handled_alone_and_the_others_are_applied_once(provisioned, admin, monkeypatch):
    monkeypatch.setattr(handlers, "FIRST_PAUSE_SECONDS", 0.01)
    first, good1, bad, good2 = unique("BT"), unique("BG"), unique("BAD"), unique("BG")
    runner, ids = _run_batches(provisioned, admin, [first, good1, bad, good2])
    engine = make_engine(provisioned.database_url("org"), pool_size=1, application_name="batch-test")
    try:
        parked_row = lambda: [r for r in parked.parked(engine, "org") if r.payload["data"]["store_id"] == ids[bad]]  # noqa: E731
        [row] = wait_for(parked_row, timeout=30)
        calls = [c for c, _ in Batches.calls]
        # the batch that waited behind the chain's store was undone, then each handled alone: the
        # good ones in it twice, applied once (the last may have come later, alone or with a retry)
        assert (calls.count(first), calls.count(good1)) == (2, 2) and calls.count(good2) in (1, 2)
        assert [_handled(provisioned, ids[c]) for c in (first, good1, good2, bad)] == [1, 1, 1, 0]
        # the bad one counted only its own failures (not the batches' it was in), then parked
        batches_with_bad = 1 + (calls.count(good2) - 1)
        assert row.attempts == handlers.MAX_ATTEMPTS
        assert calls.count(bad) == handlers.MAX_ATTEMPTS + batches_with_bad
    finally:
        runner.stop()
        engine.dispose()
        with admin_engine(provisioned).begin() as conn:  # parked on purpose; the run's audit expects none
            conn.execute(
                text("DELETE FROM org.event_failures WHERE payload->'data'->>'store_id' = :s"), {"s": ids[bad]}
            )


class Lanes:
    """A consumer of members' enrolments in two lanes by member, that takes its time over the
    first member of a chain."""

    name = "lanes"
    db = Database()
    kit_tables = org_kit
    target: str | None = None
    slow: str | None = None  # the chain's first member
    finished: list[str] = []  # member ids, in the order their handling ended

    @handles("member", "enrolled", lanes=2)
    def on_enrolled(self, event):
        if event.chain_id != Lanes.target:
            return
        if Lanes.slow is None:
            Lanes.slow = event.data["member_id"]
            eventlet.sleep(3.0)
        Lanes.finished.append(event.data["member_id"])


def test_a_handler_in_lanes_handles_other_members_beside_a_slow_one_and_its_own_after_it(provisioned, admin):
    config = provisioned.nameko_config()
    config["DATABASE_URLS"] = {**config["DATABASE_URLS"], "lanes": provisioned.database_url("org")}
    runner = ServiceRunner(config)
    runner.add_service(Lanes)
    runner.start()
    try:
        world = build_chain(admin)
        Lanes.target, Lanes.finished, Lanes.slow = world.id, [], None
        cashier = world.hq.as_user(world.usernames["cashier_A"])
        enrolled = []
        for n in range(16):
            body = {"name": unique("会员"), "phone": f"139{n:02d}{uuid.uuid4().int % 10**6:06d}", "plates": []}
            enrolled.append(ok(cashier.post(world.path("/members"), body), 201)["id"])
            lanes = {handlers.lane_of({"data": {"member_id": m}}, 2) for m in enrolled}
            if len(enrolled) >= 3 and lanes == {0, 1}:
                break
        wait_for(lambda: len(Lanes.finished) == len(enrolled), timeout=30)
        slow = Lanes.slow
        assert slow == enrolled[0]
        lane = lambda m: handlers.lane_of({"data": {"member_id": m}}, 2)  # noqa: E731
        beside = [m for m in enrolled if lane(m) != lane(slow)]
        behind = [m for m in enrolled[1:] if lane(m) == lane(slow)]
        done = Lanes.finished
        assert beside and all(done.index(m) < done.index(slow) for m in beside), (done, beside)
        assert all(done.index(m) > done.index(slow) for m in behind), (done, behind)
    finally:
        runner.stop()
