"""Quorum queues (issue 17): with `HUIYUAN_QUEUE_TYPE=quorum` every durable queue the services
consume is a quorum queue, and the money path runs through them (RPC and events); an existing
classic broker refuses the change in place, and `python -m services.kit.queues migrate` moves
a broker's queues, messages kept."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import amqp.exceptions
import pytest
from kombu import Connection, Exchange

from services.kit import config, provision, queues
from tests.helpers import ok, process_environment, raw_rows, wait_for
from tests.own_system import audit_problems, in_process, own_system, own_vhost, settled
from tests.own_system import queues as broker_queues
from tests.wallet_helpers import WASH, wallet_world

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
# queues that belong to one process and stay classic whatever the setting (services.kit.queues)
PER_PROCESS = ("rpc.reply-", "gateway-principals-")


@pytest.fixture(scope="module")
def quorum(settings):
    with own_system(settings, "qq", queue_type="quorum") as quorum_settings:
        yield quorum_settings


def test_the_money_path_runs_through_quorum_queues_only(quorum):
    with in_process(quorum) as system:
        w = wallet_world(system.admin())
        card = w.card()
        no = card["card_no"]
        charged = ok(w.recharge(no, 100000), 201)  # W-3: 1000 yuan earns the Silver 50 yuan bonus
        assert (charged["amount"], charged["bonus"]) == (100000, 5000)
        sale = ok(w.consume(no, [WASH]), 201)  # 120.00 at 10 % off washes: 108.00, cash first
        assert sale["paid"] == {"cash": 10800, "bonus": 0, "credit": 0, "external": 0}
        balances = w.balances(no)
        assert (balances["cash"], balances["bonus"]) == (89200, 5000)
        # the event path: member keeps the spend from the wallet's `consumed`, points earn on it
        spend = "SELECT cumulative_spend AS spend FROM member.members WHERE id = :id"
        wait_for(lambda: raw_rows(quorum, spend, id=card["member_id"]) == [{"spend": 10800}], timeout=20)
        earned = "SELECT 1 FROM points.earnings WHERE consume_id = :id"
        wait_for(lambda: raw_rows(quorum, earned, id=sale["transaction_id"]), timeout=20)

        listed = broker_queues(quorum)
        durable_ours = [q for q in listed if not q["name"].startswith(PER_PROCESS)]
        assert {q["name"] for q in durable_ours} == {q.name for q in queues.durable_queues(config.SERVICES, "quorum")}
        assert {f"rpc-{s}" for s in config.SERVICES} <= {q["name"] for q in durable_ours}
        assert len([q for q in durable_ours if q["name"].startswith("evt-")]) >= 20
        not_quorum = [q for q in durable_ours if q["type"] != "quorum"]
        assert not_quorum == [], not_quorum
        # what stays classic is the processes' own: reply queues and the gateway's exclusive one
        assert {q["type"] for q in listed if q["name"].startswith(PER_PROCESS)} <= {"classic"}
        settled(quorum, card["member_id"])
        assert audit_problems(quorum) == []  # while the services run: events in flight land


def test_a_classic_broker_refuses_quorum_in_place_and_migrate_moves_every_queue_with_its_messages(settings):
    with own_vhost(settings, "qqmove") as system:
        wanted = queues.durable_queues(config.SERVICES, "classic")
        with Connection(system.amqp_uri) as connection:
            for queue in wanted:
                queue(connection.channel()).declare()  # as a system started before quorum would have
            # an event waiting for a consumer that is not running: it must survive the move
            exchange = Exchange("wallet.events", type="topic", durable=True)
            with connection.Producer() as producer:
                event = {"id": "e-1", "marker": 7}
                producer.publish(event, exchange=exchange, routing_key="consumed", serializer="json")
        waiting = [q for q in broker_queues(system) if q["name"].startswith("evt-wallet-consumed--")]
        assert waiting, "the wallet's consumed event has handlers"

        quorum_now = dataclasses.replace(system, queue_type="quorum")
        rpc_wallet = next(q for q in queues.durable_queues(["wallet"], "quorum") if q.name == "rpc-wallet")
        with (
            Connection(quorum_now.amqp_uri) as connection,
            pytest.raises(amqp.exceptions.PreconditionFailed, match="inequivalent arg 'x-queue-type'"),
        ):
            rpc_wallet(connection.channel()).declare()  # why the default is classic: PRECONDITION_FAILED

        # a process started with the other type says so and stops, rather than retrying forever
        refused = "HUIYUAN_QUEUE_TYPE=quorum, but the broker has .*rpc-wallet"
        with pytest.raises(queues.QueueTypeMismatch, match=refused):
            queues.check_queue_types(system.amqp_uri, ["wallet"], "quorum")
        started = subprocess.run(
            [sys.executable, "-m", "services.kit.runner", "wallet"],
            env=process_environment(system, HUIYUAN_QUEUE_TYPE="quorum", HUIYUAN_LOG_JSON="0"),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert started.returncode == 1 and "services.kit.queues migrate --to quorum" in started.stderr

        moved = queues.migrate(system.amqp_uri, config.SERVICES, "quorum")
        assert sorted(moved) == sorted(q.name for q in wanted)
        listed = {q["name"]: q for q in broker_queues(system)}
        assert {name: listed[name]["type"] for name in moved} == {name: "quorum" for name in moved}
        assert not [name for name in listed if name.endswith(".migrating")]
        with Connection(system.amqp_uri) as connection:
            for queue in (q for q in wanted if q.name.startswith("evt-wallet-consumed--")):
                message = connection.channel().basic_get(queue=queue.name, no_ack=True)
                assert message is not None and json.loads(message.body) == {"id": "e-1", "marker": 7}
        assert queues.migrate(system.amqp_uri, config.SERVICES, "quorum") == []  # nothing left to move
        # and the services declare the same queues without complaint now; classic would be refused
        queues.check_queue_types(system.amqp_uri, config.SERVICES, "quorum")
        provision.declare_topology(quorum_now)
        with pytest.raises(queues.QueueTypeMismatch, match="as quorum"):
            provision.declare_topology(system)
