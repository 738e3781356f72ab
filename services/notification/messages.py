"""Messages and their boxes (N-5): every message is kept, found by member, phone, kind,
status and date, and a failed one can be put back in the outbox by staff.

A message is made once per cause (`source_key`: the event, the birthday and year,
the staff request), so an event delivered twice or a schedule run on two instances
makes one message.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from contracts.errors import InvalidState, NotFound
from services.kit import direct
from services.kit.crypto import Codec
from services.kit.db import new_id
from services.kit.paging import keyset_page
from services.member.pii import mask_email, mask_phone, normalise_phone
from services.notification.models import Message

OUTBOX = ("queued", "sending")
# what the dispatcher takes when its time comes: the outbox, and a consume's message whose wait
# for its points is over (N-3)
DUE = ("waiting", *OUTBOX)


def enqueue(
    session: Session,
    *,
    chain_id: str,
    kind: str,
    channel: str,
    source_key: str,
    member_id: str | None,
    variables: dict,
    created_by: str | None = None,
    recipient: tuple[str | None, str | None, str | None] = (None, None, None),
    wait_seconds: float | None = None,
) -> str | None:
    """Put a message in the outbox, or keep it `waiting` for up to `wait_seconds` (a consume's
    message until its points are known); None if its cause already made one."""
    cipher, index, masked = recipient
    waiting = wait_seconds is not None
    message = {
        "id": new_id(),
        "chain_id": chain_id,
        "kind": kind,
        "channel": channel,
        "source_key": source_key[:120],
        "member_id": member_id,
        "variables": variables,
        "status": "waiting" if waiting else "queued",
        "attempts": 0,
        "recipient_cipher": cipher,
        "recipient_index": index,
        "recipient_masked": masked,
        "created_by": created_by,
    }
    params = {f"the_{name}": value for name, value in message.items()}
    return direct.run(session, _ENQUEUING, {**params, "wait_seconds": wait_seconds or 0}).scalar()


# what every way of making messages writes (this one, a campaign's in one statement)
MESSAGE_HEAD = ("id", "chain_id", "kind", "channel", "source_key", "member_id", "variables", "status", "attempts")
# built once: a consume makes a message (see services.kit.built); parameters `the_*` (a column's
# own name is the VALUES parameter of an INSERT)
_MESSAGE_COLUMNS = (
    *MESSAGE_HEAD,
    "recipient_cipher",
    "recipient_index",
    "recipient_masked",
    "created_by",
)
_WAIT = func.make_interval(0, 0, 0, 0, 0, 0, bindparam("wait_seconds", type_=Float))  # 0: due now
# of the table, not the mapped class: an INSERT of a mapped class runs the ORM's bulk insert,
# which keys its values afresh on every run (measured: 720-780 us of CPU per message, 260-300 as Core)
_TABLE = Message.__table__
_ENQUEUING = (
    insert(_TABLE)
    .values(
        {
            **{name: bindparam(f"the_{name}") for name in _MESSAGE_COLUMNS},
            "next_attempt_at": func.now() + _WAIT,
        }
    )
    .on_conflict_do_nothing(index_elements=[_TABLE.c.chain_id, _TABLE.c.source_key])
    .returning(_TABLE.c.id)
)


def phone_index(codec: Codec, chain_id: str, phone: str) -> str:
    """The keyed hash a phone is found by: the member service's, so one number is one hash."""
    return codec.index(chain_id, "phone", phone)


def email_index(codec: Codec, chain_id: str, address: str) -> str:
    return codec.index(chain_id, "email", address.strip().lower())


def sealed_recipient(codec: Codec, chain_id: str, channel: str, to: str, field: str) -> tuple[str, str, str]:
    """A typed-in phone or address: sealed, hashed for search, masked for lists."""
    if channel == "sms":
        phone = normalise_phone(to, field)
        return codec.encrypt(chain_id, "phone", phone), phone_index(codec, chain_id, phone), mask_phone(phone)
    address = to.strip()
    return codec.encrypt(chain_id, "email", address), email_index(codec, chain_id, address), mask_email(address)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def view(row: Message) -> dict:
    return {
        "id": row.id,
        "kind": row.kind,
        "channel": row.channel,
        "member_id": row.member_id,
        "recipient": row.recipient_masked,
        "subject": row.subject,
        "body": row.body,
        "status": row.status,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "provider": row.provider,
        "provider_message_id": row.provider_message_id,
        "provider_status": row.provider_status,
        "created_at": row.created_at.isoformat(),
        "next_attempt_at": _iso(row.next_attempt_at) if row.status in DUE else None,
        "sent_at": _iso(row.sent_at),
    }


def get(session: Session, chain_id: str, message_id: str) -> Message:
    row = session.get(Message, message_id)
    if row is None or row.chain_id != chain_id:
        raise NotFound("No such message.", {"message_id": ["No such message in this chain."]})
    return row


def search(session: Session, codec: Codec, chain_id: str, query: dict) -> dict:
    stmt = select(Message).where(Message.chain_id == chain_id)
    for name in ("member_id", "kind", "channel", "status"):
        if query.get(name) is not None:
            stmt = stmt.where(getattr(Message, name) == query[name])
    if query.get("phone") is not None:
        stmt = stmt.where(Message.recipient_index == phone_index(codec, chain_id, normalise_phone(query["phone"])))
    if query.get("since") is not None:
        stmt = stmt.where(Message.created_at >= query["since"])
    if query.get("until") is not None:
        stmt = stmt.where(Message.created_at < query["until"])
    rows, cursor = keyset_page(
        session,
        stmt,
        [Message.created_at, Message.id],
        limit=query["limit"],
        after=query.get("after"),
        descending=True,
    )
    return {"items": [view(r) for r in rows], "next_cursor": cursor}


def retry(session: Session, chain_id: str, message_id: str) -> dict:
    """Staff put a failed message back in the outbox: tried again at once, with the same
    text, and `max_attempts` more attempts before it fails again (the count goes on)."""
    row = get(session, chain_id, message_id)
    if row.status != "failed":
        raise InvalidState(
            f"Only a failed message can be retried; this one is {row.status}.",
            {"message_id": [f"The message is {row.status}."]},
        )
    session.execute(
        update(Message)
        .where(Message.id == row.id)
        .values(status="queued", retried_at_attempt=row.attempts, next_attempt_at=func.now(), claimed_until=None)
    )
    session.refresh(row)
    return view(row)
