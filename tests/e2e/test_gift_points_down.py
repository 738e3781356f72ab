"""A gift redemption and its cancellation while the points service is down, on real processes
(G-2): the caller gets a clear answer (202, pending or cancelling), and once points is back
the recovery job finishes the saga under the same key: points and stock agree, nothing is
taken or given back twice.

The processes run on a database and vhost of their own: the test process's own services
(with a gift recovery job of their own, and points running) must not finish the saga for
them. The run ends with the audit of that database.
"""

import dataclasses
import uuid

import pytest
from falcon import testing
from sqlalchemy import create_engine, text

from deploy import audit
from gateway.app import create_app
from gateway.rpc import RpcPool
from services.kit import provision
from services.org.bootstrap import ensure_platform_admin
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, _rabbitmqctl
from tests.e2e.test_paused_wallet import Processes, wait_until_answering
from tests.helpers import Api, ok, raw_rows, wait_for
from tests.points_helpers import PointsWorld
from tests.wallet_helpers import wallet_world

pytestmark = pytest.mark.e2e
TIMEOUT = 3.0  # the gateway's wait, and so each call's deadline


@pytest.fixture
def own_system(provisioned):
    """A database and vhost for this test alone."""
    vhost = f"huiyuan_gift_{uuid.uuid4().hex[:8]}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    own = dataclasses.replace(
        provisioned,
        db_name=f"{provisioned.db_name}_gift_e2e",
        amqp_uri=provisioned.amqp_uri.rsplit("/", 1)[0] + "/" + vhost,
        rpc_timeout=TIMEOUT,
    )
    provision.provision(own, recreate=True)
    ensure_platform_admin(own)
    yield own
    _rabbitmqctl("delete_vhost", vhost)
    engine = create_engine(own.admin_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{own.db_name}" WITH (FORCE)'))
    engine.dispose()


def test_redemption_and_cancellation_finish_after_the_points_service_comes_back(own_system, tmp_path):
    processes = Processes(own_system, tmp_path)
    pool = RpcPool(own_system)
    try:
        processes.start("org-member", ["org", "member"])
        points = processes.start("points", ["points"])
        processes.start("gift", ["gift"])
        for service in ("org", "member", "points", "gift"):
            wait_until_answering(pool, service)
        client = testing.TestClient(create_app(own_system, pool, validate_responses=True))
        pw = PointsWorld(wallet_world(Api.sign_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)))
        card = pw.wallet.card()
        ok(pw.grant(card["card_no"], 1000), 201)
        gifts = pw.wallet.world.path("/gifts")
        gift = ok(pw.hq.post(gifts, {"name": "Thermos", "market_price": 9900, "points_cost": 600, "stock": 3}), 201)
        redemptions = pw.wallet.world.path("/gift-redemptions")

        points.kill()  # the points service is down while the cashier redeems
        points.wait(timeout=10)
        body = {"gift_id": gift["id"], "card_no": card["card_no"], "store_id": pw.wallet.store_a}
        pending = ok(pw.wallet.cashier_a.post(redemptions, body, key="thermos-1"), 202)
        assert pending["status"] == "pending"
        assert ok(pw.hq.get(f"{gifts}/{gift['id']}"))["stock"] == 2  # reserved meanwhile
        assert ok(pw.wallet.cashier_a.post(redemptions, body, key="thermos-1"), 202)["status"] == "pending"

        processes.start("points-again", ["points"])
        wait_until_answering(pool, "points")
        mine = f"{redemptions}/{pending['id']}"
        wait_for(lambda: ok(pw.hq.get(mine))["status"] == "completed", timeout=40)
        assert pw.balance(card["card_no"])["balance"] == 400  # 1000 - 600, once
        assert ok(pw.hq.get(f"{gifts}/{gift['id']}"))["stock"] == 2
        taken = "SELECT count(*) AS n FROM points.transactions WHERE reference = :r AND kind = 'redeem'"
        assert raw_rows(own_system, taken, r=f"gift:{pending['id']}") == [{"n": 1}]
        # the cashier's retry under the key now gets the final answer
        assert ok(pw.wallet.cashier_a.post(redemptions, body, key="thermos-1"), 201)["status"] == "completed"

        processes.running["points-again"].kill()  # down again while the manager cancels
        processes.running["points-again"].wait(timeout=10)
        cancelling = ok(pw.wallet.manager_a.post(f"{mine}/cancel", {"reason": "wrong colour"}), 202)
        assert cancelling["status"] == "cancelling"
        assert ok(pw.hq.get(f"{gifts}/{gift['id']}"))["stock"] == 2  # back only with the points

        processes.start("points-third", ["points"])
        wait_until_answering(pool, "points")
        wait_for(lambda: ok(pw.hq.get(mine))["status"] == "cancelled", timeout=40)
        assert pw.balance(card["card_no"])["balance"] == 1000
        assert ok(pw.hq.get(f"{gifts}/{gift['id']}"))["stock"] == 3

        engine = create_engine(own_system.admin_url(own_system.db_name))
        try:
            assert audit.audit(engine, settle_seconds=30) == []
        finally:
            engine.dispose()
    finally:
        pool.close()
        processes.stop_all()
