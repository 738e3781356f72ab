"""The member facts segments and birthdays are chosen by (N-3, N-4), kept from events.

Each kind of fact has its own clock: member's facts (birthday, tags, consent, home
store) as of the member event, the tier as of the card event, the last visit as
the latest consume seen. An older event never overwrites a newer fact, whatever
order they arrive in; a fact arriving before the member's own event makes a row
that the member event completes.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

from sqlalchemy import DateTime, String, bindparam, case, func, select
from sqlalchemy.dialects.postgresql import ARRAY, Insert, insert
from sqlalchemy.orm import Session

from contracts.events import Event
from services.kit import direct
from services.notification.models import CategoryVisit, MemberCopy, PackageCopy

M = MemberCopy.__table__
V = CategoryVisit.__table__
P = PackageCopy.__table__


def member_facts(session: Session, event: Event) -> None:
    data = event.data
    as_of = datetime.fromisoformat(event.occurred_at)
    values = {
        "birthday": date.fromisoformat(data["birthday"]) if data["birthday"] else None,
        "tags": list(data["tags"]),
        "marketing_consent": bool(data["marketing_consent"]),
        "home_store_id": data["home_store_id"],
    }
    statement = insert(M).values(member_id=data["member_id"], chain_id=event.chain_id, as_of=as_of, **values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[M.c.member_id],
            set_={**values, "as_of": as_of},
            where=M.c.as_of.is_(None) | (M.c.as_of < statement.excluded.as_of),
        )
    )


def tier(session: Session, event: Event, member_id: str, tier_code: str) -> None:
    as_of = datetime.fromisoformat(event.occurred_at)
    statement = insert(M).values(member_id=member_id, chain_id=event.chain_id, tier_code=tier_code, tier_as_of=as_of)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[M.c.member_id],
            set_={"tier_code": tier_code, "tier_as_of": as_of},
            where=M.c.tier_as_of.is_(None) | (M.c.tier_as_of < statement.excluded.tier_as_of),
        )
    )


def visit(session: Session, event: Event) -> None:
    """A consume: the member's last visit, and their last visit in each category its lines were
    in (service reminders). One statement: the member's upsert rides as a CTE of the categories'
    (PostgreSQL runs a data-modifying CTE whether or not it is read)."""
    data = event.data
    categories = sorted({line["category"] for line in data["lines"] if line["category"]})
    params = {
        "the_member": data["member_id"],
        "the_chain": data["chain_id"],
        "the_time": datetime.fromisoformat(event.occurred_at),
        "the_categories": categories,
    }
    direct.run(session, _visiting(bool(categories)), params)


@cache
def _visiting(in_categories: bool) -> Insert:
    """Built once (it runs on every consume). Parameters `the_*`: an INSERT keeps a column's own
    name for its VALUES."""
    member, chain = bindparam("the_member", type_=String()), bindparam("the_chain", type_=String())
    at = bindparam("the_time", type_=DateTime(timezone=True))
    visit = insert(M).values(member_id=member, chain_id=chain, last_visit_at=at)
    visit = visit.on_conflict_do_update(
        index_elements=[M.c.member_id],
        set_={"last_visit_at": func.greatest(M.c.last_visit_at, visit.excluded.last_visit_at)},
    )
    if not in_categories:
        return visit
    category = func.unnest(bindparam("the_categories", type_=ARRAY(String())))
    rows = select(member, category, chain, at)
    statement = insert(V).from_select(["member_id", "category", "chain_id", "last_visit_at"], rows)
    return statement.on_conflict_do_update(
        index_elements=[V.c.member_id, V.c.category],
        set_={"last_visit_at": func.greatest(V.c.last_visit_at, statement.excluded.last_visit_at)},
    ).add_cte(visit.cte("visit"))


def package_sold(session: Session, event: Event) -> None:
    data, sold = event.data, event.data["entitlement"]
    as_of = datetime.fromisoformat(event.occurred_at)
    facts = {
        "kind": sold["kind"],
        "name": sold["name"],
        "valid_until": date.fromisoformat(sold["valid_until"]) if sold["valid_until"] else None,
    }
    statement = insert(P).values(
        entitlement_id=sold["id"],
        chain_id=data["chain_id"],
        member_id=data["member_id"],
        remaining_count=sold["remaining_count"],
        remaining_as_of=as_of,
        **facts,
    )
    newer = P.c.remaining_as_of.is_(None) | (P.c.remaining_as_of < statement.excluded.remaining_as_of)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[P.c.entitlement_id],
            set_={
                **facts,
                "remaining_count": case((newer, statement.excluded.remaining_count), else_=P.c.remaining_count),
                "remaining_as_of": case((newer, statement.excluded.remaining_as_of), else_=P.c.remaining_as_of),
            },
        )
    )


def package_used(session: Session, event: Event) -> None:
    """Counts left as of the use (a refund's restore counts too): the newest kept."""
    data = event.data
    as_of = datetime.fromisoformat(event.occurred_at)
    statement = insert(P).values(
        entitlement_id=data["entitlement_id"],
        chain_id=data["chain_id"],
        member_id=data["member_id"],
        remaining_count=data["remaining_count"],
        remaining_as_of=as_of,
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[P.c.entitlement_id],
            set_={"remaining_count": data["remaining_count"], "remaining_as_of": as_of},
            where=P.c.remaining_as_of.is_(None) | (P.c.remaining_as_of < as_of),
        )
    )


def package_refunded(session: Session, event: Event) -> None:
    """What was left was paid back: the package is closed, nothing to remind of."""
    data = event.data
    statement = insert(P).values(
        entitlement_id=data["entitlement_id"], chain_id=data["chain_id"], member_id=data["member_id"], closed=True
    )
    session.execute(statement.on_conflict_do_update(index_elements=[P.c.entitlement_id], set_={"closed": True}))
