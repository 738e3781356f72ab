"""Tills as a careful operator runs them: one Idempotency-Key per sale, retried until a definite answer.

A definite answer is a 2xx or a 4xx: the operation was done, or refused and
not done. Anything else (503, 504, a 500, a dropped connection, a timeout)
leaves the outcome open, so the till waits and asks again with the same key
and the same body. Every answer to every key is written in the `KeyBook`; a
key must never get two different definite answers.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from dataclasses import dataclass, field

API = "/api/v1"
DEFINITE = ("2xx", "4xx")
OUTCOMES = ("2xx", "4xx", "503", "504", "500", "conn")


def outcome_class(status: int | None) -> str:
    if status is None:
        return "conn"
    if 200 <= status < 300:
        return "2xx"
    if 400 <= status < 500:
        return "4xx"
    if status in (503, 504):
        return str(status)
    return "500"  # any other 5xx: the outcome is unknown and nobody said so


def answer_of(status: int, body: object) -> str:
    """What identifies a definite answer: the status and the transaction id, or the error code."""
    if isinstance(body, dict):
        if 200 <= status < 300:
            return f"{status} {body.get('transaction_id') or body.get('id') or ''}".strip()
        error = body.get("error")
        if isinstance(error, dict):
            return f"{status} {error.get('code')}"
    return str(status)


class Http:
    """One keep-alive connection to the gateway, reopened after any transport error."""

    def __init__(self, port: int, timeout: float, token: str | None = None) -> None:
        self.port = port
        self.timeout = timeout
        self.token = token
        self.conn: http.client.HTTPConnection | None = None

    def call(self, method: str, path: str, body: object = None, key: str | None = None) -> tuple[int | None, object]:
        """(status, parsed body); (None, error text) when the connection failed or timed out."""
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if key:
            headers["Idempotency-Key"] = key
        payload = json.dumps(body) if body is not None else None
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self.conn.request(method, f"{API}{path}", body=payload, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            self.close()
            return None, repr(exc)
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw[:200].decode(errors="replace")
        return response.status, parsed

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


@dataclass
class Attempt:
    at: float  # time.monotonic() when sent
    outcome: str
    status: int | None
    answer: str
    wall: float = 0.0  # time.time() when sent: compared with the database's timestamps
    took: float = 0.0


@dataclass
class KeyRecord:
    key: str
    op: str
    path: str
    body: dict
    card_no: str | None
    token: str
    attempts: list[Attempt] = field(default_factory=list)
    first: tuple[int, object] | None = None  # the first definite (status, body)

    @property
    def definite(self) -> list[Attempt]:
        return [a for a in self.attempts if a.outcome in DEFINITE]

    @property
    def answers(self) -> set[str]:
        return {a.answer for a in self.definite}

    @property
    def acknowledged(self) -> bool:
        return self.first is not None and 200 <= self.first[0] < 300

    @property
    def had_doubt(self) -> bool:
        """Some attempt before the definite answer left the outcome open."""
        return any(a.outcome not in DEFINITE for a in self.attempts)


class KeyBook:
    """Every key the tills used, and every answer they got, shared by all till threads."""

    def __init__(self) -> None:
        self.records: dict[str, KeyRecord] = {}
        self.lock = threading.Lock()
        self.stopped_at = float("inf")  # when the tills were told to stop

    def open(self, record: KeyRecord) -> KeyRecord:
        with self.lock:
            self.records[record.key] = record
        return record

    def note(self, record: KeyRecord, attempt: Attempt, status: int | None, body: object) -> None:
        with self.lock:
            record.attempts.append(attempt)
            if record.first is None and attempt.outcome in DEFINITE:
                record.first = (status, body)

    def all(self) -> list[KeyRecord]:
        with self.lock:
            return list(self.records.values())

    def attempts(self) -> list[Attempt]:
        with self.lock:
            return [a for r in self.records.values() for a in r.attempts]

    def conflicting(self) -> list[KeyRecord]:
        return [r for r in self.all() if len(r.answers) > 1]


def send_until_definite(
    http_: Http,
    book: KeyBook,
    record: KeyRecord,
    *,
    give_up_after: float,
    stop: threading.Event | None = None,
    stop_grace: float = 30.0,
    rng: random.Random | None = None,
) -> tuple[int, object] | None:
    """Send `record`'s request under its key until a definite answer; None if none came in time.
    Once `stop` is set the till still tries for `stop_grace` seconds, then leaves the key open."""
    rng = rng or random.Random()
    deadline = time.monotonic() + give_up_after
    pause = 0.2
    while True:
        started, wall = time.monotonic(), time.time()
        status, body = http_.call("POST", record.path, record.body, key=record.key)
        outcome = outcome_class(status)
        answer = answer_of(status, body) if status is not None else "conn"
        attempt = Attempt(started, outcome, status, answer, wall, time.monotonic() - started)
        book.note(record, attempt, status, body)
        if outcome in DEFINITE:
            return status, body
        if stop is not None and stop.is_set():
            deadline = min(deadline, book.stopped_at + stop_grace)
        if time.monotonic() + pause > deadline:
            return None
        # back off with jitter, then the same key and body again
        time.sleep(pause * (0.5 + rng.random()))
        pause = min(pause * 2, 3.0)
