"""The member facts segments and birthdays are chosen by (N-3, N-4), kept from events.

Each kind of fact has its own clock: member's facts (birthday, tags, consent, home
store) as of the member event, the tier as of the card event, the last visit as
the latest consume seen. An older event never overwrites a newer fact, whatever
order they arrive in; a fact arriving before the member's own event makes a row
that the member event completes.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from contracts.events import Event
from services.notification.models import MemberCopy

M = MemberCopy.__table__


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
    at = datetime.fromisoformat(event.occurred_at)
    member_id = event.data["member_id"]
    statement = insert(M).values(member_id=member_id, chain_id=event.chain_id, last_visit_at=at)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[M.c.member_id],
            set_={"last_visit_at": func.greatest(M.c.last_visit_at, statement.excluded.last_visit_at)},
        )
    )
