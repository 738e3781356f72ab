"""Automatic messages (N-3): one per event, made in the handler's transaction with its inbox
record, so a redelivered event makes no second message.

The facts come from the event itself (amount, balances after) and from the copies
this service keeps (store and tier names, the chain's time zone); the member's
name, phone and e-mail address are asked of the member service when the message is sent.

A consume's message also says the points it earned and the member's points total, which
only the points service knows: it answers every consume it books (`points.changed` of kind
`earn`, naming the consume, 0 points included). The wallet's event and the points answer
arrive in either order and either may come twice; they meet in one `consume_points` row,
whose upsert serialises the two handlers. Whichever comes second completes the message:
the consume finds the figures there, or the points answer puts them into the message that
is `waiting` for them and lets it go. In the common order (the consume first) the points
answer just deletes the consume's meeting; it upserts only when there is none to take. If
points does not answer within the wait, the dispatcher sends the message as it is, its
optional points part left out.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import String, Text, bindparam, cast, delete, func, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from contracts.events import Event
from services.kit import direct
from services.kit.built import constant
from services.kit.clock import DEFAULT_TIME_ZONE
from services.notification import chain_settings
from services.notification.kinds import KINDS, yuan
from services.notification.messages import enqueue
from services.notification.models import ChainCopy, ConsumePoints, KindSettings, Message, StoreCopy, TierCopy

MEETINGS = ConsumePoints.__table__
MEETING_KEY = [MEETINGS.c.chain_id, MEETINGS.c.consume_id]


def switched_on(session: Session, chain_id: str, kind: str) -> tuple[bool, str]:
    """Whether the chain sends this kind, and on which channel (sms, email or both)."""
    return switch_of(kind, chain_settings.kind_settings(session, chain_id, kind))


def switch_of(kind: str, row: KindSettings | None) -> tuple[bool, str]:
    view = chain_settings.kind_view(KINDS[kind], row)
    return view["enabled"], view["channel"]


def source_keys(cause: str) -> dict[str, str]:
    """The message of each channel one cause may make: one by SMS, one by e-mail."""
    return {"sms": cause, "email": f"{cause}:email"}


def local_time(session: Session, chain_id: str, moment: str) -> str:
    chain = session.get(ChainCopy, chain_id)
    return _local(chain.time_zone if chain is not None else None, moment)


def _local(zone: str | None, moment: str) -> str:
    return datetime.fromisoformat(moment).astimezone(ZoneInfo(zone or DEFAULT_TIME_ZONE)).strftime("%Y-%m-%d %H:%M")


def _store_name(session: Session, store_id: str | None) -> str:
    store = session.get(StoreCopy, store_id) if store_id else None
    return store.name if store is not None else ""


def _tier_name(session: Session, chain_id: str, code: str) -> str:
    tier = session.get(TierCopy, (chain_id, code))
    return tier.name if tier is not None else code


def _card_tail(card_no: str | None) -> str:
    return (card_no or "")[-4:]


def _balance_values(balances: dict) -> dict:
    return {
        "balance": yuan(balances["cash"] + balances["bonus"]),
        "cash_balance": yuan(balances["cash"]),
        "bonus_balance": yuan(balances["bonus"]),
    }


def make(
    session: Session,
    chain_id: str,
    kind: str,
    member_id: str,
    variables: dict,
    cause: str,
    wait_seconds: float | None = None,
    switch: tuple[bool, str] | None = None,
) -> list[str]:
    """The kind's message to a member on each channel the chain chose for it, once per cause;
    the ids of those made now (none if the kind is off or the cause made them before).
    `switch`: the kind's (enabled, channel) if the caller has read them already."""
    enabled, channel = switch if switch is not None else switched_on(session, chain_id, kind)
    if not enabled:
        return []
    keys = source_keys(cause)
    made = [
        enqueue(
            session,
            chain_id=chain_id,
            kind=kind,
            channel=each,
            source_key=keys[each],
            member_id=member_id,
            variables=variables,
            wait_seconds=wait_seconds,
        )
        for each in (("sms", "email") if channel == "both" else (channel,))
    ]
    return [m for m in made if m is not None]


def _make(session: Session, event: Event, kind: str, member_id: str, variables: dict) -> list[str]:
    return make(session, event.chain_id or event.data["chain_id"], kind, member_id, variables, f"event:{event.id}")


def _points_values(earned: int, total: int) -> dict:
    return {"points_earned": str(earned), "points_total": str(total)}


def _consume_facts(session: Session, chain_id: str, store_id: str | None) -> tuple[str, str | None, tuple[bool, str]]:
    """What a consume's message needs of the copies, in one query: the store's name ("" if not
    known), the chain's time zone (None if not known) and the consume kind's switch, (enabled,
    channel), from the chain's settings row (the defaults if never changed). Made from a
    one-row FROM: a row comes back whatever is missing."""
    row = direct.run(session, _CONSUME_FACTS, {"the_chain": chain_id, "the_store": store_id}).one()
    switch = switch_of("consume", None) if row.enabled is None else (row.enabled, row.channel)
    return row[0] or "", row[1], switch


def consumed(session: Session, event: Event, wait_seconds: float) -> list[str]:
    """The consume's message: complete if its points answer came first, else `waiting` for it
    for up to `wait_seconds`. One message per consume (named by the wallet's transaction id,
    so even a copy of the event under another envelope makes none)."""
    data = event.data
    chain_id, consume_id = data["chain_id"], data["transaction_id"]
    met = direct.run(session, _MEETING_CONSUME, {"the_chain": chain_id, "the_consume": consume_id}).one()
    store_name, zone, switch = _consume_facts(session, chain_id, data["store_id"])
    variables = {
        "card_tail": _card_tail(data["card_no"]),
        "store_name": store_name,
        "amount": yuan(data["amount_due"]),
        "time": _local(zone, event.occurred_at),
        **_balance_values(data["balances"]),
    }
    answered = met.points_earned is not None
    if answered:
        variables.update(_points_values(met.points_earned, met.points_total))
        _forget_meeting(session, chain_id, consume_id)
    cause, wait = f"consume:{consume_id}", None if answered else wait_seconds
    return make(session, chain_id, "consume", data["member_id"], variables, cause, wait, switch)


def points_answered(session: Session, event: Event) -> int:
    """The points service booked a consume (`points.changed`, kind `earn`, its reference the
    consume): the figures go into the consume's waiting message, or wait for the consume's
    event. Returns how many waiting messages it let go."""
    data = event.data
    if data["kind"] != "earn" or not data.get("reference"):
        return 0
    chain_id, consume_id = data["chain_id"], data["reference"]
    key = {"the_chain": chain_id, "the_consume": consume_id}
    figures = {"points_earned": data["points"], "points_total": data["balance"]}
    # the common order: the consume's event came first and its meeting waits; taking it is all
    if direct.run(session, _TAKING, key).first() is None:
        # nothing to take (points first, or the consume's meeting not committed yet): the upsert
        # waits for a consume handler making the meeting now, so one of the two sees the other
        if not direct.run(session, _MEETING_POINTS, {**key, **figures}).one().consumed:
            return 0  # kept for the consume's event
        _forget_meeting(session, chain_id, consume_id)
    # only a message still waiting: one the wait already let go was sent (or is being sent) without
    keys = source_keys(f"consume:{consume_id}")
    values = {"the_chain": chain_id, "sms_key": keys["sms"], "email_key": keys["email"]}
    released = direct.run(session, _RELEASING, {**values, **_points_values(data["points"], data["balance"])})
    return released.rowcount


# built once: a points answer comes for every consume (parameters `the_*`: a column's own name is
# the VALUES or SET parameter of an INSERT or UPDATE)
_MEETING = (MEETINGS.c.chain_id == bindparam("the_chain")) & (MEETINGS.c.consume_id == bindparam("the_consume"))
_TAKING = delete(MEETINGS).where(_MEETING, MEETINGS.c.consumed).returning(MEETINGS.c.consume_id)
_FORGETTING = delete(MEETINGS).where(_MEETING)
_CONSUME_MET = insert(MEETINGS).values(
    chain_id=bindparam("the_chain"), consume_id=bindparam("the_consume"), consumed=True
)
_MEETING_CONSUME = _CONSUME_MET.on_conflict_do_update(index_elements=MEETING_KEY, set_={"consumed": True}).returning(
    MEETINGS.c.points_earned, MEETINGS.c.points_total
)
# a consume's facts from a one-row FROM: a row comes back whatever is missing
# tables, not the mapped classes: a statement of mapped classes goes through the ORM's compile
# state and loading on every run, which a row of values does not need
_STORES, _CHAINS, _KINDS = StoreCopy.__table__, ChainCopy.__table__, KindSettings.__table__
_CONSUME_FACTS = (
    select(
        select(_STORES.c.name).where(_STORES.c.store_id == bindparam("the_store")).scalar_subquery(),
        select(_CHAINS.c.time_zone).where(_CHAINS.c.chain_id == bindparam("the_chain")).scalar_subquery(),
        _KINDS.c.enabled,
        _KINDS.c.channel,
    )
    .select_from(select(literal_column("1")).subquery())
    .outerjoin(_KINDS, (_KINDS.c.chain_id == bindparam("the_chain")) & (_KINDS.c.kind == "consume"))
)
_POINTS_MET = insert(MEETINGS).values(
    chain_id=bindparam("the_chain"),
    consume_id=bindparam("the_consume"),
    points_earned=bindparam("points_earned"),
    points_total=bindparam("points_total"),
)
_MEETING_POINTS = _POINTS_MET.on_conflict_do_update(
    index_elements=MEETING_KEY,
    set_={"points_earned": _POINTS_MET.excluded.points_earned, "points_total": _POINTS_MET.excluded.points_total},
).returning(MEETINGS.c.consumed)
_MESSAGES = Message.__table__
_RELEASING = (
    update(_MESSAGES)
    .where(
        _MESSAGES.c.chain_id == bindparam("the_chain"),
        _MESSAGES.c.source_key.in_([bindparam("sms_key"), bindparam("email_key")]),
        _MESSAGES.c.status == constant("waiting"),
    )
    .values(
        variables=_MESSAGES.c.variables.op("||")(
            # keys as SQL text and values cast: a prepared statement cannot type a parameter there
            func.jsonb_build_object(
                literal_column("'points_earned'"),
                cast(bindparam("points_earned", type_=String()), Text),
                literal_column("'points_total'"),
                cast(bindparam("points_total", type_=String()), Text),
            )
        ),
        status="queued",
        next_attempt_at=func.now(),
    )
)


def _forget_meeting(session: Session, chain_id: str, consume_id: str) -> None:
    direct.run(session, _FORGETTING, {"the_chain": chain_id, "the_consume": consume_id})


def forget_unmet(session: Session, older_than_days: int = 7) -> int:
    """Meetings one side of which never came (points never answered a consume, or a copy of an
    event under another envelope): nothing waits on them any more."""
    cutoff = func.now() - func.make_interval(0, 0, 0, older_than_days)
    return session.execute(delete(MEETINGS).where(MEETINGS.c.created_at < cutoff)).rowcount


def recharged(session: Session, event: Event) -> list[str]:
    data = event.data
    return _make(
        session,
        event,
        "recharge",
        data["member_id"],
        {
            "card_tail": _card_tail(data["card_no"]),
            "store_name": _store_name(session, data["store_id"]),
            "amount": yuan(data["amount"]),
            "bonus": yuan(data["bonus"]),
            "time": local_time(session, data["chain_id"], event.occurred_at),
            "balance": yuan(data["balances"]["cash"] + data["balances"]["bonus"]),
        },
    )


def tier_changed(session: Session, event: Event) -> list[str]:
    data = event.data
    chain_id = event.chain_id or ""
    return _make(
        session,
        event,
        "tier_change",
        data["member_id"],
        {
            "card_tail": _card_tail(data["card_no"]),
            "previous_tier": _tier_name(session, chain_id, data["previous_tier_code"]),
            "tier": _tier_name(session, chain_id, data["tier_code"]),
        },
    )


def points_expiring(session: Session, event: Event) -> list[str]:
    """P-5's reminder from the points service: one message per member and expiry day, even if
    the points service said it twice (its cause is the day, not the event)."""
    data = event.data
    return _reminder(
        session,
        data,
        "points_expiring",
        f"points_expiring:{data['member_id']}:{data['expires_on']}",
        {
            "expiring_points": str(data["points"]),
            "expire_date": data["expires_on"],
            "points_total": _points_total(data),
        },
    )


def points_reset(session: Session, event: Event) -> list[str]:
    data = event.data
    return _reminder(
        session,
        data,
        "points_reset",
        f"points_reset:{data['member_id']}:{data['reset_on']}",
        {"expiring_points": str(data["points"]), "reset_date": data["reset_on"], "points_total": _points_total(data)},
    )


def _reminder(session: Session, data: dict, kind: str, cause: str, variables: dict) -> list[str]:
    return make(session, data["chain_id"], kind, data["member_id"], variables, cause)


def _points_total(data: dict) -> str:
    """The member's points now; a reminder written before points carried it shows a dash."""
    return "—" if data.get("balance") is None else str(data["balance"])
