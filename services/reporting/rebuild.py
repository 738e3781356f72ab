"""Rebuild the read model from the services' own history: `python -m services.reporting.rebuild`.

In one transaction: the read model is emptied (commission rules, which HQ sets here, stay),
then every event org, member, wallet, points and gift ever wrote is fetched from their `history` RPC (their
outbox, in the order written) and applied as if delivered. Live handlers wait on the emptied
tables' locks meanwhile (past the role's lock timeout they back off and retry); an event they
then bring that the history held is dropped by the inbox, so nothing counts twice and nothing
written since is missed.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable, Iterable, Iterator

from sqlalchemy import text
from sqlalchemy.orm import Session

from contracts.events import Event, parse
from services.kit.handlers import is_transient
from services.kit.inbox import first_delivery
from services.reporting import apply
from services.reporting.models import (
    CardCopy,
    ChainCopy,
    DailyTotals,
    FactLine,
    Freshness,
    GiftRedemptionFact,
    LotMove,
    MemberCopy,
    MemberTier,
    MoneyFact,
    PointsFact,
    StaffCopy,
    StoreCopy,
    kit,
)

log = logging.getLogger(__name__)
SOURCES = ("org", "member", "wallet", "points", "gift")
READ_MODEL = (
    ChainCopy,
    StoreCopy,
    StaffCopy,
    MemberCopy,
    MemberTier,
    CardCopy,
    MoneyFact,
    FactLine,
    PointsFact,
    GiftRedemptionFact,
    LotMove,
    DailyTotals,
    Freshness,
)
PAGE = 500

# (source, after_seq, limit) -> {"events": [...], "next_seq": int | None}
FetchPage = Callable[[str, int, int], dict]


def history(fetch: FetchPage, sources: Iterable[str] = SOURCES) -> Iterator[Event]:
    """Every event the read model is fed by, source after source, each in the order written."""
    for source in sources:
        after = 0
        while True:
            page = fetch(source, after, PAGE)
            for payload in page["events"]:
                if (source, payload.get("type")) in apply.APPLIERS:
                    yield parse(payload, source, payload["type"])
            if page["next_seq"] is None:
                break
            after = page["next_seq"]


def empty(session: Session) -> None:
    """Every table of the read model emptied, its inbox too. The inbox is locked first, as a
    handler touches it first: taken in another order, a handler holding the inbox and waiting
    for a fact table would deadlock with this."""
    tables = ", ".join(f"reporting.{m.__tablename__}" for m in READ_MODEL)
    session.execute(text(f"LOCK TABLE reporting.{kit.inbox.name}, {tables} IN ACCESS EXCLUSIVE MODE"))
    session.execute(text(f"TRUNCATE reporting.{kit.inbox.name}, {tables}"))


def replay(session: Session, events: Iterable[Event], *, inbox: bool = True) -> int:
    """Apply `events`; with `inbox`, each is recorded as handled (and skipped if it was)."""
    applied = 0
    for event in events:
        if inbox and not first_delivery(session, kit.inbox, event):
            continue
        apply.apply(session, event)
        applied += 1
    apply.freshen(session)
    return applied


def rebuild(session: Session, fetch: FetchPage, attempts: int = 3) -> int:
    """Empty and replay in one transaction; a transient failure (a deadlock or lock timeout
    against live handlers, a service slow to answer) rolls it all back and it starts again."""
    for attempt in range(1, attempts + 1):
        try:
            with session.begin():
                empty(session)
                return replay(session, history(fetch))
        except Exception as exc:
            if attempt == attempts or not is_transient(exc):
                raise
            log.warning("rebuild failed (%r); starting again (attempt %d of %d)", exc, attempt + 1, attempts)
            time.sleep(attempt)
    raise AssertionError("unreachable")


def main(argv: list[str] | None = None) -> None:
    from sqlalchemy import create_engine

    from gateway.rpc import RpcPool
    from services.kit import config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    logging.basicConfig(level="INFO", format="%(message)s")
    settings = config.load()
    pool = RpcPool(settings)
    engine = create_engine(settings.database_url("reporting"))
    try:
        with Session(engine) as session:
            count = rebuild(session, lambda source, after, limit: pool.call(source, "history", after, limit))
    finally:
        pool.close()
        engine.dispose()
    print(f"reporting read model rebuilt from {count} events")


if __name__ == "__main__":
    main()
