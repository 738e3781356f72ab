"""Providers that carry a message (N-1): `record`, an HTTP SMS gateway, SMTP.

Each `send` returns an `Outcome` and never raises for the provider's own
failures, which are sorted by whether another attempt can help:

- `Delivered`: accepted; the provider's message id and status are kept;
- `Retry`: a 5xx, a timeout, a refused or dropped connection (the provider
  may be back soon): the message goes back to the outbox after a pause;
- `Refused`: a 4xx or a permanent SMTP refusal (bad number, bad signature,
  no credit): another attempt would be refused the same way, so it fails at once.

Secrets (the HTTP secret, the SMTP password) are used here and nowhere else:
they appear in no outcome, log line or error text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage

HTTP_SEND_PATH = "/sms/send"
SIGNATURE_HEADER = "X-Signature"
REASON_MAX = 500


@dataclass(frozen=True)
class Delivered:
    provider_message_id: str | None
    provider_status: str


@dataclass(frozen=True)
class Retry:
    reason: str


@dataclass(frozen=True)
class Refused:
    reason: str


Outcome = Delivered | Retry | Refused


@dataclass(frozen=True)
class Sms:
    reference: str  # our message id: the provider may use it to drop a repeat of the same message
    to: str
    text: str


@dataclass(frozen=True)
class Email:
    reference: str
    to: str
    subject: str
    text: str


def record(message: Sms | Email) -> Outcome:
    """The default provider: the message is kept in the boxes and counts as sent."""
    return Delivered(f"record-{message.reference}", "recorded")


# ---- HTTP SMS gateway ---------------------------------------------------------------


@dataclass(frozen=True)
class HttpGateway:
    base_url: str
    account: str
    secret: str
    timeout_seconds: float

    def signed_request(self, sms: Sms, now: float | None = None) -> urllib.request.Request:
        """POST `<base>/sms/send` with a JSON body, signed: X-Signature is the hex HMAC-SHA256,
        under the secret, of "<account>\\n<timestamp>\\n<body>", so the gateway knows the
        sender and a captured request cannot be replayed later or altered."""
        timestamp = str(int(now if now is not None else time.time()))
        body = json.dumps(
            {"account": self.account, "to": sms.to, "text": sms.text, "reference": sms.reference},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        return urllib.request.Request(
            self.base_url.rstrip("/") + HTTP_SEND_PATH,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "X-Account": self.account,
                "X-Timestamp": timestamp,
                SIGNATURE_HEADER: sign(self.secret, self.account, timestamp, body),
            },
        )

    def send(self, sms: Sms) -> Outcome:
        request = self.signed_request(sms)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:  # noqa: S310 - https or http by configuration
                answer = _json(response.read())
        except urllib.error.HTTPError as error:
            reason = f"HTTP {error.code}: {_reason(error.read())}"
            return Retry(reason) if error.code >= 500 or error.code == 429 else Refused(reason)
        except TimeoutError:
            return Retry(f"no answer within {self.timeout_seconds:g} s")
        except (urllib.error.URLError, ConnectionError, OSError) as error:
            return Retry(f"cannot reach the SMS gateway: {getattr(error, 'reason', error)}"[:REASON_MAX])
        message_id = answer.get("message_id") if isinstance(answer, dict) else None
        status = answer.get("status") if isinstance(answer, dict) else None
        return Delivered(str(message_id)[:100] if message_id is not None else None, str(status or "accepted")[:40])


def sign(secret: str, account: str, timestamp: str, body: bytes) -> str:
    message = account.encode() + b"\n" + timestamp.encode() + b"\n" + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _json(raw: bytes) -> object:
    try:
        return json.loads(raw.decode("utf-8") or "null")
    except (UnicodeDecodeError, ValueError):
        return None


def _reason(raw: bytes) -> str:
    """What the gateway said, from its JSON `error` or `message`, else its text, shortened."""
    answer = _json(raw)
    if isinstance(answer, dict):
        for key in ("error", "message", "reason"):
            if isinstance(answer.get(key), str):
                return answer[key][:REASON_MAX]
    return raw.decode("utf-8", "replace")[:REASON_MAX] or "no reason given"


# ---- SMTP ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: str  # none, starttls, ssl
    username: str | None
    password: str | None
    sender: str
    timeout_seconds: float

    def compose(self, email: Email) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = email.to
        message["Subject"] = email.subject
        # the same for every attempt at this message, so a receiver can drop a repeat
        message["Message-ID"] = f"<{email.reference}@{self.sender.rpartition('@')[2] or 'huiyuan'}>"
        message.set_content(email.text)
        return message

    def send(self, email: Email) -> Outcome:
        message = self.compose(email)
        try:
            with self._connect() as smtp:
                if self.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except smtplib.SMTPResponseException as error:
            reason = f"SMTP {error.smtp_code}: {_text(error.smtp_error)}"
            # 4xx is "try again later" in SMTP; 5xx is final (bad address, refused, auth failed)
            return Retry(reason) if 400 <= error.smtp_code < 500 else Refused(reason)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            reason = f"recipient refused: {codes}"
            return Retry(reason) if all(400 <= c < 500 for c in codes) else Refused(reason)
        except smtplib.SMTPNotSupportedError as error:
            return Refused(f"the server does not support it: {error}"[:REASON_MAX])
        except (smtplib.SMTPException, OSError) as error:
            return Retry(f"cannot reach the SMTP server: {error!r}"[:REASON_MAX])
        return Delivered(message["Message-ID"], "accepted")

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout_seconds, context=ssl.create_default_context()
            )
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds)


def _text(value: bytes | str) -> str:
    return (value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value))[:REASON_MAX]
