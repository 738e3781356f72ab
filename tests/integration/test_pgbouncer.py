"""The services behind PgBouncer in transaction mode (issue 17): the money path, concurrent
consumes from several tills, and the books audit clean. Nothing in the kit needs a session of
its own: the roles' settings (search path, statement and lock timeouts) hold on whichever
server connection a transaction gets, and the server connections stay at PgBouncer's pool
size however many clients the services open."""

import dataclasses

import eventlet
import pytest
from sqlalchemy import text

from services.kit import db
from tests.helpers import error, ok, raw_rows, wait_for
from tests.own_system import audit_problems, in_process, own_system, settled
from tests.pgbouncer import SERVER_POOL_SIZE, pgbouncer
from tests.wallet_helpers import WASH, wallet_world

pytestmark = pytest.mark.integration

TILLS = 10  # concurrent consumes of one member's card


def refund(w, tx_id: str):
    body = {"transaction_id": tx_id, "store_id": w.store_a, "reason": "customer unhappy"}
    return w.cashier_a.post(w.path("/refunds"), body)


def test_the_money_path_through_pgbouncer_in_transaction_mode(settings):
    with own_system(settings, "pgb") as direct, pgbouncer(direct.db_host, direct.db_port) as bouncer:
        # no prepared statements: a transaction-mode pooler gives each transaction any server connection
        pooled = dataclasses.replace(direct, db_port=bouncer.port, db_prepared=False)

        # a service's connection through the pooler: the role's settings, not the startup
        # options PgBouncer drops, make its search path and timeouts
        engine = db.make_engine(pooled.database_url("wallet"), pool_size=1, application_name="probe")
        try:
            with engine.connect() as conn:
                shown = [conn.execute(text(f"SHOW {name}")).scalar() for name in ("search_path", "statement_timeout")]
                assert shown == ["wallet", "30s"]
                assert conn.execute(text("SHOW lock_timeout")).scalar() == "10s"
        finally:
            engine.dispose()

        with in_process(pooled) as system:
            w = wallet_world(system.admin())
            card = w.card()
            no = card["card_no"]
            charged = ok(w.recharge(no, 100000), 201)  # W-3: 1000 yuan earns Silver's 50 yuan bonus
            assert (charged["amount"], charged["bonus"]) == (100000, 5000)
            sale = ok(w.consume(no, [WASH]), 201)  # 120.00 at 10 % off: 108.00 from cash
            assert sale["paid"] == {"cash": 10800, "bonus": 0, "credit": 0, "external": 0}
            back = ok(refund(w, sale["transaction_id"]), 201)
            assert back["refunded"] == {"cash": 10800, "bonus": 0, "credit": 0, "external": 0}
            assert (back["balances"]["cash"], back["balances"]["bonus"]) == (100000, 5000)

            # ten tills ring a 108.00 wash on the card at once: cash 1000.00 pays nine
            # (972.00); the tenth finds 28.00 cash + 50.00 bonus, short of 108.00, refused whole
            tills = [w.cashier_a, w.cashier_b] * (TILLS // 2)

            def ring(api):
                return w.consume(no, [WASH], api=api, store=w.store_a if api is w.cashier_a else w.store_b)

            pool = eventlet.GreenPool(TILLS)
            answers = list(pool.imap(ring, tills))
            statuses = sorted(a.status_code for a in answers)
            assert statuses == [201] * 9 + [409], [a.text for a in answers if a.status_code != 201]
            refused = next(a for a in answers if a.status_code == 409)
            assert error(refused, 409)["code"] == "insufficient_funds"
            balances = w.balances(no)
            assert (balances["cash"], balances["bonus"]) == (100000 - 9 * 10800, 5000)

            # the events went through the pooled connections too: member's spend is the wallet's
            spend = "SELECT cumulative_spend AS spend FROM member.members WHERE id = :id"
            wait_for(lambda: raw_rows(direct, spend, id=card["member_id"]) == [{"spend": 9 * 10800}], timeout=30)

            # the traffic went through PgBouncer, on at most its pool size of server connections
            pools = {p["user"]: p for p in bouncer.admin("SHOW POOLS") if p["database"] == direct.db_name}
            assert {"huiyuan_wallet", "huiyuan_member", "huiyuan_org"} <= set(pools)
            servers = raw_rows(
                direct,
                "SELECT usename, count(*) AS n FROM pg_stat_activity WHERE datname = :d GROUP BY usename",
                d=direct.db_name,
            )
            assert max(row["n"] for row in servers) <= SERVER_POOL_SIZE, servers
            # while the wallet keeps more client connections open than that: transactions share them
            wallet_clients = [c for c in bouncer.admin("SHOW CLIENTS") if c["user"] == "huiyuan_wallet"]
            assert len(wallet_clients) > SERVER_POOL_SIZE, wallet_clients
            stats = {s["database"]: s for s in bouncer.admin("SHOW STATS")}
            assert stats[direct.db_name]["total_xact_count"] > 100
            settled(direct, card["member_id"])
            assert audit_problems(direct) == []  # while the services run: events in flight land
        assert "unsupported startup parameter" not in bouncer.log()
