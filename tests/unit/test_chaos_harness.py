"""The fault suite's own judgement (tests/chaos): how answers are classed and
compared, the fault schedule, and the rules that turn timestamps into failures.
The suite itself runs with `make chaos`; these check its verdicts cannot lie."""

import random
from datetime import UTC, datetime
from types import SimpleNamespace

from tests.chaos.__main__ import died
from tests.chaos.checks import _when_it_ran, table
from tests.chaos.faults import KINDS, Injection, schedule
from tests.chaos.tills import Attempt, KeyBook, KeyRecord, answer_of, outcome_class


def test_only_2xx_and_4xx_are_definite_and_every_other_5xx_is_counted_apart():
    assert [outcome_class(s) for s in (201, 409, 422, 503, 504, 500, 502, None)] == [
        "2xx",
        "4xx",
        "4xx",
        "503",
        "504",
        "500",
        "500",
        "conn",
    ]


def test_a_definite_answer_is_its_status_with_the_transaction_or_the_error_code():
    assert answer_of(201, {"transaction_id": "t-1", "amount": 5}) == "201 t-1"
    assert answer_of(409, {"error": {"code": "insufficient_funds", "message": "..."}}) == "409 insufficient_funds"


def _record(*answers: tuple[int, object]) -> tuple[KeyBook, KeyRecord]:
    book = KeyBook()
    record = book.open(KeyRecord("k", "consume", "/p", {}, "c", "t"))
    for n, (status, body) in enumerate(answers):
        attempt = Attempt(float(n), outcome_class(status), status, answer_of(status, body))
        book.note(record, attempt, status, body)
    return book, record


def test_a_refusal_then_a_success_under_one_key_is_a_conflict_and_the_first_answer_counts():
    book, record = _record(
        (504, {"error": {"code": "outcome_unknown"}}),
        (409, {"error": {"code": "insufficient_funds"}}),
        (201, {"transaction_id": "t-9"}),
    )
    assert record.first[0] == 409
    assert not record.acknowledged and record.had_doubt
    assert book.conflicting() == [record]


def test_the_same_success_replayed_is_no_conflict():
    book, record = _record((201, {"transaction_id": "t-1"}), (201, {"transaction_id": "t-1"}))
    assert record.acknowledged and book.conflicting() == []


def test_the_schedule_has_every_kind_the_wanted_times_never_twice_in_a_row():
    order = schedule(random.Random(7), 3)
    assert sorted(order) == sorted(KINDS * 3)
    assert all(a != b for a, b in zip(order, order[1:], strict=False))
    assert schedule(random.Random(7), 3) == order  # the seed repeats it


def test_a_process_the_fault_did_not_aim_at_is_reported_when_it_changed():
    before = {"org": 10, "wallet": 11, "gateway workers": frozenset({20, 21})}
    after = {"org": 10, "wallet": 12, "gateway workers": frozenset({20, 22})}
    assert died(before, after, {"gateway workers"}) == ["wallet (pid 11) died; now 12"]
    assert died(before, after, {"wallet", "gateway workers"}) == []


def _tx(started: float, committed: float | None) -> SimpleNamespace:
    stamp = lambda t: datetime.fromtimestamp(t, UTC)  # noqa: E731
    return SimpleNamespace(
        kind="consume", id="t-1", created_at=stamp(started), committed=stamp(committed) if committed else None
    )


def _attempts(*spec: tuple[float, float, str]) -> KeyRecord:
    record = KeyRecord("k", "consume", "/p", {}, "c", "t")
    for wall, took, outcome in spec:
        record.attempts.append(Attempt(0.0, outcome, None, outcome, wall, took))
    return record


def test_work_done_inside_an_attempt_answered_503_is_a_false_503():
    record = _attempts((1000.0, 0.4, "503"), (1002.0, 0.1, "2xx"))
    assert _when_it_ran(record, _tx(1000.2, 1000.3), rpc_timeout=3) == [
        "consume t-1 under key k was done although its request was answered 503"
    ]


def test_work_started_while_no_attempt_waited_ran_past_its_deadline():
    # sent at 1000, 504 after 3 s; the paused instance ran it at 1010; the retry at 1020 replayed it
    record = _attempts((1000.0, 3.0, "504"), (1020.0, 0.1, "2xx"))
    assert _when_it_ran(record, _tx(1010.0, 1010.1), rpc_timeout=3) == [
        "consume t-1 under key k started when no request of it was waiting, past its deadline"
        " (attempts: 504 at +-10.0s for 3.0s, 2xx at +10.0s for 0.1s)"
    ]


def test_a_commit_after_the_504_that_ended_its_wait_is_past_its_deadline():
    record = _attempts((1000.0, 3.0, "504"), (1005.0, 0.1, "2xx"))
    assert _when_it_ran(record, _tx(1002.5, 1004.5), rpc_timeout=3) == [
        "consume t-1 under key k committed 1.5 s after its request's deadline"
        " (the request was answered 504 after 3.0 s)"
    ]
    assert _when_it_ran(record, _tx(1002.5, 1003.4), rpc_timeout=3) == []  # within the slack


def test_a_commit_is_judged_by_the_attempt_in_flight_that_was_waited_for_longest():
    # a refused connection (gateway down) at 1000, then a 201 that started the work at 1004
    record = _attempts((1000.0, 0.0, "conn"), (1004.0, 0.3, "2xx"))
    assert _when_it_ran(record, _tx(1004.1, 1004.2), rpc_timeout=3) == []


def test_a_dropped_connection_leaves_the_service_its_whole_deadline():
    # the gateway worker died 0.5 s in; the call it had sent may still run to its deadline
    record = _attempts((1000.0, 0.5, "conn"), (1010.0, 0.1, "2xx"))
    assert _when_it_ran(record, _tx(1001.0, 1002.0), rpc_timeout=3) == []
    assert _when_it_ran(record, _tx(1001.0, 1009.0), rpc_timeout=3) == [
        "consume t-1 under key k committed 2.0 s after its request's deadline"
        " (the request was answered conn after 0.5 s)"
    ]


def test_the_table_counts_each_answer_under_the_fault_it_happened_in():
    book, _ = _record((201, {"transaction_id": "t"}))  # at t=0: before any fault
    record = book.open(KeyRecord("k2", "consume", "/p", {}, "c", "t"))
    for at, status in ((10.0, 503), (12.0, 201), (30.0, 504)):
        book.note(record, Attempt(at, outcome_class(status), status, str(status)), status, {})
    runs = [Injection("rabbitmq stop", 9.0, ended=11.0, recovered=13.0), Injection("kill -9 org", 29.0, ended=29.5)]
    lines = {line[:30].strip(): line[30:].split() for line in table(runs, book, 90, phase_end=100).splitlines()}
    # times, 2xx, 4xx, 503, 504, 500, conn, then the recovery figures
    assert lines["rabbitmq stop"][:7] == ["1", "1", "0", "1", "0", "0", "0"]
    assert lines["rabbitmq stop"][7] == "2.0/2.0"
    assert lines["kill -9 org"][:7] == ["1", "0", "0", "0", "1", "0", "0"]
    assert lines["no fault (calm)"][:6] == ["1", "0", "0", "0", "0", "0"]
