"""The SQL a consume costs, counted per service (issue 11: count the round trips on the hot
path). Budgets, not timings: each is the count measured when it was set plus a little room for
the timers and relays that poll while the consumes run; a change that adds statements to the
money path or to a consumer of its events fails here and says where."""

import collections

import eventlet
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from tests.helpers import ok, raw_rows, wait_for
from tests.points_helpers import oil, points_world

pytestmark = pytest.mark.integration
CONSUMES = 10
# statements per consume, by the service's database role, as measured (wallet 11.3, member 5.0,
# points 12.8, reporting 8.0). Notification (11.4 alone) is not budgeted here: its scheduled
# reminders run every few seconds over every chain in the database, and the suite's shared
# database holds hundreds, so a tick inside the window doubled its count (45 in a full run).
BUDGET = {"wallet": 14, "member": 6, "points": 14, "reporting": 10}


def test_a_consume_and_its_downstream_effects_stay_within_their_statement_budgets(admin, settings):
    pw = points_world(admin)
    card = pw.wallet.card("PGOLD")
    ok(pw.wallet.recharge(card["card_no"], 300000), 201)
    ok(pw.wallet.consume(card["card_no"], [oil(1, 1000)]), 201)  # first-use work (books, copies) done
    pw.wait_balance(card["card_no"], 15)  # 10 yuan x 1.5 (Gold)
    eventlet.sleep(1.0)
    counts: collections.Counter = collections.Counter()

    def count(conn, cursor, statement, parameters, context, executemany):
        counts[conn.engine.url.username] += 1

    event.listen(Engine, "before_cursor_execute", count)
    try:
        for _ in range(CONSUMES):
            ok(pw.wallet.consume(card["card_no"], [oil(1, 1000)]), 201)
        pw.wait_balance(card["card_no"], 15 * (CONSUMES + 1))
        wait_for(lambda: _consume_messages_sent(settings, card["member_id"]) == CONSUMES + 1)
        eventlet.sleep(1.0)  # the last events' relays and handlers
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    per_consume = {role.removeprefix("huiyuan_"): n / CONSUMES for role, n in counts.items()}
    over = {s: per_consume.get(s, 0) for s, budget in BUDGET.items() if per_consume.get(s, 0) > budget}
    assert not over, f"statements per consume over budget {BUDGET}: {per_consume}"
    assert all(per_consume.get(s, 0) > 0 for s in BUDGET), per_consume  # each took part


def _consume_messages_sent(settings, member_id: str) -> int:
    sql = (
        "SELECT count(*) AS n FROM notification.messages WHERE kind = 'consume' AND status = 'sent' AND member_id = :m"
    )
    return raw_rows(settings, sql, m=member_id)[0]["n"]
