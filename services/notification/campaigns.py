"""Marketing campaigns and their bulk sends (N-4).

A campaign is a draft until staff send it (now or at `send_at`). Then a timer
makes its messages in one statement: one per consenting member of the segment
(kept from member and wallet events), each caused by the campaign and the
member, so a run repeated after a crash makes no second message. They are
spaced at the chain's `marketing_per_minute`, so the provider's limit holds
and the money path never competes with a burst; the dispatcher sends them as
their time comes, holding them through quiet hours. Progress is their statuses.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, String, and_, any_, cast, extract, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.orm import Session

from contracts.auth import Actor
from contracts.errors import InvalidState, NotFound, ValidationFailed
from contracts.notification import MARKETING_VARIABLES
from services.kit.built import constant
from services.kit.clock import DEFAULT_TIME_ZONE
from services.kit.paging import keyset_page
from services.notification import chain_settings, templates
from services.notification.messages import MESSAGE_HEAD, OUTBOX
from services.notification.models import Campaign, ChainCopy, MemberCopy, Message

SEGMENT_KEYS = ("tier_codes", "store_ids", "tags", "birthday_month", "inactive_since", "points_expiring_within_days")
# the points service's answer: members with points going within so many days of a chain
ExpiringMembers = Callable[[str, int], list[dict]]


def _check_text(text: str) -> None:
    try:
        templates.check(text, MARKETING_VARIABLES)
    except templates.TemplateError as refused:
        raise ValidationFailed(
            "The text uses what a marketing message does not offer.", {"text": [str(refused)]}
        ) from None


def _segment(raw: dict) -> dict:
    """As stored: plain JSON (the day as ISO text)."""
    out = {k: v for k, v in raw.items() if k in SEGMENT_KEYS}
    if out.get("inactive_since") is not None:
        out["inactive_since"] = out["inactive_since"].isoformat()
    return out


def progress(session: Session, campaign_id: str) -> dict:
    counts = dict(
        session.execute(
            select(Message.status, func.count()).where(Message.campaign_id == campaign_id).group_by(Message.status)
        ).all()
    )
    return {status: counts.get(status, 0) for status in ("queued", "sending", "sent", "failed")}


def view(session: Session, row: Campaign) -> dict:
    return {
        "id": row.id,
        "name": row.name,
        "text": row.body,
        "segment": dict(row.segment or {}),
        "status": row.status,
        "send_at": row.send_at.isoformat() if row.send_at else None,
        "total": row.total,
        "progress": progress(session, row.id),
        "created_at": row.created_at.isoformat(),
    }


def get(session: Session, chain_id: str, campaign_id: str, *, lock: bool = False) -> Campaign:
    row = session.get(Campaign, campaign_id, with_for_update=lock)
    if row is None or row.chain_id != chain_id:
        raise NotFound("No such campaign.", {"campaign_id": ["No such campaign in this chain."]})
    return row


def create(session: Session, actor: Actor, chain_id: str, payload: dict) -> dict:
    _check_text(payload["text"])
    row = Campaign(
        chain_id=chain_id,
        name=payload["name"],
        body=payload["text"],
        segment=_segment(payload["segment"]),
        status="draft",
        created_by=actor.staff_id,
    )
    session.add(row)
    session.flush()
    return view(session, row)


def update_draft(session: Session, chain_id: str, campaign_id: str, changes: dict) -> dict:
    row = get(session, chain_id, campaign_id, lock=True)
    _require_draft(row)
    if "text" in changes:
        _check_text(changes["text"])
        row.body = changes["text"]
    if "name" in changes:
        row.name = changes["name"]
    if "segment" in changes:
        row.segment = _segment(changes["segment"])
    session.flush()
    return view(session, row)


def _require_draft(row: Campaign) -> None:
    if row.status != "draft":
        raise InvalidState(
            f"The campaign is {row.status}: only a draft can be changed or sent.",
            {"campaign_id": [f"The campaign is {row.status}."]},
        )


def send(session: Session, chain_id: str, campaign_id: str, payload: dict) -> dict:
    """Schedule the bulk send (202: it runs in the background; its progress is on the campaign)."""
    row = get(session, chain_id, campaign_id, lock=True)
    _require_draft(row)
    row.status = "scheduled"
    row.send_at = payload.get("send_at") or session.scalar(select(func.now()))
    session.flush()
    return view(session, row)


def listing(session: Session, chain_id: str, query: dict) -> dict:
    stmt = select(Campaign).where(Campaign.chain_id == chain_id)
    if query.get("status"):
        stmt = stmt.where(Campaign.status == query["status"])
    rows, cursor = keyset_page(
        session,
        stmt,
        [Campaign.created_at, Campaign.id],
        limit=query["limit"],
        after=query.get("after"),
        descending=True,
    )
    return {"items": [view(session, r) for r in rows], "next_cursor": cursor}


# ---- the bulk job ----------------------------------------------------------------------------


def _members(segment: dict, chain_id: str, zone: str, expiring: list[str] | None = None):
    """The consenting members of the segment, as conditions on the copies kept here (and, for
    points expiring, on the members the points service named)."""
    m = MemberCopy
    conditions = [m.chain_id == chain_id, m.marketing_consent.is_(True)]
    if segment.get("tier_codes"):
        conditions.append(m.tier_code.in_(segment["tier_codes"]))
    if segment.get("store_ids"):
        conditions.append(m.home_store_id.in_(segment["store_ids"]))
    if segment.get("tags"):
        conditions.append(m.tags.has_any(cast(segment["tags"], ARRAY(String))))
    if segment.get("birthday_month"):
        conditions.append(extract("month", m.birthday) == segment["birthday_month"])
    if segment.get("inactive_since"):
        day = datetime.fromisoformat(segment["inactive_since"]).replace(tzinfo=ZoneInfo(zone))
        conditions.append(or_(m.last_visit_at.is_(None), m.last_visit_at < day))
    if segment.get("points_expiring_within_days"):
        conditions.append(m.member_id == any_(cast(expiring or [], ARRAY(String))))
    return and_(*conditions)


def materialise(session: Session, row: Campaign, expiring_members: ExpiringMembers | None = None) -> int:
    """Make the campaign's messages, spaced at the chain's pace; returns how many exist. Points
    expiring are the points service's to say (it owns the lots): asked as the send starts."""
    within = (row.segment or {}).get("points_expiring_within_days")
    expiring = None
    if within:
        if expiring_members is None:
            raise RuntimeError("a points-expiring segment needs the points service")
        expiring = [m["member_id"] for m in expiring_members(row.chain_id, within)]
    chain = session.get(ChainCopy, row.chain_id)
    zone = chain.time_zone if chain is not None else DEFAULT_TIME_ZONE
    pace = chain_settings.provider(session, row.chain_id).marketing_per_minute
    place = func.row_number().over(order_by=MemberCopy.member_id) - 1
    start = func.greatest(func.now(), row.send_at)
    members = select(
        func.gen_random_uuid().cast(String),
        literal(row.chain_id),
        literal("marketing"),
        literal("sms"),
        literal(f"campaign:{row.id}:") + MemberCopy.member_id,
        MemberCopy.member_id,
        literal({}, type_=Message.variables.type),
        literal("queued"),
        literal(0),
        literal(0),
        literal(row.id),
        start + func.make_interval(0, 0, 0, 0, 0, 0, cast(place, Integer) * (60.0 / pace)),
    ).where(_members(row.segment or {}, row.chain_id, zone, expiring))
    columns = [*MESSAGE_HEAD, "retried_at_attempt", "campaign_id", "next_attempt_at"]
    session.execute(
        insert(Message)
        .from_select(columns, members)
        .on_conflict_do_nothing(index_elements=[Message.chain_id, Message.source_key])
    )
    return session.scalar(select(func.count()).where(Message.campaign_id == row.id)) or 0


def start_due(session: Session, expiring_members: ExpiringMembers | None = None, limit: int = 5) -> int:
    """Start the campaigns whose time has come (each once, whichever instance takes it)."""
    with session.begin():
        due = session.scalars(
            select(Campaign)
            .where(Campaign.status == constant("scheduled"), Campaign.send_at <= func.now())
            .order_by(Campaign.send_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for row in due:
            row.total = materialise(session, row, expiring_members)
            row.status = "running"
    return len(due)


def finish_done(session: Session) -> None:
    """A running campaign with nothing left in the outbox is done."""
    with session.begin():
        left = select(Message.id).where(Message.campaign_id == Campaign.id, Message.status.in_(OUTBOX)).exists()
        session.execute(update(Campaign).where(Campaign.status == "running", ~left).values(status="done"))


def text_of(session: Session, campaign_id: str) -> str:
    return session.get(Campaign, campaign_id).body
