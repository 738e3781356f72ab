"""The outbox relay: a broker outage holds every row back in order and never
parks one; a row the broker refuses is paused, then parked, and the rows
behind it go out. On a private copy of org's outbox table, so the live relay
of the test services never shares these rows."""

import uuid

import amqp.exceptions
import kombu.exceptions
import pytest
from sqlalchemy import MetaData, Table, event, func, insert, select, text, update
from sqlalchemy.orm import Session

from services.kit import outbox
from services.kit.db import make_engine
from services.org.models import kit as org_kit

pytestmark = pytest.mark.integration
TABLE = "outbox_relaytest"


@pytest.fixture
def relay(provisioned):
    """(engine, table): a private outbox table in org's schema, dropped afterwards."""
    engine = make_engine(provisioned.database_url("org"), pool_size=1, application_name="relay-test")
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE org.{TABLE} (LIKE org.outbox INCLUDING DEFAULTS INCLUDING IDENTITY)"))
    table = Table(TABLE, MetaData(schema="org"), *[c._copy() for c in org_kit.outbox.columns])
    yield engine, table
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE org.{TABLE}"))
    engine.dispose()


def add_events(engine, table, count: int) -> list[str]:
    writer = outbox.OutboxWriter(table, "org", {"correlation_id": "corr-relay"})
    ids = []
    with Session(engine) as session, session.begin():
        for n in range(count):
            chain_id = str(uuid.uuid4())
            data = {"chain_id": chain_id, "code": f"R{n}", "name": "R", "currency": "CNY", "time_zone": "Asia/Shanghai"}
            ids.append(writer.add(session, "chain_created", data, chain_id=chain_id)["id"])
    return ids


def rows(engine, table) -> dict[str, object]:
    with engine.connect() as conn:
        return {r.event_id: r for r in conn.execute(select(table).order_by(table.c.seq))}


def due_now(engine, table) -> None:
    """Skip the pause of refused rows (instead of sleeping through it)."""
    with engine.begin() as conn:
        conn.execute(update(table).where(table.c.retry_at.is_not(None)).values(retry_at=func.now()))


@pytest.mark.parametrize(
    "outage",
    [
        ConnectionRefusedError(111, "Connection refused"),
        kombu.exceptions.OperationalError("[Errno 111] ECONNREFUSED"),
        amqp.exceptions.ConnectionForced("broker shutting down"),
        amqp.exceptions.MessageNacked(),
    ],
    ids=["refused", "kombu", "forced", "nacked"],
)
def test_a_broker_outage_holds_rows_in_order_and_never_parks_one(relay, outage):
    engine, table = relay
    ids = add_events(engine, table, 3)

    def broker_down(payload, event_type):
        raise outage

    tries = outbox.MAX_REJECTIONS * 3
    for _ in range(tries):
        with pytest.raises(type(outage)):
            outbox.relay_batch(engine, table, broker_down)
    held = rows(engine, table)
    # only the first row is tried each time; the others wait behind it, in order
    assert [(held[i].attempts, held[i].rejections, held[i].parked_at, held[i].sent_at) for i in ids] == [
        (tries, 0, None, None),
        (0, 0, None, None),
        (0, 0, None, None),
    ]
    assert type(outage).__name__ in held[ids[0]].last_error

    published = []
    assert outbox.relay_batch(engine, table, lambda payload, _type: published.append(payload["id"])) == 3
    assert published == ids
    assert all(r.sent_at is not None for r in rows(engine, table).values())


def test_a_refused_row_is_paused_then_parked_and_the_rows_behind_it_go_out(relay):
    engine, table = relay
    bad, good, later = add_events(engine, table, 3)
    published = []

    def publish(payload, event_type):
        if payload["id"] == bad:
            raise TypeError("Object of type Decimal is not JSON serializable")
        published.append(payload["id"])

    assert outbox.relay_batch(engine, table, publish) == 2
    assert published == [good, later]
    state = rows(engine, table)[bad]
    assert (state.attempts, state.rejections, state.sent_at, state.parked_at) == (1, 1, None, None)
    with engine.connect() as conn:
        pause = conn.execute(
            select(func.extract("epoch", table.c.retry_at - func.now())).where(table.c.event_id == bad)
        )
        assert 0 < pause.scalar_one() <= outbox.row_pause(1) == 1.0
    # paused: the next pass does not try it
    assert outbox.relay_batch(engine, table, publish) == 0
    assert rows(engine, table)[bad].attempts == 1

    # refused again each time it is due, until the last allowed refusal parks it
    for n in range(2, outbox.MAX_REJECTIONS + 1):
        due_now(engine, table)
        outbox.relay_batch(engine, table, publish)
        state = rows(engine, table)[bad]
        assert state.rejections == n
        assert (state.parked_at is not None) == (n == outbox.MAX_REJECTIONS)
    assert "not JSON serializable" in state.last_error and state.sent_at is None
    # parked: never tried again, and it no longer counts as waiting, but as parked
    due_now(engine, table)
    assert outbox.relay_batch(engine, table, publish) == 0
    assert rows(engine, table)[bad].attempts == outbox.MAX_REJECTIONS
    with engine.connect() as conn:
        figures = outbox.backlog(conn, table, org_kit.event_failures)
    assert (figures["outbox_unsent"], figures["outbox_parked"]) == (0, 1)


def test_add_many_writes_its_events_in_one_insert_in_the_order_given(relay):
    engine, table = relay
    writer = outbox.OutboxWriter(table, "org", {"correlation_id": "corr-many"})
    chains = [str(uuid.uuid4()) for _ in range(3)]
    batch = [
        ("chain_created", {"chain_id": c, "code": f"M{n}", "name": "M", "currency": "CNY", "time_zone": "UTC"}, c, None)
        for n, c in enumerate(chains)
    ]
    inserts = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT"):
            inserts.append(statement)

    with Session(engine) as session, session.begin():
        assert writer.add_many(session, []) == [] and writer.added == 0
        event.listen(engine, "before_cursor_execute", count)
        try:
            envelopes = writer.add_many(session, batch)
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert len(inserts) == 1 and writer.added == 3
    stored = rows(engine, table)  # in seq order
    assert list(stored) == [e["id"] for e in envelopes]
    assert [r.payload for r in stored.values()] == envelopes
    assert [(r.event_type, r.chain_id) for r in stored.values()] == [("chain_created", c) for c in chains]
    assert {e["correlation_id"] for e in envelopes} == {"corr-many"}


def test_row_pauses_double_from_one_second_to_five_minutes():
    assert [outbox.row_pause(n) for n in (1, 2, 3, 8, 9, 10, 20)] == [1, 2, 4, 128, 256, 300, 300]


def test_backlog_counts_unsent_rows_their_oldest_age_and_parked_events(relay, provisioned):
    engine, table = relay
    first, second = add_events(engine, table, 2)
    with engine.begin() as conn:
        conn.execute(
            update(table).where(table.c.event_id == first).values(created_at=func.now() - text("interval '90 seconds'"))
        )
        before = outbox.backlog(conn, table, org_kit.event_failures)
    assert before["outbox_unsent"] == 2 and before["outbox_parked"] == 0
    assert 90 <= before["outbox_oldest_unsent_seconds"] < 120

    parked_id = str(uuid.uuid4())
    failures = org_kit.event_failures
    with engine.begin() as conn:
        conn.execute(
            insert(failures).values(
                event_id=parked_id,
                source="member",
                event_type="x",
                payload={},
                attempts=1,
                last_error="e",
                parked_at=func.now(),
            )
        )
    try:
        outbox.relay_batch(engine, table, lambda payload, _type: None)
        with engine.connect() as conn:
            after = outbox.backlog(conn, table, failures)
        assert (after["outbox_unsent"], after["outbox_oldest_unsent_seconds"]) == (0, 0.0)
        assert after["events_parked"] == before["events_parked"] + 1
    finally:
        with engine.begin() as conn:
            conn.execute(failures.delete().where(failures.c.event_id == parked_id))


def test_a_relay_marks_what_it_published_with_its_next_claim(relay):
    engine, table = relay
    first = add_events(engine, table, 2)
    published, unmarked = [], []

    def publish(payload, _type):
        published.append(payload["id"])

    assert outbox.relay_batch(engine, table, publish, unmarked=unmarked) == 2
    state = rows(engine, table)
    # out, not marked yet: still leased to this relay, so no instance publishes them again
    assert [state[i].sent_at for i in first] == [None, None]
    assert unmarked == [state[i].seq for i in first]
    # the lease runs out before the next claim: the claim that marks them does not take them too
    due_now(engine, table)
    later = add_events(engine, table, 1)
    assert outbox.relay_batch(engine, table, publish, unmarked=unmarked) == 1
    assert published == first + later
    state = rows(engine, table)
    assert all(state[i].sent_at is not None and state[i].retry_at is None for i in first)
    assert state[later[0]].sent_at is None and unmarked == [state[later[0]].seq]
    # a claim that finds nothing due still marks
    assert outbox.relay_batch(engine, table, publish, unmarked=unmarked) == 0
    assert rows(engine, table)[later[0]].sent_at is not None and unmarked == []
    with engine.connect() as conn:
        assert outbox.backlog(conn, table, org_kit.event_failures)["outbox_unsent"] == 0
