"""The shape every money operation on a member's wallet takes, written once.

    op = MoneyOperation.begin(session, events, actor, chain_id, card, key, store_id=...)
    ... rules: what is due, what is paid from where (pure modules: pricing, limits) ...
    op.record("consume", amount=..., paid_cash=...)      # the transaction row
    op.book({MEMBER_CASH: -cash}, {(STORE_REVENUE, store, None): due})
    ... lots, packages ...
    return op.finish("consumed", event_fields, answer_fields)

The lock order, the same for every operation so that none can deadlock another:

1. the member's accounts, FOR UPDATE in id order (`begin`), before anything is
   computed from their balances; concurrent operations on one member queue here;
2. the transaction row, its clock read after that lock (`record`), so the
   order of transactions is the order balances moved in;
3. the store's accounts, locked in id order by the UPDATE of their balances, last
   (`finish`, after the postings, lots and outbox rows are written), held briefly to
   commit: a busy store's counters queue only on its own books, and only for that long.

`finish` stamps the balances after the operation on the transaction (W-10),
writes the event in the same database transaction (the outbox), with the
transaction's own time as the event's time, and returns the answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from contracts.auth import Actor
from contracts.base import Contract, dump
from services.kit.outbox import OutboxWriter
from services.wallet import common, ledger, lots
from services.wallet.ledger import MemberAccounts, StoreKey
from services.wallet.models import Transaction


@dataclass
class MoneyOperation:
    session: Session
    events: OutboxWriter
    actor: Actor
    chain_id: str
    card: dict
    key: str | None
    member: MemberAccounts
    store_id: str | None
    tx: Transaction | None = field(default=None)
    later: dict[int, int] = field(default_factory=dict)  # balances of accounts not yet locked

    @classmethod
    def begin(
        cls,
        session: Session,
        events: OutboxWriter,
        actor: Actor,
        chain_id: str,
        card: dict,
        key: str | None,
        *,
        store_id: str,
        roles: tuple[str, ...] = common.STAFF,
        card_statuses: tuple[str, ...] | None = ("active",),
        member_id: str | None = None,
    ) -> MoneyOperation:
        """Check who, where and which card, then lock the member's accounts (step 1).
        `card_statuses`: those the card may have (M-3: active, for money in or out); empty: the
        card must be the chain's, in any status; None: not checked (a refund finds its consume's)."""
        common.require_store(actor, chain_id, store_id, roles)
        if card_statuses is not None:
            common.require_card(card, chain_id)
            if card_statuses:
                common.require_status(card, card_statuses)
        member = ledger.lock_member(session, chain_id, member_id or card["member_id"])
        member.require_open()
        return cls(session, events, actor, chain_id, card, key, member, store_id)

    def record(self, kind: str, **figures: object) -> Transaction:
        """The transaction row (step 2)."""
        figures.setdefault("store_id", self.store_id)
        self.tx = common.new_tx(self.session, kind, self.chain_id, self.actor, card=self.card, key=self.key, **figures)
        return self.tx

    def book(
        self,
        member_legs: dict[str, int],
        store_legs: dict[StoreKey, int] | None = None,
        other_legs: Iterable[tuple[int, int]] = (),
        *,
        spend: int | None = None,
    ) -> int | None:
        """Post the transaction (step 3): legs on the member's accounts by kind, on the
        store's books by key (opened on first use), and any already resolved; they must
        net to zero. `spend`: the change of the member's cumulative spend (M-7), written in
        the same statement; returns the new total."""
        store_legs = {k: v for k, v in (store_legs or {}).items() if v}
        books = ledger.store_accounts(self.session, self.chain_id, store_legs)
        legs = [*other_legs]
        legs += [(self.member.ids[kind], amount) for kind, amount in member_legs.items()]
        legs += [(books[k], amount) for k, amount in store_legs.items()]
        merged = ledger.net_legs(legs)
        mine = set(self.member.ids.values())
        total = ledger.move_spend(self.member, spend) if spend is not None else None
        spent = self.member if spend is not None else None
        self.member.apply(ledger.post_member_now(self.session, self.tx.id, merged, mine, spent))
        for account_id, amount in merged.items():
            if account_id not in mine:  # step 3: the store's books move at `finish`
                self.later[account_id] = self.later.get(account_id, 0) + amount
        return total

    def finish(self, event_type: str, event: dict, answer: dict, contract: type[Contract]) -> dict:
        """Balances stamped, the event in the outbox, the store's books moved (their locks
        held from here to COMMIT only), the answer through its contract."""
        common.snapshot(self.tx, self.member)
        self.session.flush()
        self.events.add(
            self.session,
            event_type,
            {**common.event_base(self.tx, self.member), "lots": lots.changes_of(self.tx), **event},
            chain_id=self.chain_id,
            occurred_at=self.tx.created_at,
        )
        ledger.move_balances(self.session, self.later)
        self.later = {}
        return dump(contract, {**common.head(self.tx, self.card), **answer, "balances": self.member.balances()})

    def also(self, event_type: str, data: dict) -> None:
        """A further event of this operation (a package used by a consume)."""
        self.events.add(self.session, event_type, data, chain_id=self.chain_id, occurred_at=self.tx.created_at)
