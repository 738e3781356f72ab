"""A local SMS gateway and SMTP server for the notification tests (the outer edge, N-1).

`SmsGateway` is an HTTP server in the test process: it records every request
(headers, JSON body, whether its signature verifies) and answers from a script
of statuses and delays set by the test (500, a slow answer, 400 ...), then 200.
Like real gateways it drops a repeat of a reference it accepted, answering the
first message id. `SmtpServer` is aiosmtpd in a process of its own, keeping
what it receives in a maildir.
"""

from __future__ import annotations

import json
import mailbox
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from services.notification.providers import sign


class _Server(ThreadingHTTPServer):
    # socketserver's backlog of 5 drops the 6th simultaneous connection (a 1 s SYN retry)
    request_queue_size = 256
    daemon_threads = True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Received:
    path: str
    headers: dict
    body: dict
    signed: bool
    status: int


@dataclass
class SmsGateway:
    secret: str = "gateway-secret-for-tests"
    account: str = "acct-1"
    requests: list[Received] = field(default_factory=list)
    script: list[tuple[int, float]] = field(default_factory=list)  # (status, delay) for the next requests
    accepted: dict[str, str] = field(default_factory=dict)  # reference -> message id

    def start(self) -> SmsGateway:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server name
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, delay = gateway.script.pop(0) if gateway.script else (200, 0.0)
                time.sleep(delay)
                headers = {k.lower(): v for k, v in self.headers.items()}
                expected = sign(gateway.secret, gateway.account, headers.get("x-timestamp", ""), raw)
                body = json.loads(raw)
                gateway.requests.append(
                    Received(self.path, headers, body, expected == headers.get("x-signature"), status)
                )
                if status == 200:
                    reference = body["reference"]
                    message_id = gateway.accepted.setdefault(reference, f"gw-{len(gateway.accepted) + 1}")
                    answer = {"message_id": message_id, "status": "queued"}
                else:
                    answer = {"error": f"scripted {status}"}
                payload = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up waiting (the slow answer)

            def log_message(self, *args) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def to(self, phone: str) -> list[Received]:
        return [r for r in self.requests if r.body["to"] == phone]

    def delivered(self, phone: str) -> list[dict]:
        """Messages the gateway accepted for `phone`, each reference once."""
        seen: dict[str, dict] = {}
        for r in self.to(phone):
            if r.status == 200:
                seen.setdefault(r.body["reference"], r.body)
        return list(seen.values())


@dataclass
class SmtpServer:
    directory: Path
    port: int = 0

    def start(self) -> SmtpServer:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.port}"]
            + ["-c", "aiosmtpd.handlers.Mailbox", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the SMTP server did not start")

    def messages(self) -> list:
        return list(mailbox.Maildir(str(self.directory), create=False))

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
