"""A keep-alive HTTP client, one per bench thread (http.client is not thread-safe)."""

from __future__ import annotations

import http.client
import json
import time
import uuid

# gunicorn closes a keep-alive connection idle for 2 s; a request sent just as it does
# fails without reaching the gateway, so a connection idle this long is opened afresh
IDLE_REOPEN_S = 1.0


class Client:
    def __init__(self, port: int, token: str | None = None, timeout: float = 30.0) -> None:
        self.port, self.token, self.timeout = port, token, timeout
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.last_used = time.monotonic()

    def _reopen(self) -> None:
        self.conn.close()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)

    def call(self, method: str, path: str, body: dict | None = None, key: bool = False) -> tuple[int, object]:
        """(status, decoded body); a POST with `key` carries a fresh Idempotency-Key.
        A broken connection is reopened once for the next call and raised."""
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if key:
            headers["Idempotency-Key"] = uuid.uuid4().hex
        if time.monotonic() - self.last_used > IDLE_REOPEN_S:
            self._reopen()
        try:
            self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self._reopen()
            raise
        finally:
            self.last_used = time.monotonic()
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, raw.decode(errors="replace")

    def ok(self, method: str, path: str, body: dict | None = None, status: int = 201) -> dict:
        """The answer of a call that must succeed while seeding (a POST gets a key)."""
        got, answer = self.call(method, path, body, key=method == "POST")
        if got != status:
            raise RuntimeError(f"{method} {path}: {got} {answer}")
        return answer  # type: ignore[return-value]
