"""What must hold after the faults, read straight from the chaos cluster's database as its superuser."""

from __future__ import annotations

import statistics
from collections import Counter

from sqlalchemy import text
from sqlalchemy.engine import Engine

from deploy import audit
from tests.chaos.faults import KINDS, Injection
from tests.chaos.tills import OUTCOMES, KeyBook
from tests.chaos.workload import World

SERVICES = ("org", "member", "wallet")
MONEY_KINDS = ("recharge", "consume", "refund")


def settled(engine: Engine) -> dict[str, int]:
    """Work still in flight per service (`deploy.audit.in_flight`): unsent rows, events being retried."""
    with engine.connect() as conn:
        return audit.in_flight(conn, SERVICES)


def spend_mismatches(engine: Engine, world: World) -> list[str]:
    with engine.connect() as conn:
        wallet = dict(
            conn.execute(
                text("SELECT member_id, cumulative_spend FROM wallet.wallets WHERE chain_id = :c"),
                {"c": world.chain_id},
            ).all()
        )
        member = dict(
            conn.execute(
                text("SELECT id, cumulative_spend FROM member.members WHERE chain_id = :c"), {"c": world.chain_id}
            ).all()
        )
    problems = []
    for card in world.cards.values():
        w, m = wallet.get(card.member_id, 0), member.get(card.member_id)
        if w != card.spend or m != w:
            problems.append(f"card {card.card_no}: acknowledged spend {card.spend}, wallet {w}, member {m}")
    return problems


def balance_mismatches(engine: Engine, world: World) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT member_id, kind, balance FROM wallet.accounts"
                " WHERE chain_id = :c AND kind IN ('member_cash', 'member_bonus')"
            ),
            {"c": world.chain_id},
        ).all()
    held = {(r.member_id, r.kind): r.balance for r in rows}
    problems = []
    for card in world.cards.values():
        cash, bonus = held.get((card.member_id, "member_cash"), 0), held.get((card.member_id, "member_bonus"), 0)
        if (cash, bonus) != (card.cash, card.bonus):
            problems.append(
                f"card {card.card_no}: acknowledged cash {card.cash} bonus {card.bonus},"
                f" ledger cash {cash} bonus {bonus}"
            )
    return problems


def unacknowledged_transactions(engine: Engine, world: World, book: KeyBook, rpc_timeout: float) -> list[str]:
    """Money moved in the database that no till was told about (or was told the opposite)."""
    told = {}
    for record in book.all():
        if record.op in MONEY_KINDS:
            told[record.key] = record
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT t.id, t.kind, t.idempotency_key, t.card_no, t.amount, t.created_at,"
                # postings are never updated, so their xmin is the transaction that wrote them
                " (SELECT min(pg_xact_commit_timestamp(p.xmin)) FROM wallet.postings p"
                "   WHERE p.tx_id = t.id) AS committed"
                " FROM wallet.transactions t"
                " WHERE t.chain_id = :c AND t.kind IN ('recharge', 'consume', 'refund')"
            ),
            {"c": world.chain_id},
        ).all()
    problems = []
    by_key = Counter(r.idempotency_key for r in rows)
    for key, n in by_key.items():
        if n > 1:
            problems.append(f"key {key}: {n} transactions")
    for r in rows:
        record = told.get(r.idempotency_key)
        if record is None:
            problems.append(f"{r.kind} {r.id} (card {r.card_no}, {r.amount}) under unknown key {r.idempotency_key}")
        elif record.first is None:
            problems.append(f"{r.kind} {r.id} under key {r.idempotency_key}: committed, the till never got an answer")
        elif not (200 <= record.first[0] < 300):
            problems.append(
                f"{r.kind} {r.id} (card {r.card_no}, {r.amount}) committed under key {r.idempotency_key}"
                f" whose answer was {record.first[0]}: charged although refused"
            )
        elif isinstance(record.first[1], dict) and record.first[1].get("transaction_id") != r.id:
            problems.append(f"key {r.idempotency_key} answered {record.first[1].get('transaction_id')}, holds {r.id}")
        problems.extend(_when_it_ran(record, r, rpc_timeout))
    return problems


SLACK = 0.5  # seconds: scheduling on a busy machine, and the database's clock read at another moment


def latest_deadline(attempt, rpc_timeout: float) -> float:
    """The latest moment (epoch seconds) the service may still act on this attempt.

    The gateway stamps a call with its deadline when it sends it, after the
    sign-in check, so the deadline is not known here exactly; what is known: a
    504 is answered at the deadline, a definite answer or a 503 after any work,
    and a dropped connection leaves at most the sign-in check's wait and the
    call's own."""
    if attempt.outcome == "conn":
        return attempt.wall + 2 * rpc_timeout + 1.0
    return attempt.wall + attempt.took


def _when_it_ran(record, row, rpc_timeout: float) -> list[str]:
    """The work of a key was done for an attempt that was still waited for, that
    attempt was not told 503, and the work committed before its deadline.

    A transaction's `created_at` is when the service wrote it; `committed` is its
    commit time (track_commit_timestamp). A start inside no attempt's wait means the
    service ran it after every caller had given up: past its deadline."""
    if record is None:
        return []
    what = f"{row.kind} {row.id} under key {record.key}"
    at = row.created_at.timestamp()
    during = [a for a in record.attempts if a.wall - SLACK <= at <= latest_deadline(a, rpc_timeout) + SLACK]
    if not during:
        tried = ", ".join(f"{a.outcome} at +{a.wall - at:.1f}s for {a.took:.1f}s" for a in record.attempts[:4])
        return [f"{what} started when no request of it was waiting, past its deadline (attempts: {tried})"]
    problems = []
    if any(a.outcome == "503" and a.wall - SLACK <= at <= a.wall + a.took for a in during):
        problems.append(f"{what} was done although its request was answered 503")
    # which of the attempts in flight did the work is not known: judge by the one waited for longest
    attempt = max(during, key=lambda a: latest_deadline(a, rpc_timeout))
    if row.committed is not None:
        late = row.committed.timestamp() - latest_deadline(attempt, rpc_timeout)
        if late > SLACK:
            problems.append(
                f"{what} committed {late:.1f} s after its request's deadline "
                f"(the request was answered {attempt.answer} after {attempt.took:.1f} s)"
            )
    return problems


def parked(engine: Engine) -> list[str]:
    problems = []
    with engine.connect() as conn:
        for s in SERVICES:
            for row in conn.execute(
                text(
                    f"SELECT event_id, source, event_type, attempts, last_error FROM {s}.event_failures"
                    " WHERE parked_at IS NOT NULL"
                )
            ):
                problems.append(
                    f"{s}: parked {row.source}.{row.event_type} {row.event_id} after {row.attempts}: "
                    f"{(row.last_error or '')[:120]}"
                )
    return problems


def ledger(engine: Engine, world: World) -> list[str]:
    return [f"ledger: {finding}" for finding in audit.ledger_findings(engine, world.chain_id)]


# ---- the table ---------------------------------------------------------------------------


def window_of(run: Injection, recovery_timeout: float, next_start: float) -> tuple[float, float]:
    """From the injection to a second after recovery (or the recovery timeout), never into the next fault."""
    end = run.recovered if run.recovered is not None else (run.ended or run.started) + recovery_timeout
    return run.started, min(end + 1.0, next_start)


CALM, AFTER = "no fault (calm)", "after the faults"


def table(injections: list[Injection], book: KeyBook, recovery_timeout: float, phase_end: float) -> str:
    """Per fault kind: times injected, what the tills saw meanwhile, recovery times."""
    starts = [r.started for r in injections[1:]] + [phase_end]
    windows = [(window_of(r, recovery_timeout, nxt), r.kind) for r, nxt in zip(injections, starts, strict=True)]
    seen: dict[str, Counter] = {k: Counter() for k in (*KINDS, CALM, AFTER)}
    for attempt in book.attempts():
        kind = next((k for (a, b), k in windows if a <= attempt.at <= b), AFTER if attempt.at > phase_end else CALM)
        seen[kind][attempt.outcome] += 1
    header = f"{'fault':30} {'times':>5} " + " ".join(f"{o:>6}" for o in OUTCOMES) + "  recovery s (median/max)"
    lines = [header, "-" * len(header)]
    for kind in (*KINDS, CALM, AFTER):
        runs = [r for r in injections if r.kind == kind]
        times = [r.recovery_seconds for r in runs]
        done = [t for t in times if t is not None]
        if kind not in KINDS:
            recovery = ""
        elif not runs:
            recovery = "-"
        else:
            recovery = f"{statistics.median(done):.1f}/{max(done):.1f}" if done else ""
            missing = len(times) - len(done)
            if missing:
                recovery += f" ({missing} not recovered)"
        counts = " ".join(f"{seen[kind][o]:>6}" for o in OUTCOMES)
        lines.append(f"{kind:30} {len(runs) if kind in KINDS else '':>5} {counts}  {recovery}")
    return "\n".join(lines)
