"""What a consume names besides the card (item and category codes, the serving
employee) must be the chain's own: checked against the copies kept from org's
events, asking org only about what has never been seen (non-negotiables 8, 12)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from sqlalchemy import String, bindparam, func, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from contracts.auth import Actor
from contracts.errors import ValidationFailed
from services.kit.rpc import ServiceRpc
from services.wallet.models import DictionaryEntry, StaffState

# a consume line's field -> the org dictionary its code must be in
LINE_CODES = (("item_code", "items"), ("category", "categories"))


@dataclass
class Known:
    """What the wallet's copies say, read inside the operation's first short transaction."""

    # the serving employee's (chain_id, status), None if never seen
    staff: tuple[str, str] | None = None
    # (dictionary, code) -> active, for the codes seen
    codes: dict[tuple[str, str], bool] = field(default_factory=dict)


def _wanted_codes(payload: dict) -> set[tuple[str, str]]:
    return {(dictionary, line[key]) for line in payload.get("lines") or () for key, dictionary in LINE_CODES}


def wanted(chain_id: str, payload: dict) -> tuple[tuple[bool, bool], dict]:
    """What `read` reads for this request, as (the shape of `queries`: staff?, codes?) and the
    parameters of those queries."""
    staff_id = payload.get("serving_employee_id")
    codes = sorted(_wanted_codes(payload))
    params = {
        "the_chain": chain_id,
        "staff_id": staff_id,
        "dictionaries": [dictionary for dictionary, _ in codes],
        "codes": [code for _, code in codes],
    }
    return (bool(staff_id), bool(codes)), params


@cache
def queries(with_staff: bool, with_codes: bool) -> dict:
    """What `read` reads, as scalar subqueries of the parameters `wanted` gives, to be read
    together with other copies in one statement (built once per shape); `known` makes a
    `Known` of their values."""
    found: dict = {}
    staff, entries = StaffState.__table__, DictionaryEntry.__table__  # Core: no ORM compile step
    if with_staff:
        found["staff"] = (
            select(func.json_build_array(staff.c.chain_id, staff.c.status))
            .where(staff.c.staff_id == bindparam("staff_id"))
            .scalar_subquery()
        )
    if with_codes:
        listed = select(
            func.unnest(bindparam("dictionaries", type_=ARRAY(String()))),
            func.unnest(bindparam("codes", type_=ARRAY(String()))),
        )
        found["codes"] = (
            select(func.json_agg(func.json_build_array(entries.c.dictionary, entries.c.code, entries.c.active)))
            .where(
                entries.c.chain_id == bindparam("the_chain"), tuple_(entries.c.dictionary, entries.c.code).in_(listed)
            )
            .scalar_subquery()
        )
    return found


def known(values: dict) -> Known:
    staff = values.get("staff")
    return Known(
        staff=tuple(staff) if staff else None,
        codes={(dictionary, code): active for dictionary, code, active in values.get("codes") or ()},
    )


def read(session: Session, chain_id: str, payload: dict) -> Known:
    known = Known()
    staff_id = payload.get("serving_employee_id")
    if staff_id:
        row = session.execute(
            select(StaffState.chain_id, StaffState.status).where(StaffState.staff_id == staff_id)
        ).first()
        known.staff = (row.chain_id, row.status) if row else None
    wanted = _wanted_codes(payload)
    if wanted:
        rows = session.execute(
            select(DictionaryEntry.dictionary, DictionaryEntry.code, DictionaryEntry.active).where(
                DictionaryEntry.chain_id == chain_id,
                tuple_(DictionaryEntry.dictionary, DictionaryEntry.code).in_(sorted(wanted)),
            )
        ).all()
        known.codes = {(r.dictionary, r.code): r.active for r in rows}
    return known


def _require_staff(org: ServiceRpc, chain_id: str, staff_id: str, known: tuple[str, str] | None) -> None:
    if known is None:  # never seen (its event may be on the way): org knows
        status = org.staff_status(chain_id, staff_id)
    else:
        status = known[1] if known[0] == chain_id else None
    if status is None:
        raise ValidationFailed(
            "The serving employee is not staff of this chain.",
            {"serving_employee_id": ["No such staff member in this chain."]},
        )
    if status != "active":
        raise ValidationFailed(
            f"The serving employee's account is {status}.",
            {"serving_employee_id": [f"The staff member is {status}."]},
        )


def _active_codes(org: ServiceRpc, actor: Actor, chain_id: str, dictionary: str) -> set[str]:
    listing = org.list_dictionary(actor.to_dict(), chain_id, dictionary, {})
    return {entry["code"] for entry in listing["items"]}


def require(org: ServiceRpc, actor: Actor, chain_id: str, payload: dict, known: Known) -> None:
    """Refuse, naming the field, a serving employee or a line code that is not the chain's (422)."""
    staff_id = payload.get("serving_employee_id")
    if staff_id:
        _require_staff(org, chain_id, staff_id, known.staff)
    unseen = {dictionary for dictionary, code in _wanted_codes(payload) if (dictionary, code) not in known.codes}
    asked = {dictionary: _active_codes(org, actor, chain_id, dictionary) for dictionary in sorted(unseen)}
    problems: dict[str, dict] = {}
    for i, line in enumerate(payload.get("lines") or ()):
        for key, dictionary in LINE_CODES:
            code = line[key]
            seen = known.codes.get((dictionary, code))
            active = seen if seen is not None else code in asked[dictionary]
            if not active:
                what = "item or service" if dictionary == "items" else "category"
                problems.setdefault(str(i), {})[key] = [f"No active {what} {code!r} in this chain."]
    if problems:
        raise ValidationFailed("A line names a code the chain does not have.", {"lines": problems})
