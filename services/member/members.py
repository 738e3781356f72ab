"""Members (M-1): enrol, edit, search, show, with personal data encrypted and
masked for everyone outside the member's home store and HQ (O-7)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contracts.auth import Actor
from contracts.errors import AlreadyExists, Forbidden, NotFound, ValidationFailed
from services.kit.outbox import OutboxWriter
from services.kit.paging import keyset_page
from services.member import card_numbers, chain_state, pii, rules, views
from services.member.models import Card, Member, Tier, Vehicle
from services.member.scope import sees_member

PHONE_TAKEN = "A member of this chain already has this phone number."


def load(session: Session, chain_id: str, member_id: str, *, lock: bool = False) -> Member:
    member = session.get(Member, member_id, with_for_update=lock)
    if member is None or member.chain_id != chain_id:
        raise NotFound("No such member in this chain.")
    return member


def load_visible(session: Session, actor: Actor, chain_id: str, member_id: str, *, lock: bool = False) -> Member:
    """Members of other stores are "not found" to store staff: listing and showing are scoped (O-7)."""
    actor.require_chain(chain_id)
    member = load(session, chain_id, member_id, lock=lock)
    if not sees_member(actor, chain_id, member.home_store_id):
        raise NotFound("No such member in your scope.")
    return member


def phone_of(codec: pii.Codec, member: Member) -> str:
    return codec.decrypt(member.chain_id, "phone", member.phone_cipher)


def email_of(codec: pii.Codec, member: Member) -> str | None:
    return codec.decrypt(member.chain_id, "email", member.email_cipher) if member.email_cipher else None


def plates_of(session: Session, member_ids: list[str]) -> dict[str, list[str]]:
    plates: dict[str, list[str]] = defaultdict(list)
    if member_ids:
        rows = session.execute(
            select(Vehicle.member_id, Vehicle.plate)
            .where(Vehicle.member_id.in_(member_ids))
            .order_by(Vehicle.created_at, Vehicle.plate)
        )
        for member_id, plate in rows:
            plates[member_id].append(plate)
    return plates


def _cards_of(session: Session, member_ids: list[str], today: date) -> dict[str, list[dict]]:
    cards: dict[str, list[dict]] = defaultdict(list)
    if member_ids:
        rows = session.execute(
            select(Card, Tier)
            .join(Tier, Tier.id == Card.tier_id)
            .where(Card.member_id.in_(member_ids))
            .order_by(Card.created_at)
        )
        for card, tier in rows:
            cards[card.member_id].append(views.card(card, tier, rules.status_on(card.status, card.expiry_date, today)))
    return cards


def render(session: Session, codec: pii.Codec, actor: Actor, chain_id: str, rows: list[Member]) -> list[dict]:
    ids = [m.id for m in rows]
    plates = plates_of(session, ids)
    cards = _cards_of(session, ids, chain_state.today(session, chain_id))
    out = []
    for m in rows:
        full = sees_member(actor, chain_id, m.home_store_id)
        phone = phone_of(codec, m)
        id_number = codec.decrypt(chain_id, "id_number", m.id_number_cipher) if m.id_number_cipher else None
        email = email_of(codec, m)
        out.append(
            {
                "id": m.id,
                "chain_id": m.chain_id,
                "member_no": m.member_no,
                "name": m.name,
                "phone": phone if full else pii.mask_phone(phone),
                "email": (email if full else pii.mask_email(email)) if email else None,
                "id_number": (id_number if full else pii.mask_id_number(id_number)) if id_number else None,
                "masked": not full,
                "gender": m.gender,
                # a birthday is personal too: only those who see the member in full get it
                "birthday": views.iso(m.birthday) if full else None,
                "plates": plates.get(m.id, []),
                "referrer_id": m.referrer_id,
                "home_store_id": m.home_store_id,
                "tags": list(m.tags or []),
                "notes": m.notes if full else "",
                "marketing_consent": m.marketing_consent,
                "cumulative_spend": m.cumulative_spend,
                "lifetime_points": m.lifetime_points,
                "cards": cards.get(m.id, []),
                "created_at": views.iso(m.created_at),
                "updated_at": views.iso(m.updated_at),
            }
        )
    return out


def facts(session: Session, codec: pii.Codec, member: Member) -> dict:
    """The member as events carry it: masked phone, never the ID number."""
    return {
        "member_id": member.id,
        "member_no": member.member_no,
        "name": member.name,
        "masked_phone": pii.mask_phone(phone_of(codec, member)),
        "gender": member.gender,
        "birthday": views.iso(member.birthday),
        "plates": plates_of(session, [member.id]).get(member.id, []),
        "referrer_id": member.referrer_id,
        "home_store_id": member.home_store_id,
        "tags": list(member.tags or []),
        "marketing_consent": member.marketing_consent,
    }


def contacts(session: Session, codec: pii.Codec, chain_id: str, member_ids: list[str]) -> list[dict]:
    """How to reach each of `member_ids` of the chain (others are left out): the one place a
    phone or e-mail address leaves this service in clear, for the notification service to send by (N-1)."""
    rows = session.scalars(select(Member).where(Member.chain_id == chain_id, Member.id.in_(member_ids))).all()
    out = []
    for member in rows:
        phone, email = phone_of(codec, member), email_of(codec, member)
        out.append(
            {
                "member_id": member.id,
                "name": member.name,
                "phone": phone,
                "masked_phone": pii.mask_phone(phone),
                "email": email,
                "masked_email": pii.mask_email(email) if email else None,
                "marketing_consent": member.marketing_consent,
                "birthday": views.iso(member.birthday),
            }
        )
    return out


def _clean_plates(raw: list[str]) -> list[str]:
    plates: list[str] = []
    for value in raw:
        plate = pii.normalise_plate(value)
        if plate not in plates:
            plates.append(plate)
    return plates


def _clean_tags(raw: list[str]) -> list[str]:
    return sorted({t.strip() for t in raw if t.strip()})


def _check_referrer(session: Session, chain_id: str, referrer_id: str | None, member_id: str | None) -> None:
    if referrer_id is None:
        return
    if referrer_id == member_id:
        raise ValidationFailed(fields={"referrer_id": ["A member cannot refer themselves."]})
    referrer = session.get(Member, referrer_id)
    if referrer is None or referrer.chain_id != chain_id:
        raise ValidationFailed(fields={"referrer_id": ["No such member in this chain."]})


def _set_phone(codec: pii.Codec, member: Member, raw: str) -> str:
    phone = pii.normalise_phone(raw)
    member.phone_cipher = codec.encrypt(member.chain_id, "phone", phone)
    member.phone_index = codec.index(member.chain_id, "phone", phone)
    member.phone_last4_index = pii.phone_last4_index(codec, member.chain_id, phone)
    return phone


def _set_email(codec: pii.Codec, member: Member, raw: str | None) -> None:
    member.email_cipher = codec.encrypt(member.chain_id, "email", pii.normalise_email(raw)) if raw else None


def _set_id_number(codec: pii.Codec, member: Member, raw: str | None) -> None:
    if raw is None or not raw.strip():
        member.id_number_cipher = member.id_number_index = None
        return
    number = pii.normalise_id_number(raw)
    member.id_number_cipher = codec.encrypt(member.chain_id, "id_number", number)
    member.id_number_index = codec.index(member.chain_id, "id_number", number)


def _phone_taken(session: Session, member: Member) -> bool:
    clash = select(Member.id).where(
        Member.chain_id == member.chain_id, Member.phone_index == member.phone_index, Member.id != member.id
    )
    with session.no_autoflush:  # the changed row must not reach the unique index before we ask
        return bool(session.scalar(clash))


def _flush_unique(session: Session) -> None:
    # two counters enrolling the same phone at once: the unique index decides, the loser gets a clear 409
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise AlreadyExists(fields={"phone": [PHONE_TAKEN]}) from None


def _set_plates(session: Session, member: Member, plates: list[str]) -> None:
    session.execute(delete(Vehicle).where(Vehicle.member_id == member.id, Vehicle.plate.not_in(plates)))
    existing = set(session.scalars(select(Vehicle.plate).where(Vehicle.member_id == member.id)))
    for plate in plates:
        if plate not in existing:
            session.add(Vehicle(chain_id=member.chain_id, member_id=member.id, plate=plate))


def create(
    session: Session,
    events: OutboxWriter,
    codec: pii.Codec,
    actor: Actor,
    chain_id: str,
    home_store_id: str,
    data: dict,
) -> dict:
    actor.require_chain(chain_id)
    chain_state.ensure(session, events, chain_id)
    plates = _clean_plates(data["plates"])
    member = Member(
        chain_id=chain_id,
        name=data["name"].strip(),
        gender=data["gender"],
        birthday=data["birthday"],
        referrer_id=data["referrer_id"],
        home_store_id=home_store_id,
        tags=_clean_tags(data["tags"]),
        notes=data["notes"],
        marketing_consent=data["marketing_consent"],
        cumulative_spend=0,
        lifetime_points=0,
        created_by=actor.staff_id,
    )
    _set_phone(codec, member, data["phone"])
    _set_email(codec, member, data["email"])
    _set_id_number(codec, member, data["id_number"])
    _check_referrer(session, chain_id, data["referrer_id"], None)
    if _phone_taken(session, member):
        raise AlreadyExists(fields={"phone": [PHONE_TAKEN]})
    member.member_no = chain_state.next_member_no(session, chain_id)
    session.add(member)
    _flush_unique(session)
    _set_plates(session, member, plates)
    session.flush()
    events.add(session, "enrolled", facts(session, codec, member), chain_id=chain_id)
    return render(session, codec, actor, chain_id, [member])[0]


def update(
    session: Session, events: OutboxWriter, codec: pii.Codec, actor: Actor, chain_id: str, member_id: str, data: dict
) -> dict:
    member = load_visible(session, actor, chain_id, member_id, lock=True)
    if "home_store_id" in data and data["home_store_id"] != member.home_store_id and not actor.sees_whole_chain:
        raise Forbidden("Only HQ may move a member to another store.", {"home_store_id": ["HQ only."]})
    changed = sorted(k for k in data if k not in ("phone", "email", "id_number"))
    if "phone" in data:
        before = member.phone_index
        _set_phone(codec, member, data["phone"])
        if member.phone_index != before:
            changed.append("phone")
            if _phone_taken(session, member):
                raise AlreadyExists(fields={"phone": [PHONE_TAKEN]})
    if "email" in data:
        before_email = email_of(codec, member)
        _set_email(codec, member, data["email"])
        if email_of(codec, member) != before_email:
            changed.append("email")
    if "id_number" in data:
        _set_id_number(codec, member, data["id_number"])
        changed.append("id_number")
    if "referrer_id" in data:
        _check_referrer(session, chain_id, data["referrer_id"], member.id)
    for key in ("name", "gender", "birthday", "referrer_id", "home_store_id", "notes", "marketing_consent"):
        if key in data:
            setattr(member, key, data[key].strip() if key == "name" else data[key])
    if "tags" in data:
        member.tags = _clean_tags(data["tags"])
    if "plates" in data:
        _set_plates(session, member, _clean_plates(data["plates"]))
    _flush_unique(session)
    session.refresh(member)
    event = {**facts(session, codec, member), "changed": sorted(set(changed))}
    events.add(session, "updated", event, chain_id=chain_id)
    return render(session, codec, actor, chain_id, [member])[0]


def get(session: Session, codec: pii.Codec, actor: Actor, chain_id: str, member_id: str) -> dict:
    member = load_visible(session, actor, chain_id, member_id)
    return render(session, codec, actor, chain_id, [member])[0]


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%"


def search(session: Session, codec: pii.Codec, actor: Actor, chain_id: str, query: dict) -> dict:
    """Exact card number or phone finds a member anywhere in the chain, masked (O-7);
    every other search (the last four digits of a phone too) and a plain listing stays
    within the caller's stores."""
    actor.require_chain(chain_id)
    stmt = select(Member).where(Member.chain_id == chain_id)
    chain_wide = False
    if query.get("card_no"):
        number = card_numbers.clean_card_no(query["card_no"])
        holders = select(Card.member_id).where(Card.chain_id == chain_id, Card.card_no == number)
        stmt = stmt.where(Member.id.in_(holders))
        chain_wide = True
    if query.get("phone"):
        phone = pii.normalise_phone(query["phone"])
        stmt = stmt.where(Member.phone_index == codec.index(chain_id, "phone", phone))
        chain_wide = True
    if query.get("phone_last4"):
        # not an exact phone: it names many members, so it stays within the caller's stores (O-7)
        digits = pii.normalise_last4(query["phone_last4"])
        stmt = stmt.where(Member.phone_last4_index == pii.phone_last4_index(codec, chain_id, digits))
    if query.get("plate"):
        plate = pii.normalise_plate(query["plate"], "plate")
        drivers = select(Vehicle.member_id).where(Vehicle.chain_id == chain_id, Vehicle.plate == plate)
        stmt = stmt.where(Member.id.in_(drivers))
    if query.get("member_no"):
        stmt = stmt.where(Member.member_no == query["member_no"].strip())
    if query.get("name"):
        stmt = stmt.where(Member.name.like(_like_prefix(query["name"].strip()), escape="\\"))
    if query.get("store_id"):
        stmt = stmt.where(Member.home_store_id == query["store_id"])
    if query.get("tag"):
        stmt = stmt.where(Member.tags.contains([query["tag"].strip()]))
    if not chain_wide and not actor.sees_whole_chain:
        stmt = stmt.where(Member.home_store_id.in_(actor.store_ids))
    order = [Member.name, Member.id] if query.get("name") else [Member.member_no]
    rows, cursor = keyset_page(session, stmt, order, limit=query["limit"], after=query["after"])
    return {"items": render(session, codec, actor, chain_id, rows), "next_cursor": cursor}
