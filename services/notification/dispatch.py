"""Sending what is in the outbox (N-1, N-5): claim, send outside any transaction, record.

A message is claimed for a lease (status `sending`) in a short transaction, so
two instances never take the same one; it is sent with no transaction open (a
slow provider holds no lock or connection); its outcome is recorded in a second
transaction with its `notification.sent` or `.failed` event. A process killed
between sending and recording leaves the message claimed: when the lease runs
out (`lease_seconds`: longer than any send of its batch can take) it is sent
again under the same reference (our message id; the SMTP Message-ID is made of
it), which the provider uses to drop the repeat.

The text is fixed at the first attempt and kept, so every retry sends the same
words. Retries wait `retry_base_ms`, doubling, up to `max_attempts` in all; a
refusal (4xx, a bad address) fails the message at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import eventlet
from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import Session

from contracts.base import load
from contracts.notification import Contact
from services.kit.built import constant
from services.kit.clock import DEFAULT_TIME_ZONE
from services.kit.crypto import Codec
from services.kit.outbox import OutboxWriter
from services.notification import campaigns, chain_settings, providers, quiet, templates
from services.notification.messages import DUE, email_index, phone_index
from services.notification.models import ChainCopy, Message, ProviderSettings

log = logging.getLogger(__name__)

BATCH = 50
PARALLEL_SENDS = 10
LEASE_MARGIN_SECONDS = 10.0  # for recording the outcome, and clocks
DEFAULT_TIMEOUT_MS = 5000  # a chain that never changed its provider settings


@dataclass(frozen=True)
class Prepared:
    """A claimed message made ready to send: its text fixed, its recipient known."""

    message: Message
    send: Callable[[], providers.Outcome] | None  # None: it cannot be sent (see `refusal`, `held_until`)
    provider: str
    refusal: str | None = None
    held_until: datetime | None = None  # marketing in quiet hours: back in the outbox until then


def lease_seconds(timeout_ms: int) -> float:
    """How long a claim holds: a batch is sent PARALLEL_SENDS at a time, so the last message of
    one may start after BATCH / PARALLEL_SENDS - 1 others' timeouts, then waits out its own."""
    return (BATCH // PARALLEL_SENDS) * timeout_ms / 1000 + LEASE_MARGIN_SECONDS


# what is due to send, through the partial index ix_messages_due (its statuses in the text)
DUE_IDS = (
    select(Message.id)
    .where(Message.status.in_([constant(s) for s in DUE]), Message.next_attempt_at <= func.now())
    .order_by(Message.next_attempt_at)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)


def claim(session: Session, limit: int = BATCH) -> list[Message]:
    """Due messages, now ours for the lease: queued ones whose time has come, waiting ones whose
    wait for their points is over (sent without them), and claimed ones whose lease ran out
    (their sender died)."""
    with session.begin():
        timeout_ms = func.coalesce(
            select(ProviderSettings.http_timeout_ms)
            .where(ProviderSettings.chain_id == Message.chain_id)
            .scalar_subquery(),
            DEFAULT_TIMEOUT_MS,
        )
        per_timeout = (BATCH // PARALLEL_SENDS) / 1000.0
        lease = func.now() + func.make_interval(0, 0, 0, 0, 0, 0, timeout_ms * per_timeout + LEASE_MARGIN_SECONDS)
        claimed = session.scalars(
            update(Message)
            .where(Message.id.in_(DUE_IDS.scalar_subquery()))
            .values(
                status="sending", attempts=Message.attempts + 1, claimed_until=lease, next_attempt_at=lease, held=False
            )
            .returning(Message),
            {"limit": limit},
            execution_options={"synchronize_session": False},
        ).all()
        # detached: what `prepare` sets on them (text, recipient) is written by `record` alone, in
        # its own UPDATE, never flushed on the way; and a later round's claim gets fresh objects
        for message in claimed:
            session.expunge(message)
        return list(claimed)


def _signature(chain: ChainCopy | None) -> str:
    """S-1: every SMS opens with the chain's signature, 【...】, or its name until it has one."""
    name = (chain.sms_signature or chain.name) if chain is not None else ""
    return f"【{name}】" if name else ""


def prepare(
    session: Session,
    codec: Codec,
    messages: list[Message],
    contacts: Callable[[str, list[str]], list[dict]],
) -> list[Prepared]:
    """Fix each message's text (first attempt only) and find whom it goes to."""
    prepared: list[Prepared] = []
    by_chain: dict[str, list[Message]] = {}
    for message in messages:
        by_chain.setdefault(message.chain_id, []).append(message)
    for chain_id, group in by_chain.items():
        chain = session.get(ChainCopy, chain_id)
        settings = chain_settings.provider(session, chain_id)
        wanted = sorted({m.member_id for m in group if m.member_id and m.recipient_cipher is None})
        known = {c["member_id"]: c for c in (load(Contact, c) for c in contacts(chain_id, wanted))} if wanted else {}
        kinds: dict[str, dict] = {}  # each kind's settings read once per chain and round
        for message in group:
            prepared.append(_prepare_one(session, codec, chain, settings, message, known, kinds))
    return prepared


def _prepare_one(
    session: Session,
    codec: Codec,
    chain: ChainCopy | None,
    settings: ProviderSettings,
    message: Message,
    known: dict[str, dict],
    kinds: dict[str, dict],
) -> Prepared:
    contact = known.get(message.member_id) if message.member_id else None
    provider = settings.sms_provider if message.channel == "sms" else settings.email_provider
    if message.campaign_id is not None:
        zone = chain.time_zone if chain is not None else DEFAULT_TIME_ZONE
        until = quiet.held_until(datetime.now(UTC), zone, settings.quiet_start, settings.quiet_end)
        if until is not None:
            return Prepared(message, None, provider, held_until=until)
        if contact is not None and not contact["marketing_consent"]:
            return Prepared(message, None, provider, "The member has withdrawn consent to marketing.")
    if message.body is None and message.campaign_id is not None:
        values = {
            "chain_name": chain.name if chain is not None else "",
            "member_name": contact["name"] if contact else "",
        }
        message.body = _signature(chain) + templates.render(campaigns.text_of(session, message.campaign_id), values)
    elif message.body is None:
        name = message.variables.get("template", message.kind)  # a test send shows another kind's text
        if name not in kinds:
            row = chain_settings.kind_settings(session, message.chain_id, name)
            kinds[name] = chain_settings.kind_view(chain_settings.kind_of(name), row)
        kind = kinds[name]
        values = {
            **message.variables,
            "chain_name": chain.name if chain is not None else "",
            "member_name": contact["name"] if contact else message.variables.get("member_name", ""),
        }
        if message.channel == "sms":
            message.body = _signature(chain) + templates.render(kind["sms_text"], values)
        else:
            message.subject = templates.render(kind["email_subject"], values)[:300]
            message.body = templates.render(kind["email_text"], values)
    to = _recipient(codec, message, contact)
    if to is None:
        where = "e-mail address" if message.channel == "email" else "phone"
        return Prepared(message, None, provider, f"The member has no {where} to send to.")
    return Prepared(message, _sender(codec, settings, message, to), provider)


def _recipient(codec: Codec, message: Message, contact: dict | None) -> str | None:
    if message.recipient_cipher is not None:
        field = "phone" if message.channel == "sms" else "email"
        return codec.decrypt(message.chain_id, field, message.recipient_cipher)
    if contact is None:
        return None
    # kept so the boxes can be searched by phone or address; the phone or address itself is not kept
    if message.channel == "sms":
        message.recipient_index = phone_index(codec, message.chain_id, contact["phone"])
        message.recipient_masked = contact["masked_phone"]
        return contact["phone"]
    if not contact["email"]:
        return None
    message.recipient_index = email_index(codec, message.chain_id, contact["email"])
    message.recipient_masked = contact["masked_email"]
    return contact["email"]


def _sender(codec: Codec, settings: ProviderSettings, message: Message, to: str) -> Callable[[], providers.Outcome]:
    chain_id, reference = message.chain_id, message.id
    if message.channel == "sms":
        sms = providers.Sms(reference, to, message.body or "")
        if settings.sms_provider == "http":
            gateway = providers.HttpGateway(
                settings.http_base_url or "",
                settings.http_account or "",
                chain_settings.secret(codec, chain_id, "http_secret", settings.http_secret_cipher) or "",
                settings.http_timeout_ms / 1000,
            )
            return lambda: gateway.send(sms)
        return lambda: providers.record(sms)
    email = providers.Email(reference, to, message.subject or "", message.body or "")
    if settings.email_provider == "smtp":
        server = providers.SmtpServer(
            settings.smtp_host or "",
            settings.smtp_port,
            settings.smtp_security,
            settings.smtp_username,
            chain_settings.secret(codec, chain_id, "smtp_password", settings.smtp_password_cipher),
            settings.email_from or "",
            settings.http_timeout_ms / 1000,
        )
        return lambda: server.send(email)
    return lambda: providers.record(email)


def send_all(prepared: Iterable[Prepared]) -> list[tuple[Prepared, providers.Outcome]]:
    """Send with up to PARALLEL_SENDS at once (green threads: a slow provider waits alone)."""
    pool = eventlet.GreenPool(PARALLEL_SENDS)

    def one(item: Prepared) -> tuple[Prepared, providers.Outcome]:
        if item.send is None:
            return item, providers.Refused(item.refusal or "cannot be sent")
        try:
            return item, item.send()
        except Exception as error:  # noqa: BLE001 - a provider bug must not lose the outcome of the rest
            log.exception("sending message %s failed unexpectedly", item.message.id)
            return item, providers.Retry(f"unexpected failure: {error!r}"[:500])

    return list(pool.imap(one, prepared))


def outcome_values(item: Prepared, outcome: providers.Outcome, settings: ProviderSettings) -> dict:
    """What one attempt's outcome makes of its message: sent, queued again after a pause
    (`pause_ms`) or failed, with the text and recipient fixed at the attempt."""
    message = item.message
    made = message.attempts - message.retried_at_attempt
    values: dict = {
        "body": message.body,
        "subject": message.subject,
        "recipient_index": message.recipient_index,
        "recipient_masked": message.recipient_masked,
        "provider": item.provider,
        "last_error": None,
        "provider_message_id": None,
        "provider_status": None,
        "pause_ms": 0,
    }
    if isinstance(outcome, providers.Delivered):
        values.update(
            status="sent",
            provider_message_id=outcome.provider_message_id,
            provider_status=outcome.provider_status,
        )
    elif isinstance(outcome, providers.Retry) and made < settings.max_attempts:
        values.update(status="queued", last_error=outcome.reason, pause_ms=settings.retry_base_ms * 2 ** (made - 1))
    else:
        values.update(status="failed", last_error=outcome.reason)
    return values


def record(
    session: Session, events: OutboxWriter, outcomes: list[tuple[Prepared, providers.Outcome]]
) -> dict[str, str]:
    """The outcomes of a round's attempts, in one UPDATE, and their `sent` / `failed` events in
    one INSERT; returns each message's new status. A message whose lease ran out and was taken
    over meanwhile keeps its new holder's state (its holder records that outcome)."""
    if not outcomes:
        return {}
    settings = {
        chain_id: chain_settings.provider(session, chain_id) for chain_id in {i.message.chain_id for i, _ in outcomes}
    }
    rows = [
        {
            "id": item.message.id,
            "attempts": item.message.attempts,
            **outcome_values(item, outcome, settings[item.message.chain_id]),
        }
        for item, outcome in outcomes
    ]
    params = {f"o_{name}": [row[name] for row in rows] for name in _OUTCOME_COLUMNS}
    done = set(session.scalars(_RECORDING, params))
    statuses, announced = {}, []
    for (item, _), row in zip(outcomes, rows, strict=True):
        message = item.message
        if message.id not in done:  # taken over after our lease ran out; its new holder records the outcome
            statuses[message.id] = message.status
            continue
        statuses[message.id] = row["status"]
        if row["status"] in ("sent", "failed"):
            announced.append(_announcement(message, item.provider, row))
    events.add_many(session, announced)
    return statuses


_OUTCOME_COLUMNS = {
    "id": "text",
    "attempts": "int",
    "status": "text",
    "body": "text",
    "subject": "text",
    "recipient_index": "text",
    "recipient_masked": "text",
    "provider": "text",
    "last_error": "text",
    "provider_message_id": "text",
    "provider_status": "text",
    "pause_ms": "bigint",
}
_ARRAYS = ", ".join(f"CAST(:o_{name} AS {kind}[])" for name, kind in _OUTCOME_COLUMNS.items())
# only a message still ours (sending, at this attempt); a sent one keeps no error, a failed or
# queued one keeps its provider ids as they were, a queued one is due again after its pause
_RECORDING = text(f"""
UPDATE {Message.__table__.fullname} AS m SET
    status = o.status, body = o.body, subject = o.subject,
    recipient_index = o.recipient_index, recipient_masked = o.recipient_masked,
    provider = o.provider, last_error = o.last_error, claimed_until = NULL, updated_at = now(),
    sent_at = CASE WHEN o.status = 'sent' THEN now() ELSE m.sent_at END,
    provider_message_id = CASE WHEN o.status = 'sent' THEN o.provider_message_id ELSE m.provider_message_id END,
    provider_status = CASE WHEN o.status = 'sent' THEN o.provider_status ELSE m.provider_status END,
    next_attempt_at = CASE WHEN o.status = 'queued'
        THEN now() + o.pause_ms * interval '1 millisecond' ELSE m.next_attempt_at END
FROM unnest({_ARRAYS}) AS o({", ".join(_OUTCOME_COLUMNS)})
WHERE m.id = o.id AND m.status = 'sending' AND m.attempts = o.attempts
RETURNING m.id
""")


def _announcement(message: Message, provider: str, row: dict) -> tuple[str, dict, str, None]:
    data = {
        "message_id": message.id,
        "chain_id": message.chain_id,
        "member_id": message.member_id,
        "kind": message.kind,
        "channel": message.channel,
        "provider": provider,
        "attempts": message.attempts,
    }
    if row["status"] == "sent":
        return "sent", {**data, "provider_message_id": row["provider_message_id"]}, message.chain_id, None
    return "failed", {**data, "reason": row["last_error"] or ""}, message.chain_id, None


def release(session: Session, ids: list[str], until: datetime | None = None, *, held: bool = False) -> None:
    """Give back messages that were not sent: could not be made ready (the member service away:
    tried again in 10 s) or held by quiet hours (until the window opens). No attempt reached a
    provider, so none is counted."""
    when = until if until is not None else func.now() + timedelta(seconds=10)
    with session.begin():
        session.execute(
            update(Message)
            .where(Message.id.in_(ids), Message.status == "sending")
            .values(status="queued", attempts=Message.attempts - 1, claimed_until=None, next_attempt_at=when, held=held)
        )


def run_once(
    session: Session,
    events: OutboxWriter,
    codec: Codec,
    contacts: Callable[[str, list[str]], list[dict]],
    limit: int = BATCH,
) -> int:
    """One round: claim, prepare, send, record. Returns how many messages were tried."""
    claimed = claim(session, limit)
    if not claimed:
        return 0
    ids = [m.id for m in claimed]
    try:
        with session.begin():
            prepared = prepare(session, codec, claimed, contacts)
    except Exception:
        release(session, ids)
        raise
    for item in prepared:
        if item.held_until is not None:
            release(session, [item.message.id], item.held_until, held=True)
    outcomes = send_all(p for p in prepared if p.held_until is None)
    with session.begin():  # one statement for the round's outcomes, one for their events
        record(session, events, outcomes)
    return len(claimed)
