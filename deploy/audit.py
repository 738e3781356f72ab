"""Audit the books across services: `python -m deploy.audit` (`make audit`).

Reads every service's schema as the database's superuser and checks what must
hold whenever the system is at rest:

- every wallet transaction's postings sum to zero; every account's balance
  equals the sum of its postings; no member's cash or bonus is negative; a
  member's cash and bonus equal their open lots; lot moves carry their
  transaction's moment;
- the points ledger likewise: postings sum to zero, balances equal postings and the
  members' open lots, none negative;
- member's cumulative spend (kept from the wallet's events) equals the wallet's; every
  consume was earned on by the points service (exactly once: one earning per consume is
  the table's key); member's lifetime points (from `points.changed`) equal the points service's;
- gift stock never negative; no redemption left pending or cancelling (the recovery job
  finishes each); every settled redemption agrees with the points service's (completed:
  points taken, the same amount; cancelled: given back; refused: none taken), and every
  points redemption made for a gift belongs to a completed or cancelled one;
- reporting's liability per store (kept from the wallet's events) equals the wallet's (R-8);
- every service's outbox is sent and nothing is parked (events or outbox rows);
- no notification message is left claimed long after its sender's lease ended.

Work still in flight (unsent events, events being retried) is waited for, up to
`--settle` seconds, before judging. Exits 1 with a precise report if anything
is wrong, 0 with "audit: clean" otherwise. `--chain` narrows it to one chain.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine

from services.kit import config

SHOWN = 5  # offending rows quoted per finding

LEDGER_CHECKS = {
    "transactions whose postings do not sum to zero": """
        SELECT t.id, SUM(p.amount) FROM wallet.transactions t JOIN wallet.postings p ON p.tx_id = t.id
        WHERE {tx_chain} GROUP BY t.id HAVING SUM(p.amount) <> 0""",
    "accounts whose balance differs from their postings": """
        SELECT a.id, a.balance, COALESCE(SUM(p.amount), 0) FROM wallet.accounts a
        LEFT JOIN wallet.postings p ON p.account_id = a.id WHERE {account_chain}
        GROUP BY a.id, a.balance HAVING a.balance <> COALESCE(SUM(p.amount), 0)""",
    "members whose cash or bonus differs from their open lots": """
        SELECT a.member_id, a.kind, a.balance, COALESCE(l.remaining, 0) FROM wallet.accounts a
        LEFT JOIN (SELECT chain_id, member_id, kind, SUM(remaining) AS remaining FROM wallet.lots
                   GROUP BY chain_id, member_id, kind) l
          ON l.chain_id = a.chain_id AND l.member_id = a.member_id
         AND l.kind = CASE a.kind WHEN 'member_cash' THEN 'cash' ELSE 'bonus' END
        WHERE {account_chain} AND a.kind IN ('member_cash', 'member_bonus')
          AND a.balance <> COALESCE(l.remaining, 0)""",
    "negative member balances": """
        SELECT a.id, a.kind, a.balance FROM wallet.accounts a
        WHERE {account_chain} AND a.kind IN ('member_cash', 'member_bonus') AND a.balance < 0""",
    "lot moves stamped at another moment than their transaction": """
        SELECT m.id, m.created_at, t.created_at FROM wallet.lot_moves m JOIN wallet.transactions t ON t.id = m.tx_id
        WHERE {tx_chain} AND m.created_at <> t.created_at""",
}
POINTS_CHECKS = {
    "points transactions whose postings do not sum to zero": """
        SELECT p.tx_id, SUM(p.amount) FROM points.postings p JOIN points.transactions t ON t.id = p.tx_id
        WHERE {tx_chain} GROUP BY p.tx_id HAVING SUM(p.amount) <> 0""",
    "points accounts whose balance differs from their postings": """
        SELECT a.id, a.balance, COALESCE(SUM(p.amount), 0) FROM points.accounts a
        LEFT JOIN points.postings p ON p.account_id = a.id WHERE {account_chain}
        GROUP BY a.id, a.balance HAVING a.balance <> COALESCE(SUM(p.amount), 0)""",
    "members whose points differ from their open lots": """
        SELECT a.member_id, a.balance, COALESCE(l.remaining, 0) FROM points.accounts a
        LEFT JOIN (SELECT chain_id, member_id, SUM(remaining) AS remaining FROM points.lots
                   GROUP BY chain_id, member_id) l ON l.chain_id = a.chain_id AND l.member_id = a.member_id
        WHERE {account_chain} AND a.kind = 'points' AND a.balance <> COALESCE(l.remaining, 0)""",
    "negative points balances": """
        SELECT a.id, a.balance FROM points.accounts a WHERE {account_chain} AND a.kind = 'points' AND a.balance < 0""",
}
CROSS_SERVICE_CHECKS = {
    "consumes the points service has not earned on": """
        SELECT t.id, t.member_id FROM wallet.transactions t
        LEFT JOIN points.earnings e ON e.chain_id = t.chain_id AND e.consume_id = t.id
        WHERE {tx_chain} AND t.kind = 'consume' AND e.consume_id IS NULL""",
    "members whose lifetime points differ between points and member": """
        SELECT p.chain_id, p.member_id, p.lifetime_points, m.lifetime_points
        FROM points.members p JOIN member.members m ON m.id = p.member_id
        WHERE {points_chain} AND p.version > 0 AND p.lifetime_points <> m.lifetime_points""",
    "members whose spend differs between wallet and member": """
        SELECT w.chain_id, w.member_id, w.cumulative_spend, COALESCE(m.cumulative_spend, 0)
        FROM wallet.wallets w LEFT JOIN member.members m ON m.id = w.member_id
        WHERE {wallet_chain} AND w.cumulative_spend <> COALESCE(m.cumulative_spend, 0)""",
    "stores whose liability differs between wallet and reporting": """
        SELECT chain_id, lot_store_id, kind, COALESCE(w.total, 0), COALESCE(r.total, 0)
        FROM (SELECT chain_id, lot_store_id, kind, SUM(amount) AS total FROM wallet.lot_moves
              GROUP BY chain_id, lot_store_id, kind) w
        FULL JOIN (SELECT chain_id, lot_store_id, kind, SUM(amount) AS total FROM reporting.lot_moves
                   GROUP BY chain_id, lot_store_id, kind) r USING (chain_id, lot_store_id, kind)
        WHERE {lot_chain} AND COALESCE(w.total, 0) <> COALESCE(r.total, 0)""",
    # a sender that died mid-send leaves its messages claimed; another takes them up when the lease ends
    "notification messages still claimed a minute after their lease ended": """
        SELECT n.id, n.claimed_until FROM notification.messages n
        WHERE {message_chain} AND n.status = 'sending' AND n.claimed_until < now() - interval '60 seconds'""",
}


GIFT_CHECKS = {
    "negative gift stock": """
        SELECT s.gift_id, s.place, s.quantity FROM gift.stocks s WHERE {stock_chain} AND s.quantity < 0""",
    "gift redemptions that disagree with the points service": """
        SELECT g.id, g.status, g.points, p.status, p.points FROM gift.redemptions g
        LEFT JOIN points.redemptions p ON p.chain_id = g.chain_id AND p.reference = 'gift:' || g.id
        WHERE {gift_chain} AND g.status IN ('completed', 'cancelled', 'refused') AND NOT (
            (g.status = 'completed' AND p.status = 'redeemed' AND p.points = g.points
             AND p.id = g.points_redemption_id)
         OR (g.status = 'cancelled' AND p.status = 'cancelled' AND p.points = g.points)
         OR (g.status = 'refused' AND p.id IS NULL))""",
    "points redemptions for gifts with no completed or cancelled gift redemption": """
        SELECT p.id, p.reference, p.status, g.status FROM points.redemptions p
        LEFT JOIN gift.redemptions g ON p.reference = 'gift:' || g.id AND g.chain_id = p.chain_id
        WHERE {points_chain} AND p.reference LIKE 'gift:%'
          AND (g.id IS NULL OR g.status NOT IN ('completed', 'cancelled', 'pending', 'cancelling'))""",
}


def _where(chain_id: str | None) -> dict[str, str]:
    scoped = {
        "tx_chain": "t.chain_id = :chain",
        "account_chain": "a.chain_id = :chain",
        "wallet_chain": "w.chain_id = :chain",
        "points_chain": "p.chain_id = :chain",
        "gift_chain": "g.chain_id = :chain",
        "stock_chain": "s.chain_id = :chain",
        "lot_chain": "chain_id = :chain",
        "message_chain": "n.chain_id = :chain",
    }
    return dict.fromkeys(scoped, "TRUE") if chain_id is None else scoped


def in_flight(conn: Connection, services: Iterable[str]) -> dict[str, int]:
    """Work not yet done: unsent, unparked outbox rows and events still being retried."""
    counts = {}
    for s in services:
        counts[f"{s}: outbox rows not yet sent"] = conn.execute(
            text(f"SELECT count(*) FROM {s}.outbox WHERE sent_at IS NULL AND parked_at IS NULL")
        ).scalar_one()
        counts[f"{s}: events being retried"] = conn.execute(
            text(f"SELECT count(*) FROM {s}.event_failures WHERE parked_at IS NULL")
        ).scalar_one()
    if "gift" in services:  # a saga between its steps: the recovery job finishes it
        counts["gift: redemptions pending or cancelling"] = conn.execute(
            text("SELECT count(*) FROM gift.redemptions WHERE status IN ('pending', 'cancelling')")
        ).scalar_one()
    return {k: v for k, v in counts.items() if v}


def parked(conn: Connection, services: Iterable[str]) -> list[str]:
    found = []
    for s in services:
        for row in conn.execute(
            text(
                f"SELECT event_id, source, event_type, attempts, last_error FROM {s}.event_failures"
                " WHERE parked_at IS NOT NULL ORDER BY last_failed_at LIMIT 20"
            )
        ):
            error = (row.last_error or "")[:160]
            found.append(
                f"{s}: event {row.source}.{row.event_type} {row.event_id} parked after {row.attempts}: {error}"
            )
        for row in conn.execute(
            text(f"SELECT seq, event_type, last_error FROM {s}.outbox WHERE parked_at IS NOT NULL LIMIT 20")
        ):
            found.append(f"{s}: outbox row {row.seq} ({row.event_type}) parked: {(row.last_error or '')[:160]}")
    return found


def _checked(conn: Connection, checks: dict[str, str], chain_id: str | None) -> list[str]:
    problems = []
    for name, sql in checks.items():
        rows = conn.execute(text(sql.format(**_where(chain_id))), {"chain": chain_id}).all()
        if rows:
            shown = ", ".join(str(tuple(r)) for r in rows[:SHOWN])
            problems.append(f"{name}: {len(rows)} ({shown}{' ...' if len(rows) > SHOWN else ''})")
    return problems


def ledger_findings(engine: Engine, chain_id: str | None = None) -> list[str]:
    """The wallet's books alone (W-1, W-2, W-11): what a transaction can never leave wrong."""
    with engine.connect() as conn:
        return _checked(conn, LEDGER_CHECKS, chain_id)


def findings(engine: Engine, chain_id: str | None = None, services: Iterable[str] = config.SERVICES) -> list[str]:
    """Everything wrong now, one line per finding ([] when the books hold together)."""
    services = tuple(services)
    with engine.connect() as conn:
        problems = _checked(conn, {**LEDGER_CHECKS, **POINTS_CHECKS, **GIFT_CHECKS, **CROSS_SERVICE_CHECKS}, chain_id)
        problems += [f"{what}: {n}" for what, n in in_flight(conn, services).items()]
        problems += parked(conn, services)
    return problems


def settle(engine: Engine, seconds: float, services: Iterable[str] = config.SERVICES) -> None:
    """Wait, at most `seconds`, for the work in flight to be done."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if not in_flight(conn, services):
                return
        time.sleep(0.2)


def audit(engine: Engine, chain_id: str | None = None, settle_seconds: float = 30.0) -> list[str]:
    settle(engine, settle_seconds)
    # Events may still wait in the broker's queues after every outbox is empty (a loaded
    # machine drains them slowly): judge again while the findings keep changing, and fail
    # only on findings that stay the same between two looks, or when time is up.
    problems = findings(engine, chain_id)
    deadline = time.monotonic() + settle_seconds
    while problems and time.monotonic() < deadline:
        time.sleep(2.0)
        again = findings(engine, chain_id)
        if again == problems:
            break
        problems = again
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chain", help="audit one chain only (its id)")
    parser.add_argument("--settle", type=float, default=30.0, help="seconds to wait for work in flight")
    args = parser.parse_args(argv)
    settings = config.load()
    engine = create_engine(settings.admin_url(settings.db_name))
    try:
        problems = audit(engine, args.chain, args.settle)
    finally:
        engine.dispose()
    if problems:
        print(f"audit of {settings.db_name}: {len(problems)} problem(s)")
        for line in problems:
            print(f"  - {line}")
        return 1
    print(f"audit of {settings.db_name}: clean")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
