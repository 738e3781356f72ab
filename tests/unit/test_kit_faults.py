"""What a failure means: which publish failures certainly sent nothing (503, not 504), which
event-handler failures are transient (retried without bound), and how long to wait between tries."""

import random
import socket

import eventlet
from kombu import Connection
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy.exc import IntegrityError, OperationalError

from contracts.errors import NotFound, ServiceTimeout, ServiceUnavailable
from gateway import rpc
from gateway.rpc import never_sent
from services.kit.deadlines import deadline_after, seconds_left
from services.kit.handlers import is_transient, pause_before_retry


def _raised_from(cause: BaseException, outer: BaseException) -> BaseException:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise outer from inner
    except BaseException as final:  # noqa: BLE001 - returned for inspection
        return final


def test_a_refused_connection_sent_nothing_but_a_lost_one_may_have():
    assert never_sent(_raised_from(ConnectionRefusedError(111, "refused"), BrokerError("cannot connect")))
    assert never_sent(_raised_from(socket.gaierror(-2, "unknown host"), BrokerError("cannot connect")))
    # reset or broken after the request was written: the broker may have it
    assert not never_sent(_raised_from(ConnectionResetError(104, "reset"), BrokerError("lost")))
    assert not never_sent(BrokenPipeError(32, "broken pipe"))
    assert not never_sent(TimeoutError("timed out"))


def test_a_publish_retried_after_a_lost_connection_may_have_sent_even_if_the_retry_was_refused():
    refused = _raised_from(ConnectionRefusedError(111, "refused"), BrokerError("cannot connect"))
    # the first attempt wrote the request and lost the broker waiting for its confirm; kombu
    # reconnected for the retry and was refused: the broker may have delivered the first
    assert not never_sent(refused, [ConnectionResetError(104, "reset"), ConnectionRefusedError(111, "refused")])
    assert not never_sent(refused, [TimeoutError("timed out")])
    # every attempt refused: nothing was ever written
    assert never_sent(refused, [ConnectionRefusedError(111, "refused"), ConnectionRefusedError(111, "refused")])


def test_the_gateways_publish_policy_hands_never_sent_every_attempt_kombu_retried_past():
    """Through kombu's own retry loop (`Connection.ensure`, as a publish runs it): a first
    attempt lost after writing, then reconnections refused (a closed port), is not "never sent"."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    conn = Connection(f"amqp://guest:guest@127.0.0.1:{port}//", connect_timeout=1)

    class Lost:
        def revive(self, channel):  # kombu's contract for the retried object
            pass

    def publish_lost_after_writing():
        raise ConnectionResetError(104, "reset while waiting for the confirm")

    rpc._publishing.failures = failures = []
    try:
        conn.ensure(Lost(), publish_lost_after_writing, **rpc.PUBLISH_RETRY_POLICY)()
    except Exception as final:  # noqa: BLE001 - the refusal of the last reconnection
        assert any(isinstance(f, ConnectionResetError) for f in failures)
        assert not never_sent(final, failures)
    else:
        raise AssertionError("the publish cannot succeed")
    finally:
        rpc._publishing.failures = None
        conn.release()


def test_transient_failures_are_those_that_pass_by_themselves():
    lock_timeout = OperationalError("UPDATE", {}, Exception("canceling statement due to lock timeout"))
    assert is_transient(lock_timeout)
    assert is_transient(BrokerError("broker away"))
    assert is_transient(ServiceUnavailable())
    assert is_transient(ServiceTimeout())
    assert is_transient(ConnectionResetError())
    late = eventlet.Timeout(None)  # made without a timer: one with seconds would fire in this process later
    assert is_transient(late)
    # a bug or a broken rule does not pass by itself
    assert not is_transient(KeyError("tier"))
    assert not is_transient(IntegrityError("INSERT", {}, Exception("duplicate key")))
    assert not is_transient(NotFound())


def test_the_pause_doubles_from_one_second_to_five_minutes_with_jitter():
    low, high = random.Random(), random.Random()
    low.random, high.random = (lambda: 0.0), (lambda: 0.999999)
    assert [round(pause_before_retry(n, high), 2) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert [pause_before_retry(n, low) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]  # at least half
    assert round(pause_before_retry(9, high)) == 256
    assert round(pause_before_retry(10, high)) == 300  # 512 s capped at 5 min
    assert round(pause_before_retry(1000, high)) == 300  # however long the outage


def test_deadlines_count_down_and_a_missing_one_is_none():
    assert 2.5 < seconds_left(deadline_after(3)) <= 3
    assert seconds_left(deadline_after(-1)) < 0
    assert seconds_left(None) is None
    assert seconds_left("garbage") is None
