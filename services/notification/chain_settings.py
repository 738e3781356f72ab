"""A chain's notification settings: provider (N-1), and per kind its switch, channel and texts (N-2, N-3).

Secrets (the HTTP gateway's secret, the SMTP password) are sealed with the kit's
key when saved and only ever opened to send: answers say whether one is set.
"""

from __future__ import annotations

from datetime import time

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from contracts.errors import NotFound, ValidationFailed
from contracts.notification import DEFAULT_DAYS_BEFORE
from services.kit.built import constant
from services.kit.crypto import Codec
from services.notification import templates
from services.notification.kinds import KINDS, Kind
from services.notification.models import KindSettings, Message, ProviderSettings

PROVIDER_FIELDS = (
    "sms_provider",
    "http_base_url",
    "http_account",
    "http_timeout_ms",
    "email_provider",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_username",
    "email_from",
    "max_attempts",
    "retry_base_ms",
    "marketing_per_minute",
)
QUIET = ("quiet_start", "quiet_end")
SECRETS = {"http_secret": "http_secret_cipher", "smtp_password": "smtp_password_cipher"}
TEXT_FIELDS = ("sms_text", "email_subject", "email_text")


# ---- provider ----------------------------------------------------------------------------


def provider(session: Session, chain_id: str, *, lock: bool = False) -> ProviderSettings:
    """The chain's provider settings; the defaults (record everything) until HQ changes them."""
    stmt = select(ProviderSettings).where(ProviderSettings.chain_id == chain_id)
    row = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if row is None:
        row = ProviderSettings(chain_id=chain_id)
        for column in ProviderSettings.__table__.columns:
            if getattr(row, column.key) is None and column.default is not None:
                setattr(row, column.key, column.default.arg)
    return row


def provider_view(row: ProviderSettings) -> dict:
    out = {name: getattr(row, name) for name in PROVIDER_FIELDS}
    for name in QUIET:
        value = getattr(row, name)
        out[name] = value.strftime("%H:%M") if value is not None else None
    out["http_secret_set"] = row.http_secret_cipher is not None
    out["smtp_password_set"] = row.smtp_password_cipher is not None
    return out


def update_provider(session: Session, codec: Codec, chain_id: str, changes: dict) -> dict:
    row = provider(session, chain_id, lock=True)
    for name, value in changes.items():
        if name in SECRETS:
            setattr(row, SECRETS[name], codec.encrypt(chain_id, name, value))
        elif name in QUIET:
            setattr(row, name, time.fromisoformat(value) if value is not None else None)
        else:
            setattr(row, name, value)
    _require_complete(row)
    session.add(row)
    session.flush()
    if any(name in changes for name in QUIET):
        # what quiet hours held is judged again by the new ones at once
        session.execute(
            update(Message)
            .where(Message.chain_id == chain_id, Message.status == constant("queued"), Message.held.is_(True))
            .values(next_attempt_at=func.now(), held=False)
        )
    return provider_view(row)


def _require_complete(row: ProviderSettings) -> None:
    """A provider cannot be chosen without what it needs to send: refused now, not at 3 a.m."""
    missing: dict[str, list[str]] = {}
    if row.sms_provider == "http":
        for name in ("http_base_url", "http_account"):
            if not getattr(row, name):
                missing[name] = ["Required for the http SMS provider."]
        if row.http_secret_cipher is None:
            missing["http_secret"] = ["Required for the http SMS provider."]
    if (row.quiet_start is None) != (row.quiet_end is None):
        missing["quiet_end" if row.quiet_end is None else "quiet_start"] = ["Quiet hours need a start and an end."]
    if row.email_provider == "smtp":
        for name in ("smtp_host", "email_from"):
            if not getattr(row, name):
                missing[name] = ["Required for the smtp e-mail provider."]
    if missing:
        raise ValidationFailed("The provider settings are incomplete.", missing)


def secret(codec: Codec, chain_id: str, name: str, cipher: str | None) -> str | None:
    return codec.decrypt(chain_id, name, cipher) if cipher else None


# ---- kinds: switches, channels, texts ------------------------------------------------------


def kind_of(name: str) -> Kind:
    if name not in KINDS:
        raise NotFound("No such message kind.", {"kind": [f"One of: {', '.join(KINDS)}."]})
    return KINDS[name]


def kind_settings(session: Session, chain_id: str, kind: str) -> KindSettings | None:
    return session.get(KindSettings, (chain_id, kind))


def kind_view(kind: Kind, row: KindSettings | None) -> dict:
    return {
        "kind": kind.name,
        "description": kind.description,
        "variables": list(kind.variables),
        "automatic": kind.automatic,
        "enabled": row.enabled if row is not None else True,
        "channel": row.channel if row is not None else "sms",
        "sms_text": (row.sms_text if row is not None and row.sms_text else None) or kind.sms_text,
        "email_subject": (row.email_subject if row is not None and row.email_subject else None) or kind.email_subject,
        "email_text": (row.email_text if row is not None and row.email_text else None) or kind.email_text,
        "customised": row is not None and any(getattr(row, f) for f in TEXT_FIELDS),
        "days_before": days_before(kind, row) if kind.ahead else None,
    }


def days_before(kind: Kind, row: KindSettings | None) -> int:
    """How many days ahead of its date a kind sent ahead is sent: the chain's, or the default."""
    return row.days_before if row is not None and row.days_before is not None else DEFAULT_DAYS_BEFORE


def list_kinds(session: Session, chain_id: str) -> dict:
    rows = {r.kind: r for r in session.scalars(select(KindSettings).where(KindSettings.chain_id == chain_id))}
    return {"items": [kind_view(kind, rows.get(name)) for name, kind in KINDS.items()]}


def update_kind(session: Session, chain_id: str, name: str, changes: dict) -> dict:
    kind = kind_of(name)
    problems = {}
    for field in TEXT_FIELDS:
        if field in changes:
            try:
                templates.check(changes[field], kind.variables)
            except templates.TemplateError as refused:
                problems[field] = [str(refused)]
    if "days_before" in changes and not kind.ahead:
        problems["days_before"] = ["Only a kind sent ahead of a date has days before it."]
    if problems:
        raise ValidationFailed("The kind's settings were refused: see each field.", problems)
    row = session.get(KindSettings, (chain_id, name), with_for_update=True) or KindSettings(
        chain_id=chain_id, kind=name, enabled=True, channel="sms"
    )
    if changes.get("reset_texts"):
        row.sms_text = row.email_subject = row.email_text = None
    for field, value in changes.items():
        if field != "reset_texts":
            setattr(row, field, value)
    session.add(row)
    session.flush()
    return kind_view(kind, row)
