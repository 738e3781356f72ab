"""Cards (M-2..M-5, M-7): issue, freeze, unfreeze, tier change, replace, return,
renew, and the lookups other services transact with.

Each operation writes the operation log (M-8) and its events in the caller's
transaction; fees above zero are published for the wallet to book (W-12).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import Row, bindparam, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Update

from contracts import member as c
from contracts.auth import Actor
from contracts.base import dump
from contracts.errors import CardNotActive, Forbidden, InvalidState, NotFound, ValidationFailed
from services.kit import clock, direct
from services.kit.outbox import OutboxWriter
from services.member import card_numbers, chain_state, members, oplog, pii, rules, tiers, views
from services.member.models import Card, ChainState, Member, Tier
from services.member.scope import sees_member

LIVE = ("active", "frozen")


# ---- loading ------------------------------------------------------------------------


def load(session: Session, chain_id: str, card_id: str, *, lock: bool = False) -> tuple[Card, Tier]:
    card = session.get(Card, card_id, with_for_update=lock)
    if card is None or card.chain_id != chain_id:
        raise NotFound("No such card in this chain.", {"card_id": ["No such card in this chain."]})
    return card, session.get(Tier, card.tier_id)


def _view(session: Session, card: Card, tier: Tier) -> dict:
    today = chain_state.today(session, card.chain_id)
    return views.card(card, tier, rules.status_on(card.status, card.expiry_date, today))


def _expiry(tier: Tier, start: date) -> date | None:
    return rules.add_months(start, tier.validity_months) if tier.validity_months else None


# ---- shared steps ------------------------------------------------------------------------


def _status_event(session: Session, events: OutboxWriter, card: Card, previous: str, reason: str) -> None:
    events.add(
        session,
        "card_status_changed",
        {
            "card_id": card.id,
            "member_id": card.member_id,
            "card_no": card.card_no,
            "status": card.status,
            "previous_status": previous,
            "reason": reason,
        },
        chain_id=card.chain_id,
    )


def _settle_expiry(session: Session, events: OutboxWriter, card: Card, tier: Tier) -> None:
    """Write down an expiry that has already happened, before acting on the card."""
    today = chain_state.today(session, card.chain_id)
    if rules.status_on(card.status, card.expiry_date, today) == "expired" and card.status != "expired":
        before = views.card_state(card, tier)
        card.status = "expired"
        reason = f"Validity ended on {card.expiry_date.isoformat()}."
        oplog.record(session, card, "expire", None, None, before, views.card_state(card, tier), reason=reason)
        _status_event(session, events, card, "active", reason)


def _charge(
    session: Session, events: OutboxWriter, actor: Actor, card: Card, store_id: str, kind: str, amount: int, method: str
) -> int:
    """A fee paid at the counter; the wallet books it (W-12). A zero fee is not an event."""
    if amount > 0:
        events.add(
            session,
            "fee_charged",
            {
                "fee_id": str(uuid.uuid4()),
                "chain_id": card.chain_id,
                "store_id": store_id,
                "member_id": card.member_id,
                "card_id": card.id,
                "card_no": card.card_no,
                "kind": kind,
                "amount": amount,
                "payment_method": method,
                "operator_id": actor.staff_id,
            },
            chain_id=card.chain_id,
        )
    return amount


def _require_active(card: Card, action: str) -> None:
    if card.status != "active":
        raise CardNotActive(
            f"The card is {card.status}; it cannot {action}.", {"card_id": [f"The card is {card.status}."]}
        )


def _issued_event(session: Session, events: OutboxWriter, card: Card, tier: Tier) -> None:
    events.add(
        session,
        "card_issued",
        {
            "card_id": card.id,
            "member_id": card.member_id,
            "card_no": card.card_no,
            "tier_id": tier.id,
            "tier_code": tier.code,
            "version": card.version,
            "store_id": card.issued_store_id,
            "effective_date": views.iso(card.effective_date),
            "expiry_date": views.iso(card.expiry_date),
            "replaces_card_id": card.replaces_card_id,
        },
        chain_id=card.chain_id,
    )


def _new_card(session: Session, member: Member, tier: Tier, store_id: str, start: date, expiry: date | None) -> Card:
    card = Card(
        chain_id=member.chain_id,
        member_id=member.id,
        card_no=chain_state.next_card_no(session, member.chain_id),
        tier_id=tier.id,
        status="active",
        version=1,
        issued_store_id=store_id,
        effective_date=start,
        expiry_date=expiry,
    )
    session.add(card)
    session.flush()
    return card


# ---- operations -------------------------------------------------------------------------------


def issue(
    session: Session, events: OutboxWriter, actor: Actor, chain_id: str, member_id: str, store_id: str, data: dict
) -> dict:
    member = members.load_visible(session, actor, chain_id, member_id, lock=True)
    chain_state.ensure(session, events, chain_id)
    live = session.scalar(select(Card).where(Card.member_id == member.id, Card.status.in_(LIVE)).limit(1))
    if live is not None:
        raise InvalidState(
            f"The member already has card {live.card_no} ({live.status}); change its tier or replace it instead.",
            {"member_id": ["Already has a card."]},
        )
    if data.get("tier_code"):
        tier = tiers.by_code(session, chain_id, data["tier_code"])
    else:
        tier = tiers.entry_tier(session, chain_id)
    today = chain_state.today(session, chain_id)
    card = _new_card(session, member, tier, store_id, today, _expiry(tier, today))
    fee = _charge(session, events, actor, card, store_id, "issue", tier.issue_fee, data["payment_method"])
    oplog.record(
        session,
        card,
        "issue",
        actor,
        store_id,
        {},
        views.card_state(card, tier),
        reason=data["reason"],
        fee=fee,
        payment_method=data["payment_method"],
    )
    _issued_event(session, events, card, tier)
    return _view(session, card, tier)


def freeze(
    session: Session, events: OutboxWriter, actor: Actor, chain_id: str, card_id: str, store_id: str, data: dict
) -> dict:
    actor.require_chain(chain_id)
    card, tier = load(session, chain_id, card_id, lock=True)
    _settle_expiry(session, events, card, tier)
    _require_active(card, "be frozen")
    before = views.card_state(card, tier)
    card.status = "frozen"
    reason = data["reason"] or "Frozen by staff."
    oplog.record(session, card, "freeze", actor, store_id, before, views.card_state(card, tier), reason=reason)
    _status_event(session, events, card, "active", reason)
    session.flush()
    return _view(session, card, tier)


def unfreeze(
    session: Session, events: OutboxWriter, actor: Actor, chain_id: str, card_id: str, store_id: str, data: dict
) -> dict:
    actor.require_chain(chain_id)
    card, tier = load(session, chain_id, card_id, lock=True)
    if card.status != "frozen":
        raise InvalidState(f"The card is {card.status}, not frozen.", {"card_id": [f"The card is {card.status}."]})
    before = views.card_state(card, tier)
    card.status = "active"
    reason = data["reason"] or "Unfrozen by staff."
    oplog.record(session, card, "unfreeze", actor, store_id, before, views.card_state(card, tier), reason=reason)
    _status_event(session, events, card, "frozen", reason)
    # a card that ran out while frozen comes back expired, not active
    _settle_expiry(session, events, card, tier)
    session.flush()
    return _view(session, card, tier)


def _apply_tier(
    session: Session,
    events: OutboxWriter,
    card: Card,
    old: Tier,
    new: Tier,
    actor: Actor | None,
    store_id: str | None,
    *,
    reason: str,
    fee: int = 0,
    payment_method: str | None = None,
) -> None:
    """M-4: same number, the physical card is reissued (version + 1), validity restarts with the new tier."""
    before = views.card_state(card, old)
    today = chain_state.today(session, card.chain_id)
    card.tier_id = new.id
    card.version += 1
    card.effective_date = today
    card.expiry_date = _expiry(new, today)
    oplog.record(
        session,
        card,
        "tier_change",
        actor,
        store_id,
        before,
        views.card_state(card, new),
        reason=reason,
        fee=fee,
        payment_method=payment_method,
    )
    events.add(
        session,
        "tier_changed",
        {
            "card_id": card.id,
            "member_id": card.member_id,
            "card_no": card.card_no,
            "version": card.version,
            "previous_tier_code": old.code,
            "tier_code": new.code,
            "automatic": actor is None,
            "store_id": store_id,
        },
        chain_id=card.chain_id,
    )
    session.flush()


def _require_home_manager(session: Session, actor: Actor, chain_id: str, card: Card) -> None:
    """Managing a member (tier, limits): HQ, or a manager whose store is the member's home."""
    home_store_id = session.scalar(select(Member.home_store_id).where(Member.id == card.member_id))
    if not sees_member(actor, chain_id, home_store_id):
        raise Forbidden("Only HQ or a manager of the member's home store may do this.")


def change_tier(
    session: Session, events: OutboxWriter, actor: Actor, chain_id: str, card_id: str, store_id: str, data: dict
) -> dict:
    actor.require_chain(chain_id)
    card, old = load(session, chain_id, card_id, lock=True)
    _require_home_manager(session, actor, chain_id, card)
    _settle_expiry(session, events, card, old)
    _require_active(card, "change tier")
    new = tiers.by_code(session, chain_id, data["tier_code"])
    if new.id == old.id:
        raise ValidationFailed(fields={"tier_code": [f"The card is already {old.code}."]})
    fee = 0 if data["waive_fee"] else new.reissue_fee
    _charge(session, events, actor, card, store_id, "reissue", fee, data["payment_method"])
    _apply_tier(
        session,
        events,
        card,
        old,
        new,
        actor,
        store_id,
        reason=data["reason"] or f"{old.code} -> {new.code}",
        fee=fee,
        payment_method=data["payment_method"],
    )
    return _view(session, card, new)


def set_limits(
    session: Session, events: OutboxWriter, actor: Actor, chain_id: str, card_id: str, store_id: str, data: dict
) -> dict:
    """W-8 on one card; like a tier change, it is managing the member."""
    actor.require_chain(chain_id)
    card, tier = load(session, chain_id, card_id, lock=True)
    _require_home_manager(session, actor, chain_id, card)
    if card.status not in LIVE:
        raise InvalidState(f"The card is {card.status}.", {"card_id": [f"The card is {card.status}."]})
    before = views.card_state(card, tier)
    card.per_transaction_limit = data["limits"]["per_transaction_limit"]
    card.daily_limit = data["limits"]["daily_limit"]
    oplog.record(session, card, "limits", actor, store_id, before, views.card_state(card, tier), reason=data["reason"])
    session.flush()
    return _view(session, card, tier)


def replace(
    session: Session, events: OutboxWriter, actor: Actor, chain_id: str, card_id: str, store_id: str, data: dict
) -> dict:
    """M-5: a new number for a lost card; balances belong to the member, so nothing moves."""
    actor.require_chain(chain_id)
    old, tier = load(session, chain_id, card_id, lock=True)
    _settle_expiry(session, events, old, tier)  # an expired card is renewed, not replaced
    if old.status not in LIVE:
        raise InvalidState(
            f"The card is {old.status}; only an active or frozen card can be replaced.",
            {"card_id": [f"The card is {old.status}."]},
        )
    member = members.load(session, chain_id, old.member_id, lock=True)
    # the new card carries on the old one: its validity and its own spending limits (W-8)
    new = _new_card(session, member, tier, store_id, old.effective_date, old.expiry_date)
    new.replaces_card_id = old.id
    new.per_transaction_limit, new.daily_limit = old.per_transaction_limit, old.daily_limit
    before = views.card_state(old, tier)
    previous = old.status
    old.status, old.replaced_by_card_id = "replaced", new.id
    reason = data["reason"] or "Lost card replaced."
    fee = _charge(session, events, actor, new, store_id, "replacement", tier.replacement_fee, data["payment_method"])
    after = {**views.card_state(old, tier), "new_card_no": new.card_no}
    oplog.record(
        session,
        old,
        "replace",
        actor,
        store_id,
        before,
        after,
        reason=reason,
        fee=fee,
        payment_method=data["payment_method"],
    )
    oplog.record(
        session,
        new,
        "issue",
        actor,
        store_id,
        {"replaces_card_no": old.card_no},
        views.card_state(new, tier),
        reason=reason,
    )
    session.flush()
    _status_event(session, events, old, previous, reason)
    _issued_event(session, events, new, tier)
    return _view(session, new, tier)


def returned_at_counter(session: Session, events: OutboxWriter, data: dict) -> None:
    """The wallet paid the member back and closed the account (W-7): the card
    is returned. The wallet's return is the one way to return a card, so money
    and card status cannot disagree; a card already out of use stays as it is."""
    card, tier = load(session, data["chain_id"], data["card_id"], lock=True)
    if card.status not in (*LIVE, "expired"):
        return
    before = views.card_state(card, tier)
    previous = card.status
    card.status = "returned"
    # the cashier's reason stands; the money is in `after`, like a fee on other entries
    reason = data.get("reason") or "Returned at the counter."
    after = {
        **views.card_state(card, tier),
        "cash_paid_back": data["cash_paid_back"],
        "payment_method": data["payment_method"],
        "bonus_forfeited": data["bonus_forfeited"],
    }
    oplog.record(
        session,
        card,
        "return",
        None,
        data["store_id"],
        before,
        after,
        reason=reason,
        operator_id=data["operator_id"],
        operator_name=data.get("operator_name", ""),
    )
    _status_event(session, events, card, previous, reason)
    session.flush()


def renew(
    session: Session, events: OutboxWriter, actor: Actor, chain_id: str, card_id: str, store_id: str, data: dict
) -> dict:
    actor.require_chain(chain_id)
    card, tier = load(session, chain_id, card_id, lock=True)
    _settle_expiry(session, events, card, tier)
    if card.status not in ("active", "expired"):
        raise InvalidState(
            f"The card is {card.status}; only an active or expired card is renewed.",
            {"card_id": [f"The card is {card.status}."]},
        )
    if not tier.validity_months:
        raise InvalidState(
            f"The {tier.code} tier never expires; there is nothing to renew.", {"card_id": ["No expiry."]}
        )
    today = chain_state.today(session, chain_id)
    before = views.card_state(card, tier)
    previous = card.status
    # renewing early extends from the current end; renewing late starts today
    start = max(today, card.expiry_date or today)
    card.expiry_date = rules.add_months(start, tier.validity_months)
    card.status = "active"
    fee = _charge(session, events, actor, card, store_id, "renewal", tier.renewal_fee, data["payment_method"])
    reason = data["reason"] or f"Renewed until {card.expiry_date.isoformat()}."
    oplog.record(
        session,
        card,
        "renew",
        actor,
        store_id,
        before,
        views.card_state(card, tier),
        reason=reason,
        fee=fee,
        payment_method=data["payment_method"],
    )
    if previous != "active":
        _status_event(session, events, card, previous, reason)
    session.flush()
    return _view(session, card, tier)


# ---- automatic upgrade (M-7) -------------------------------------------------------------------


def _upgrade(session: Session, events: OutboxWriter, chain_id: str, member_id: str) -> dict:
    """Upgrade the member's live cards to the highest tier their kept totals reach (M-7)."""
    member = members.load(session, chain_id, member_id, lock=True)
    steps = [
        rules.TierStep(t.code, t.rank, t.upgrade_metric, t.upgrade_threshold, t.active)
        for t in session.scalars(select(Tier).where(Tier.chain_id == chain_id))
    ]
    changed = False
    tier_code = ""
    rows = session.execute(
        select(Card, Tier)
        .join(Tier, Tier.id == Card.tier_id)
        .where(Card.member_id == member.id, Card.status.in_(LIVE))
        .order_by(Card.created_at)
        .with_for_update(of=Card)
    ).all()
    for card, tier in rows:
        target = rules.upgrade_target(steps, tier.rank, member.cumulative_spend, member.lifetime_points)
        tier_code = tier.code
        if target is None or card.status != "active":
            continue
        new = session.scalar(select(Tier).where(Tier.chain_id == chain_id, Tier.code == target.code))
        reason = (
            f"Automatic upgrade: cumulative spend {member.cumulative_spend}, lifetime points {member.lifetime_points}."
        )
        _apply_tier(session, events, card, tier, new, None, member.home_store_id, reason=reason)
        changed, tier_code = True, new.code
    session.flush()
    return {"tier_changed": changed, "tier_code": tier_code}


def _tier_reads() -> tuple:
    """The chain's tier steps (as JSON) and the ranks of the member's active cards, as scalar
    subqueries of the parameters `the_chain` and `the_member` (an UPDATE keeps a column's own
    name for its SET), so the UPDATE that keeps a new total also returns what judges an upgrade."""
    chain_id, member_id = bindparam("the_chain"), bindparam("the_member")
    steps = (
        select(
            func.json_agg(
                func.json_build_array(Tier.code, Tier.rank, Tier.upgrade_metric, Tier.upgrade_threshold, Tier.active)
            )
        )
        .where(Tier.chain_id == chain_id)
        .scalar_subquery()
    )
    ranks = (
        select(func.array_agg(Tier.rank))
        .select_from(Card)
        .join(Tier, Tier.id == Card.tier_id)
        .where(Card.member_id == member_id, Card.status == "active")
        .scalar_subquery()
    )
    return steps.label("steps"), ranks.label("ranks")


@cache
def _keeping_spend() -> Update:
    """Built once (it runs on every consume and refund): the new total kept if newer."""
    m = Member.__table__
    newer = or_(m.c.spend_as_of.is_(None), m.c.spend_as_of < bindparam("as_of"))
    kept = {"cumulative_spend": bindparam("total"), "spend_as_of": bindparam("as_of")}
    return _keeping(newer, kept, m.c.lifetime_points)


@cache
def _keeping_points() -> Update:
    """Built once (it runs on every points change): the new lifetime total kept if newer."""
    m = Member.__table__
    newer = m.c.points_version < bindparam("version")
    kept = {"lifetime_points": bindparam("total"), "points_version": bindparam("version")}
    return _keeping(newer, kept, m.c.cumulative_spend)


def _keeping(newer: Any, values: dict, returned: Any) -> Update:
    """The member's row updated with `values` if `newer`, returning `returned` and what judges an upgrade."""
    m = Member.__table__
    return (
        update(m)
        .where(m.c.chain_id == bindparam("the_chain"), m.c.id == bindparam("the_member"), newer)
        .values(values)
        .returning(returned, *_tier_reads())
    )


def _upgrade_if_reached(
    session: Session, events: OutboxWriter, chain_id: str, member_id: str, kept: Row, cumulative_spend: int, points: int
) -> dict:
    """Only an upgrade takes the locking path of `_upgrade`; the usual case has read nothing more."""
    steps = [rules.TierStep(*step) for step in kept.steps or ()]
    if not any(rules.upgrade_target(steps, rank, cumulative_spend, points) for rank in kept.ranks or ()):
        return {"tier_changed": False, "tier_code": ""}
    return _upgrade(session, events, chain_id, member_id)


def record_spend(
    session: Session, events: OutboxWriter, chain_id: str, member_id: str, cumulative_spend: int, as_of: datetime
) -> dict | None:
    """The wallet reported a new spend total (consume or refund): keep it, with the member's
    lifetime points as they are, and upgrade a card if it now reaches a higher tier (M-7).
    Events may arrive out of order: a total older than the one kept is ignored.

    On every consume, so the usual case is one statement: the total kept (an UPDATE that also
    judges the order), returning the chain's tier steps and the ranks of the member's active cards."""
    kept = direct.run(
        session,
        _keeping_spend(),
        {"the_chain": chain_id, "the_member": member_id, "as_of": as_of, "total": cumulative_spend},
    ).first()
    if kept is None:
        return None  # an older total than the one kept (or no such member here)
    return _upgrade_if_reached(session, events, chain_id, member_id, kept, cumulative_spend, kept.lifetime_points)


def record_points(
    session: Session, events: OutboxWriter, chain_id: str, member_id: str, lifetime_points: int, version: int
) -> dict | None:
    """The points service reported the member's lifetime points (P-7): keep the newest total
    (by the points service's own count of the member's changes, so a late or repeated event
    changes nothing) and upgrade a card if it now reaches a higher tier (M-7). Upgrades only:
    points reversed or expired never take a tier away."""
    kept = direct.run(
        session,
        _keeping_points(),
        {"the_chain": chain_id, "the_member": member_id, "version": version, "total": lifetime_points},
    ).first()
    if kept is None:
        return None
    return _upgrade_if_reached(session, events, chain_id, member_id, kept, kept.cumulative_spend, lifetime_points)


# ---- reads ----------------------------------------------------------------------------------------


def _context(session: Session, codec: pii.Codec, chain_id: str, *where, field: str) -> dict:
    """CardContext: what the wallet and others need to transact (shared interface).

    On every money operation, so card, tier, member and the chain's time zone
    come in one query and the plates in a second."""
    row = session.execute(
        select(Card, Tier, Member, ChainState.time_zone)
        .join(Tier, Tier.id == Card.tier_id)
        .join(Member, Member.id == Card.member_id)
        .outerjoin(ChainState, ChainState.chain_id == Card.chain_id)
        .where(Card.chain_id == chain_id, *where)
    ).first()
    if row is None:
        raise NotFound("No such card in this chain.", {field: ["No such card in this chain."]})
    card, tier, member, zone = row
    context = {
        "card_id": card.id,
        "card_no": card.card_no,
        "chain_id": card.chain_id,
        "member_id": member.id,
        "member_name": member.name,
        "masked_phone": pii.mask_phone(members.phone_of(codec, member)),
        "status": rules.status_on(card.status, card.expiry_date, clock.today(zone)),
        "version": card.version,
        "home_store_id": member.home_store_id,
        "plates": members.plates_of(session, [member.id]).get(member.id, []),
        "tier": views.tier_terms(tier),
        "limits": views.card_limits(card),
        "as_of": card.updated_at.isoformat() if card.updated_at else None,
    }
    return dump(c.CardContext, context)


def resolve(session: Session, codec: pii.Codec, chain_id: str, card_no: str) -> dict:
    number = card_numbers.clean_card_no(card_no)
    return _context(session, codec, chain_id, Card.card_no == number, field="card_no")


def resolve_by_id(session: Session, codec: pii.Codec, chain_id: str, card_id: str) -> dict:
    return _context(session, codec, chain_id, Card.id == card_id, field="card_id")


def lookup(session: Session, codec: pii.Codec, actor: Actor, chain_id: str, card_no: str) -> dict:
    """Any staff of the chain may look up a card by its exact number (O-7); personal data masked."""
    actor.require_chain(chain_id)
    return resolve(session, codec, chain_id, card_no)


def get(session: Session, actor: Actor, chain_id: str, card_id: str) -> dict:
    actor.require_chain(chain_id)
    card, tier = load(session, chain_id, card_id)
    return _view(session, card, tier)


def operations(session: Session, actor: Actor, chain_id: str, card_id: str, query: dict) -> dict:
    actor.require_chain(chain_id)
    card, _ = load(session, chain_id, card_id)
    member = session.get(Member, card.member_id)
    if not sees_member(actor, chain_id, member.home_store_id):
        raise NotFound("No such card in your scope.")
    return oplog.for_card(session, card, query)


def store_operations(session: Session, actor: Actor, chain_id: str, store_id: str, query: dict) -> dict:
    actor.require_store(chain_id, store_id)
    return oplog.for_store(session, chain_id, store_id, query)
