"""How fast the reports are over a large read model: `python -m services.reporting.perf`.

Seeds one chain of 10 stores with `--consumes` consumes (default 1,000,000) spread over a
year, each with a line and the lot move that paid it, 2 % of them refunded, and a recharge
per 10 consumes, straight into the reporting schema of its own database (`--db`, recreated),
then times each report for a month of one store and the chain's monthly store summary, a few
rounds each, and prints the medians. Nothing of a running system is touched.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections.abc import Callable
from datetime import date

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from services.kit import config, provision
from services.reporting import books, detail, rollup, summary
from services.reporting.scope import Scope

CHAIN = "00000000-0000-4000-8000-00000000c0de"
STORES = [f"00000000-0000-4000-8000-0000000005{i:02d}" for i in range(10)]
YEAR = 2025
SEED = """
INSERT INTO reporting.chains (chain_id, time_zone) VALUES (:chain, 'Asia/Shanghai');
INSERT INTO reporting.stores (store_id, chain_id, code, name, status)
  SELECT s, :chain, 'S' || i, '门店 ' || i, 'active' FROM unnest(CAST(:stores AS text[])) WITH ORDINALITY AS t(s, i);
INSERT INTO reporting.members (member_id, chain_id, member_no, name, home_store_id, enrolled_at)
  SELECT md5('m' || i)::uuid::text, :chain, 'M' || i, '会员 ' || i, (CAST(:stores AS text[]))[1 + i % 10],
         make_timestamptz(:year, 1, 1, 0, 0, 0, 'Asia/Shanghai') FROM generate_series(0, :members - 1) i;
INSERT INTO reporting.member_tiers (member_id, chain_id, tier_code)
  SELECT md5('m' || i)::uuid::text, :chain, CASE WHEN i % 5 = 0 THEN 'GOLD' ELSE 'SILVER' END
  FROM generate_series(0, :members - 1) i;
INSERT INTO reporting.money_facts (tx_id, chain_id, kind, occurred_at, store_id, operator_id, member_id, card_no,
    tier_code, serving_employee_id, gross, discount, amount, paid_cash, paid_bonus)
  SELECT md5('c' || i)::uuid::text, :chain, 'consume',
         make_timestamptz(:year, 1, 1, 8, 0, 0, 'Asia/Shanghai') + (i * :step * interval '1 second'),
         (CAST(:stores AS text[]))[1 + i % 10], md5('op' || i % 50)::uuid::text, md5('m' || i % :members)::uuid::text,
         '0000' || i, 'SILVER', md5('op' || i % 50)::uuid::text, 12000, 1200, 10800, 10000, 800
  FROM generate_series(0, :consumes - 1) i;
INSERT INTO reporting.fact_lines (tx_id, line_no, chain_id, item_code, name, category, quantity, unit_price, gross,
    discount, net)
  SELECT md5('c' || i)::uuid::text, 1, :chain, 'WASH', '洗车', 'wash', 1, 12000, 12000, 1200, 10800
  FROM generate_series(0, :consumes - 1) i;
INSERT INTO reporting.lot_moves (tx_id, kind, lot_store_id, chain_id, store_id, amount, occurred_at)
  SELECT md5('c' || i)::uuid::text, 'cash', (CAST(:stores AS text[]))[1 + (i / 7) % 10], :chain,
         (CAST(:stores AS text[]))[1 + i % 10], -10000,
         make_timestamptz(:year, 1, 1, 8, 0, 0, 'Asia/Shanghai') + (i * :step * interval '1 second')
  FROM generate_series(0, :consumes - 1) i;
INSERT INTO reporting.money_facts (tx_id, chain_id, kind, occurred_at, store_id, operator_id, member_id, ref_tx_id,
    amount, paid_cash)
  SELECT md5('r' || i)::uuid::text, :chain, 'refund',
         make_timestamptz(:year, 1, 1, 9, 0, 0, 'Asia/Shanghai') + (i * :step * interval '1 second'),
         (CAST(:stores AS text[]))[1 + i % 10], md5('op' || i % 50)::uuid::text, md5('m' || i % :members)::uuid::text,
         md5('c' || i)::uuid::text, 10800, 10800
  FROM generate_series(0, :consumes - 1, 50) i;
INSERT INTO reporting.money_facts (tx_id, chain_id, kind, occurred_at, store_id, operator_id, member_id, amount, bonus,
    paid_external, payment_method)
  SELECT md5('t' || i)::uuid::text, :chain, 'recharge',
         make_timestamptz(:year, 1, 1, 7, 0, 0, 'Asia/Shanghai') + (i * :step * interval '1 second'),
         (CAST(:stores AS text[]))[1 + (i / 7) % 10], md5('op' || i % 50)::uuid::text,
         md5('m' || i % :members)::uuid::text, 100000, 5000, 100000, 'cash'
  FROM generate_series(0, :consumes - 1, 10) i;
INSERT INTO reporting.lot_moves (tx_id, kind, lot_store_id, chain_id, store_id, amount, occurred_at)
  SELECT md5('t' || i)::uuid::text, 'cash', (CAST(:stores AS text[]))[1 + (i / 7) % 10], :chain,
         (CAST(:stores AS text[]))[1 + (i / 7) % 10], 100000,
         make_timestamptz(:year, 1, 1, 7, 0, 0, 'Asia/Shanghai') + (i * :step * interval '1 second')
  FROM generate_series(0, :consumes - 1, 10) i;
ANALYZE reporting.money_facts; ANALYZE reporting.lot_moves; ANALYZE reporting.fact_lines;
"""


def seed(session: Session, consumes: int, members: int) -> None:
    # spread evenly over the year
    step = 365 * 86400 / consumes
    params = {"chain": CHAIN, "stores": STORES, "year": YEAR, "consumes": consumes, "members": members, "step": step}
    with session.begin():
        session.execute(text("SET LOCAL statement_timeout = 0"))  # the role's 30 s is for serving, not seeding
        for statement in filter(str.strip, SEED.split(";\n")):
            session.execute(text(statement), params)
        # the daily totals that applying each fact would have kept, counted at once
        rollup.regroup(session, CHAIN, "Asia/Shanghai")
        session.execute(text("ANALYZE reporting.daily_totals"))


def timed(run: Callable[[], object], rounds: int) -> float:
    seconds = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def cases(session: Session) -> dict[str, Callable[[], object]]:
    month = {"since": date(YEAR, 6, 1), "until": date(YEAR, 6, 30), "group": "day", "store_id": STORES[3]}
    # as HQ sees them: one store asked for, or the whole chain
    store, chain = Scope((STORES[3],), None), Scope(None, None)
    ranked = {**month, "tier_code": None, "limit": 20}
    year = {"since": date(YEAR, 1, 1), "until": date(YEAR, 12, 31), "group": "month", "store_id": None}
    return {
        "R-3 store summary, one store, a month by day": lambda: summary.store_summary(session, CHAIN, month, store),
        "R-1 consumption detail, one store, a month (first 200)": lambda: detail.consumptions(
            session, CHAIN, {**month, "tier_code": None}, store, 200, None
        ),
        "R-2 recharge detail, one store, a month (first 200)": lambda: detail.recharges(
            session, CHAIN, {**month, "tier_code": None}, store, 200, None
        ),
        "R-2 per member, one store, a month (first 200)": lambda: detail.member_totals(
            session, CHAIN, {**month, "tier_code": None}, store, 200, None
        ),
        "R-4 member statistics, one store, a month": lambda: summary.member_stats(
            session, CHAIN, {**month, "tier_code": None}, store
        ),
        "R-5 rankings, one store, a month": lambda: summary.rankings(session, CHAIN, ranked, store),
        "R-7 employees, one store, a month": lambda: summary.employees(
            session, CHAIN, {**month, "operator_id": None}, store
        ),
        "R-8 settlement, one store, a month": lambda: books.settlement(session, CHAIN, month, store),
        "R-8 liability, one store, at the month's end": lambda: books.liability(
            session, CHAIN, date(YEAR, 6, 30), store
        ),
        "R-3 chain monthly store summary, one month": lambda: summary.store_summary(
            session, CHAIN, {**month, "group": "month", "store_id": None}, chain
        ),
        "R-3 chain monthly store summary, the whole year": lambda: summary.store_summary(session, CHAIN, year, chain),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consumes", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--db", default="huiyuan_reports_perf")
    parser.add_argument("--reuse", action="store_true", help="time the database a previous run seeded")
    args = parser.parse_args(argv)
    settings = dataclasses.replace(config.load(), db_name=args.db)
    if not args.reuse:
        provision.ensure_database(settings, recreate=True)
        provision.ensure_roles_and_schemas(settings, ("reporting",))
        provision.migrate(settings, ("reporting",))
    engine = create_engine(settings.database_url("reporting"))
    with Session(engine) as session:
        if not args.reuse:
            started = time.perf_counter()
            seed(session, args.consumes, args.members)
            print(f"seeded {args.consumes:,} consumes in {time.perf_counter() - started:.0f} s")
        for name, run in cases(session).items():
            print(f"{timed(run, args.rounds) * 1000:8.0f} ms  {name}")
            session.rollback()
    engine.dispose()


if __name__ == "__main__":
    main()
