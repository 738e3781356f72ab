"""Who holds a token, kept in each gateway process, so most requests need no RPC to sign in.

Non-negotiable 12: the hot path is one RPC, and a sign-out, a disabled account or a
password change is in force for the very next request. Each gateway process:

- asks org (`org.authenticate`) the first time it sees a token, and keeps the answer
  for at most `ttl` seconds;
- listens to org's events on a queue of its own (`sessions_revoked`: a sign-out, a
  password change, a disabling, a move, a lock; `staff_changed`: a new role, store or
  status; `chain_changed`: a suspension) and drops every answer they touch the moment
  they arrive, about as soon as org has committed;
- trusts nothing it keeps while it is not listening: until its queue is consuming, and
  again from the moment the broker connection is lost, every request asks org, and
  what was kept is thrown away (events may have been missed meanwhile);
- refuses to keep an answer that a revocation may have overtaken (one that arrived
  after the question was asked).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from typing import Any

from kombu import Connection, Consumer, Queue, binding
from nameko.standalone.events import get_event_exchange

from contracts.auth import token_hash

log = logging.getLogger(__name__)

WATCHED = ("sessions_revoked", "staff_changed", "chain_changed")


class Principals:
    def __init__(self, amqp_uri: str, ttl: float = 30.0, capacity: int = 10_000) -> None:
        self.amqp_uri, self.ttl, self.capacity = amqp_uri, ttl, capacity
        self._kept: OrderedDict[str, tuple[dict, float]] = OrderedDict()  # token hash -> (principal, until)
        self._revoked: list[tuple[float, str, str]] = []  # (when, what, which): overtaking revocations
        self._lock = threading.Lock()
        self._listening = threading.Event()
        self._stopped = threading.Event()
        self._pid: int | None = None

    # ---- what the authentication middleware uses -------------------------------------------

    def get(self, token: str) -> dict | None:
        self._ensure_listener()
        if not self._listening.is_set():
            return None
        key = token_hash(token)
        with self._lock:
            kept = self._kept.get(key)
            if kept is None:
                return None
            principal, until = kept
            if until < time.monotonic():
                del self._kept[key]
                return None
            self._kept.move_to_end(key)
            return principal

    def put(self, token: str, principal: dict, asked_at: float) -> None:
        """Keep `principal` for `token`, unless a revocation that could touch it has arrived
        since `asked_at` (the answer may predate it) or nothing is being listened to."""
        if not self._listening.is_set():
            return
        key = token_hash(token)
        touched = {("token", key), ("staff", principal.get("staff_id")), ("chain", principal.get("chain_id"))}
        with self._lock:
            if any(when >= asked_at and (what, which) in touched for when, what, which in self._revoked):
                return
            self._kept[key] = (principal, time.monotonic() + self.ttl)
            self._kept.move_to_end(key)
            while len(self._kept) > self.capacity:
                self._kept.popitem(last=False)

    # ---- what org's events say ----------------------------------------------------------------------

    def forget(self, event_type: str, data: dict) -> None:
        now = time.monotonic()
        with self._lock:
            self._revoked = [r for r in self._revoked if r[0] > now - self.ttl]
            if event_type == "sessions_revoked" and data.get("token_hash"):
                self._revoked.append((now, "token", data["token_hash"]))
                self._kept.pop(data["token_hash"], None)
                return
            if event_type == "chain_changed":
                what, which = "chain", data.get("chain_id")
            else:
                what, which = "staff", data.get("staff_id")
            self._revoked.append((now, what, which))
            kept_token = data.get("kept_token_hash") if event_type == "sessions_revoked" else None
            field = "chain_id" if what == "chain" else "staff_id"
            for key in [k for k, (p, _) in self._kept.items() if p.get(field) == which and k != kept_token]:
                del self._kept[key]

    def _on_message(self, body: Any, message: Any) -> None:
        if isinstance(body, dict) and isinstance(body.get("data"), dict):
            self.forget(str(body.get("type") or message.delivery_info.get("routing_key")), body["data"])

    # ---- the listener -----------------------------------------------------------------------------

    def _ensure_listener(self) -> None:
        # one listener per process, started after gunicorn forked the worker
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._listening.clear()
            self._kept.clear()
            threading.Thread(target=self._listen, name="principals-listener", daemon=True).start()

    def _listen(self) -> None:
        exchange = get_event_exchange("org", {})
        pause = 0.5
        while not self._stopped.is_set():
            queue = Queue(
                f"gateway-principals-{os.getpid()}-{id(self)}",
                bindings=[binding(exchange, routing_key=event_type) for event_type in WATCHED],
                exclusive=True,
                auto_delete=True,
            )
            try:
                with Connection(self.amqp_uri, connect_timeout=3, heartbeat=10) as connection:
                    with Consumer(
                        connection, queues=[queue], callbacks=[self._on_message], no_ack=True, accept=["json"]
                    ):
                        self._start_trusting()
                        pause = 0.5
                        while not self._stopped.is_set():
                            try:
                                connection.drain_events(timeout=1)
                            except TimeoutError:
                                connection.heartbeat_check()
            except Exception as exc:  # noqa: BLE001 - the broker is away: stop trusting, try again
                log.warning("not listening to org's revocations (%r); every request asks org", exc)
            finally:
                self._stop_trusting()
            self._stopped.wait(pause)
            pause = min(pause * 2, 10.0)

    def _start_trusting(self) -> None:
        with self._lock:
            self._kept.clear()
        self._listening.set()

    def _stop_trusting(self) -> None:
        self._listening.clear()
        with self._lock:
            self._kept.clear()

    def wait_listening(self, timeout: float) -> bool:
        self._ensure_listener()
        return self._listening.wait(timeout)

    def close(self) -> None:
        self._stopped.set()
        self._stop_trusting()
