"""nameko's publishers with one kombu `Connection` per broker address (services.kit.producers),
on the real RabbitMQ: messages published through nameko's `Publisher` arrive, confirmed, in
order; the pools' key is made once per address and options, not per message."""

from __future__ import annotations

import time

import pytest
from kombu import Connection, Exchange, Queue
from nameko.amqp import publish

from services.kit import producers
from tests.helpers import unique

pytestmark = pytest.mark.integration


def test_publishes_arrive_and_the_connection_is_made_once_per_address_and_options(settings, monkeypatch):
    monkeypatch.setattr(publish, "get_producer", publish.get_producer)  # put back after the test
    monkeypatch.setattr(producers, "_keys", {})
    producers.install()
    assert publish.get_producer is producers.get_producer
    exchange = Exchange(unique("producers_"), type="direct", durable=False, auto_delete=True)
    queue = Queue(unique("producers_q_"), exchange=exchange, routing_key="k", durable=False, auto_delete=False)
    with Connection(settings.amqp_uri) as conn:
        queue(conn.default_channel).declare()
        try:
            publisher = publish.Publisher(settings.amqp_uri)
            options = {"confirm_publish": True}
            for n in range(3):
                publisher.publish({"n": n}, exchange=exchange, routing_key="k", transport_options=options)
            publish.Publisher(settings.amqp_uri, use_confirms=False).publish(
                {"n": 3}, exchange=exchange, routing_key="k"
            )
            received = [_next(queue(conn.default_channel)) for _ in range(4)]
        finally:
            queue(conn.default_channel).delete()
    assert received == [{"n": 0}, {"n": 1}, {"n": 2}, {"n": 3}]
    assert len(producers._keys) == 2  # with confirms, and without: one Connection each
    assert options == {"confirm_publish": True}  # the caller's options are not written into


def _next(queue: Queue, wait: float = 5.0) -> dict | None:
    """The queue's next message (the unconfirmed publish may land a moment after it returned)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        message = queue.get(no_ack=True)
        if message is not None:
            return message.payload
        time.sleep(0.05)
    return None
