"""The wallet's copies of cards (non-negotiable 12): what member last said of a card, so a
money operation asks member only about a card it has not seen (or no longer holds valid).

How a copy stays true:

- member calls `keep_card` with the card's new context after committing any change it makes
  to a card (freeze, unfreeze, loss, tier, limits, renewal) and before its API answers: a
  restriction is in force for the very next operation;
- member's events forget copies (`forget`): a member's name, phone or plates, a tier's terms,
  an automatic upgrade, a status change (again: in case its `keep_card` could not be told);
- a copy holds until the end of the chain's calendar day it was read on, since a card's
  validity ends at a day's turn (member then says "expired");
- `as_of` is when the card last changed at member: an older context never replaces a newer
  one, so a read made just before a freeze cannot overwrite the frozen card.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.kit import clock
from services.wallet.models import CardCopy, ChainClock

cards = CardCopy.__table__


def number(card_no: str) -> str:
    """The number as member keeps it: the spaces and dashes a cashier types dropped."""
    return "".join(ch for ch in card_no if ch not in " -")


def read(session: Session, chain_id: str, card_no: str) -> dict | None:
    """The card's context if a valid copy is kept, else None (ask member)."""
    if not isinstance(card_no, str):
        return None
    row = session.execute(
        select(cards.c.context, cards.c.valid_until).where(
            cards.c.chain_id == chain_id, cards.c.card_no == number(card_no)
        )
    ).first()
    if row is None or row.context is None or row.valid_until <= datetime.now(UTC):
        return None
    return row.context


@cache
def kept() -> Any:
    """`read` as a scalar subquery of the parameters `the_chain` and `card_number` (the context,
    or NULL), to be read with other copies; built once."""
    return (
        select(cards.c.context)
        .where(
            cards.c.chain_id == bindparam("the_chain"),
            cards.c.card_no == bindparam("card_number"),
            cards.c.valid_until > func.now(),
        )
        .scalar_subquery()
    )


def _day_end(chain_id: str):
    """The end of the chain's current calendar day (its zone as org last said), in SQL."""
    zone = func.coalesce(
        select(ChainClock.time_zone).where(ChainClock.chain_id == chain_id).scalar_subquery(),
        literal(clock.DEFAULT_TIME_ZONE),
    )
    local_midnight = func.date_trunc("day", func.timezone(zone, func.now())) + func.make_interval(0, 0, 0, 1)
    return func.timezone(zone, local_midnight)


def keep(session: Session, context: dict) -> None:
    """Keep member's `CardContext` (with its `as_of`), unless a newer one is kept already."""
    as_of = context.get("as_of")
    as_of = datetime.fromisoformat(as_of) if as_of else None
    values = {
        "card_id": context["card_id"],
        "member_id": context["member_id"],
        "context": context,
        "valid_until": _day_end(context["chain_id"]),
        "as_of": as_of,
    }
    statement = insert(cards).values(chain_id=context["chain_id"], card_no=context["card_no"], **values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[cards.c.chain_id, cards.c.card_no],
            set_={k: statement.excluded[k] for k in values},
            # the same moment again refills a forgotten copy; an older one changes nothing
            where=cards.c.as_of.is_(None) | (cards.c.as_of <= statement.excluded.as_of),
        )
    )


def forget(session: Session, chain_id: str, *where) -> None:
    """Forget the copies of the chain matching `where`: the next operation asks member."""
    session.execute(
        update(cards)
        .where(cards.c.chain_id == chain_id, cards.c.context.is_not(None), *where)
        .values(context=None)
        .execution_options(synchronize_session=False)
    )


def forget_card(session: Session, chain_id: str, card_no: str) -> None:
    forget(session, chain_id, cards.c.card_no == card_no)


def forget_member(session: Session, chain_id: str, member_id: str) -> None:
    forget(session, chain_id, cards.c.member_id == member_id)


def forget_tier(session: Session, chain_id: str, tier_code: str) -> None:
    forget(session, chain_id, cards.c.context["tier"]["code"].astext == tier_code)


def forget_chain(session: Session, chain_id: str) -> None:
    forget(session, chain_id)
