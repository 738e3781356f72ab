"""Sign-in, sign-out, token checks and password changes (O-8)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from contracts.auth import FRANCHISEE, STORE_ROLES, Actor
from contracts.errors import AccountLocked, HuiyuanError, NotAuthenticated, ValidationFailed
from services.kit.outbox import OutboxWriter
from services.org import lockout, passwords, tokens
from services.org.models import AccessLog, Chain, SignInSession, Staff, Store
from services.org.views import iso

# one answer for every refused sign-in, so it never confirms a password or
# reveals an account's state; the access log keeps the real reason
WRONG_CREDENTIALS = "Wrong username or password, or the account is not active."


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass
class SignInOutcome:
    """Failures still write (the attempt counter, the access log), so the
    caller commits first and raises `error` afterwards."""

    result: dict | None = None
    error: HuiyuanError | None = None


def record_access(
    session: Session,
    event: str,
    username: str,
    staff: Staff | None,
    ip: str,
    user_agent: str,
    reason: str = "",
    chain_id: str | None = None,
) -> None:
    session.add(
        AccessLog(
            event=event,
            username=username[:60],
            staff_id=staff.id if staff else None,
            # an unknown username at a known chain is that chain's to see
            chain_id=staff.chain_id if staff else chain_id,
            store_id=staff.store_id if staff else None,
            ip=(ip or "")[:64],
            user_agent=(user_agent or "")[:300],
            reason=reason,
        )
    )


def store_ids_of(session: Session, staff: Staff) -> list[str]:
    if staff.role in STORE_ROLES:
        return [staff.store_id]
    if staff.role == FRANCHISEE:
        return list(session.scalars(select(Store.id).where(Store.franchisee_id == staff.id).order_by(Store.code)))
    return []


def principal(session: Session, staff: Staff) -> dict:
    return {
        "staff_id": staff.id,
        "chain_id": staff.chain_id,
        "role": staff.role,
        "store_ids": store_ids_of(session, staff),
        "username": staff.username,
        "display_name": staff.display_name,
    }


def _find(session: Session, chain_code: str | None, username: str) -> tuple[Staff | None, str | None, str]:
    """The account `username` names in the chain with `chain_code` (none: a
    platform admin); with the chain's id, and why not if there is none."""
    if chain_code is None:
        where = Staff.chain_id.is_(None)
        chain_id = None
    else:
        chain_id = session.scalar(select(Chain.id).where(Chain.code == chain_code.strip()))
        if chain_id is None:
            return None, None, "unknown chain"
        where = Staff.chain_id == chain_id
    staff = session.scalars(select(Staff).where(where, Staff.username == username).with_for_update()).first()
    return staff, chain_id, "" if staff else "unknown username"


def sign_in(
    session: Session,
    chain_code: str | None,
    username: str,
    password: str,
    ip: str,
    user_agent: str,
    ttl: timedelta,
) -> SignInOutcome:
    """Staff of a chain name its code; a platform admin names none. The lockout
    counts per account, that is per chain and username."""
    now = now_utc()
    username = username.strip().lower()
    staff, chain_id, missing = _find(session, chain_code, username)
    if staff is None:
        passwords.verify_password(None, password)  # same cost as a real miss
        record_access(session, "sign_in_failed", username, None, ip, user_agent, missing, chain_id=chain_id)
        return SignInOutcome(error=NotAuthenticated(WRONG_CREDENTIALS))

    state = lockout.LockState(staff.failed_attempts, staff.locked_until)
    if lockout.is_locked(state, now):
        record_access(session, "sign_in_failed", username, staff, ip, user_agent, "account locked")
        return SignInOutcome(
            error=AccountLocked(f"Too many failed sign-ins; try again after {iso(staff.locked_until)}.")
        )

    if not passwords.verify_password(staff.password_hash, password):
        state = lockout.after_failure(state, now)
        staff.failed_attempts, staff.locked_until = state.failed_attempts, state.locked_until
        record_access(session, "sign_in_failed", username, staff, ip, user_agent, "wrong password")
        if lockout.is_locked(state, now):
            record_access(session, "locked", username, staff, ip, user_agent, f"{lockout.MAX_FAILURES} failed sign-ins")
            return SignInOutcome(
                error=AccountLocked(f"Too many failed sign-ins; try again after {iso(state.locked_until)}.")
            )
        return SignInOutcome(error=NotAuthenticated(WRONG_CREDENTIALS))

    if staff.status != "active":
        record_access(session, "sign_in_failed", username, staff, ip, user_agent, "account disabled")
        return SignInOutcome(error=NotAuthenticated(WRONG_CREDENTIALS))
    if staff.chain_id is not None:
        chain = session.get(Chain, staff.chain_id)
        if chain.status != "active":
            record_access(session, "sign_in_failed", username, staff, ip, user_agent, "chain suspended")
            return SignInOutcome(error=NotAuthenticated(WRONG_CREDENTIALS))

    staff.failed_attempts, staff.locked_until = 0, None
    staff.last_sign_in_at = now
    if passwords.needs_rehash(staff.password_hash):
        staff.password_hash = passwords.hash_password(password)
    token = tokens.new_token()
    expires_at = now + ttl
    session.add(
        SignInSession(
            staff_id=staff.id,
            token_hash=tokens.token_hash(token),
            expires_at=expires_at,
            ip=(ip or "")[:64],
            user_agent=(user_agent or "")[:300],
        )
    )
    record_access(session, "sign_in", username, staff, ip, user_agent)
    return SignInOutcome(result={"token": token, "expires_at": iso(expires_at), "principal": principal(session, staff)})


def _live_session(session: Session, token: str) -> tuple[SignInSession, Staff] | None:
    if not token or len(token) > 200:
        return None
    row = session.execute(
        select(SignInSession, Staff)
        .join(Staff, Staff.id == SignInSession.staff_id)
        .where(
            SignInSession.token_hash == tokens.token_hash(token),
            SignInSession.revoked_at.is_(None),
            SignInSession.expires_at > now_utc(),
        )
    ).first()
    return (row[0], row[1]) if row else None


def authenticate(session: Session, token: str) -> dict:
    """The principal behind a live token; every check is made on every call, so
    sign-out, disabling and suspension take effect at once."""
    live = _live_session(session, token)
    if live is None:
        raise NotAuthenticated("The token is missing, expired or revoked; sign in again.")
    _, staff = live
    if staff.status != "active":
        raise NotAuthenticated("This account is disabled.")
    if (
        staff.chain_id is not None
        and session.scalar(select(Chain.status).where(Chain.id == staff.chain_id)) != "active"
    ):
        raise NotAuthenticated("This chain is suspended.")
    return principal(session, staff)


def sign_out(session: Session, events: OutboxWriter, token: str, ip: str, user_agent: str) -> None:
    live = _live_session(session, token)
    if live is None:
        raise NotAuthenticated("The token is missing, expired or revoked.")
    signed_in, staff = live
    signed_in.revoked_at = now_utc()
    record_access(session, "sign_out", staff.username, staff, ip, user_agent)
    revoked = {"staff_id": staff.id, "chain_id": staff.chain_id, "token_hash": signed_in.token_hash}
    events.add(session, "sessions_revoked", revoked, chain_id=staff.chain_id)


def revoke_all(session: Session, events: OutboxWriter, staff: Staff, keep_token: str | None = None) -> None:
    """Every live token of `staff` but `keep_token` stops working, here and in every gateway."""
    stmt = update(SignInSession).where(SignInSession.staff_id == staff.id, SignInSession.revoked_at.is_(None))
    kept = tokens.token_hash(keep_token) if keep_token else None
    if kept:
        stmt = stmt.where(SignInSession.token_hash != kept)
    session.execute(stmt.values(revoked_at=now_utc()))
    revoked = {"staff_id": staff.id, "chain_id": staff.chain_id, "kept_token_hash": kept}
    events.add(session, "sessions_revoked", revoked, chain_id=staff.chain_id)


def change_password(
    session: Session,
    events: OutboxWriter,
    actor: Actor,
    token: str,
    current: str,
    new: str,
    ip: str = "",
    user_agent: str = "",
) -> HuiyuanError | None:
    """Wrong current passwords count like failed sign-ins: a stolen token is no
    way around the lockout. The failure is returned, to be raised after commit."""
    staff = session.get(Staff, actor.staff_id, with_for_update=True)
    if not passwords.verify_password(staff.password_hash, current):
        now = now_utc()
        state = lockout.after_failure(lockout.LockState(staff.failed_attempts, staff.locked_until), now)
        staff.failed_attempts, staff.locked_until = state.failed_attempts, state.locked_until
        record_access(session, "sign_in_failed", staff.username, staff, ip, user_agent, "wrong current password")
        if lockout.is_locked(state, now):
            record_access(session, "locked", staff.username, staff, ip, user_agent, f"{lockout.MAX_FAILURES} failures")
            revoke_all(session, events, staff)  # locked means signed out everywhere, this token too
            return AccountLocked(f"Too many wrong passwords; signed out until {iso(state.locked_until)}.")
        return ValidationFailed("The current password is wrong.", {"current_password": ["Wrong password."]})
    staff.failed_attempts, staff.locked_until = 0, None
    set_password(session, events, staff, new, keep_token=token)
    return None


def set_password(session: Session, events: OutboxWriter, staff: Staff, new: str, keep_token: str | None = None) -> None:
    if new.strip().lower() == staff.username:
        raise ValidationFailed(fields={"new_password": ["Must not be the username."]})
    staff.password_hash = passwords.hash_password(new)
    staff.password_changed_at = now_utc()
    if staff.id is not None:  # a new account has no sessions yet
        # other devices must sign in again with the new password
        revoke_all(session, events, staff, keep_token=keep_token)
