"""Messages staff send by hand: a test of the chain's provider settings, to a typed-in
phone, address or both, with a kind's current text filled with sample values."""

from __future__ import annotations

from sqlalchemy.orm import Session

from contracts.auth import Actor
from services.kit.crypto import Codec
from services.notification import messages
from services.notification.kinds import SAMPLE_VALUES
from services.notification.models import Message


def test_send(session: Session, codec: Codec, actor: Actor, chain_id: str, payload: dict, key: str) -> dict:
    sent = []
    for channel, field in (("sms", "phone"), ("email", "email")):
        if not payload.get(field):
            continue
        message_id = messages.enqueue(
            session,
            chain_id=chain_id,
            kind="test",
            channel=channel,
            source_key=f"request:{key}:{channel}",
            member_id=None,
            variables={**SAMPLE_VALUES, "template": payload["kind"]},
            created_by=actor.staff_id,
            recipient=messages.sealed_recipient(codec, chain_id, channel, payload[field], field),
        )
        sent.append(messages.view(session.get(Message, message_id)))
    return {"items": sent}
