"""The `wallet` service: stored value, packages, credit, refunds, fees (W-1..W-12).

Entrypoints only: each validates its payload against `contracts.wallet`,
learns the card (status, tier, member) from the member service before any
database transaction opens, and hands over to a domain module. Every mutation
runs once per idempotency key, in one transaction with its ledger postings
and outbox events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select

from contracts import member as member_contracts  # CardContext; also registers member's events
from contracts import org as org_contracts  # noqa: F401 - registers org's events for the handlers
from contracts import wallet as c
from contracts.auth import HQ, Actor
from contracts.base import load
from contracts.errors import Forbidden, ServiceTimeout, ServiceUnavailable, ValidationFailed
from contracts.events import Event
from services.kit.config import SettingsDependency
from services.kit.copies import keep_newest
from services.kit.db import Database
from services.kit.handlers import handles
from services.kit.health import HealthCheck
from services.kit.history import History
from services.kit.logs import CorrelationId
from services.kit.mutation import Work, mutation
from services.kit.outbox import Outbox
from services.kit.rpc import ServiceRpc, rpc
from services.kit.stores import require_open, require_open_store, require_payment_method
from services.wallet import (
    cards,
    common,
    consume,
    credit,
    fees,
    ledger,
    packages,
    receipts,
    recharge,
    references,
    refunds,
    returns,
    statement,
)
from services.wallet.models import ChainClock, DictionaryEntry, StaffState, StoreState, kit


@dataclass(frozen=True)
class ReadAhead:
    """What a money operation's checks need of the wallet's own copies, read in one statement
    with the look-up of an earlier answer (`EarlyReads`): the request, what is known of its
    store, staff and codes, and the card."""

    contract: type

    def queries(self, service: WalletService, actor: Actor, chain_id: str, data: dict) -> tuple[dict, tuple, dict]:
        payload = load(self.contract, data)
        shape, params = references.wanted(chain_id, payload)
        store_id, card_no = payload.get("store_id"), payload.get("card_no")
        card_number = cards.number(card_no) if isinstance(card_no, str) else None
        params.update(store_id=store_id, card_number=card_number)
        return payload, (shape, store_id is not None, card_number is not None), params

    def build(self, shape: tuple) -> dict:
        (with_staff, with_codes), with_store, with_card = shape
        wanted = dict(references.queries(with_staff, with_codes))
        if with_store:
            stores = StoreState.__table__  # Core, not the ORM: no ORM compile step on the hot path
            wanted["store"] = (
                select(stores.c.status)
                .where(stores.c.chain_id == bindparam("the_chain"), stores.c.store_id == bindparam("store_id"))
                .scalar_subquery()
            )
        if with_card:
            wanted["card"] = cards.kept()
        return wanted

    def seen(self, service: WalletService, actor: Actor, payload: dict, values: dict) -> tuple:
        return payload, values.get("store"), references.known(values), values.get("card")


def _refund_ahead(service: WalletService, actor: Actor, chain_id: str, data: dict) -> tuple:
    """The refund's request, the card its consume was paid with, what is known of the store."""
    payload = load(c.RefundRequest, data)
    common.require_staff(actor, chain_id)
    card_id = refunds.card_of(service.db, chain_id, payload["transaction_id"])
    return payload, card_id, service._store_status(chain_id, payload["store_id"])


class WalletService(HealthCheck, History):
    name = "wallet"

    db = Database()
    events = Outbox(kit.outbox)
    correlation_id = CorrelationId()
    settings = SettingsDependency()
    member = ServiceRpc("member")
    org = ServiceRpc("org")
    kit_tables = kit

    # ---- plumbing -------------------------------------------------------------

    def _card(self, actor: Actor, chain_id: str, card_no: str, kept: dict | None = None) -> dict:
        """The card as the member service last told us (`kept`, read with the operation's
        other copies), or, for a card not seen or no longer held valid, as member says now:
        asked before our transaction opens, so no database lock waits on another service."""
        actor.require_chain(chain_id)
        if kept is not None:
            return kept
        card = load(member_contracts.CardContext, self.member.resolve_card(chain_id, card_no))
        with self.db.begin():
            cards.keep(self.db, card)
        return card

    def _kept_card(self, actor: Actor, chain_id: str, card_no: str) -> dict:
        """A read's card: the copy if one is valid, else member's answer."""
        actor.require_chain(chain_id)
        with self.db.begin():
            kept = cards.read(self.db, chain_id, card_no)
        return self._card(actor, chain_id, card_no, kept)

    def _store_status(self, chain_id: str, store_id: str | None) -> str | None:
        """What the wallet knows of the store (None: not seen yet); inside a transaction."""
        if store_id is None:
            return None
        return self.db.scalar(
            select(StoreState.status).where(StoreState.chain_id == chain_id, StoreState.store_id == store_id)
        )

    def _store(self, actor: Actor, chain_id: str, store_id: str | None, status: str | None) -> None:
        # a store outside the caller's scope is refused by the domain, with its reason
        if store_id is None or not actor.can_access_store(chain_id, store_id):
            return
        if status is None:  # not seen yet (its event may still be on the way): org knows
            require_open_store(self.org, actor, chain_id, store_id)
        else:
            require_open(status)

    def _payment_methods(self, actor: Actor, chain_id: str, payload: dict) -> None:
        for field in ("payment_method", "external_payment_method"):
            code = payload.get(field)
            # "card" is the member's own balance, not money at the counter
            if code is not None and code != c.CARD:
                require_payment_method(self.org, actor, chain_id, code, field)

    def _card_by_id(self, chain_id: str, card_id: str) -> dict:
        return load(member_contracts.CardContext, self.member.resolve_card_by_id(chain_id, card_id))

    def _money(self, domain: Callable, actor: Actor, chain_id: str, key: str) -> Work:
        """The checks of a money operation on a card (the card as member knows it now, the store
        open, the payment methods the chain's), then the operation itself, to run once."""
        payload, status, known, kept = self.mutation.early
        card = self._card(actor, chain_id, payload["card_no"], kept)
        self._store(actor, chain_id, payload.get("store_id"), status)
        self._payment_methods(actor, chain_id, payload)
        if actor.can_enter_chain(chain_id):  # another chain's caller is refused by the domain, as "not found"
            references.require(self.org, actor, chain_id, payload, known)
        return lambda: domain(self.db, self.events, actor, chain_id, card, payload, key)

    @rpc
    def ping(self) -> str:
        return "pong"

    # ---- money in (W-3) ----------------------------------------------------------

    @rpc
    @mutation(early=ReadAhead(c.RechargeRequest))
    def recharge(self, actor: Actor, chain_id: str, data: dict, idempotency_key: str) -> Work:
        return self._money(recharge.recharge, actor, chain_id, idempotency_key)

    @rpc
    @mutation(early=ReadAhead(c.BonusGrantRequest))
    def grant_bonus(self, actor: Actor, chain_id: str, data: dict, idempotency_key: str) -> Work:
        return self._money(recharge.grant_bonus, actor, chain_id, idempotency_key)

    # ---- money out (W-4, W-5, W-6, W-7) ---------------------------------------------

    @rpc
    @mutation(early=ReadAhead(c.ConsumeRequest))
    def consume(self, actor: Actor, chain_id: str, data: dict, idempotency_key: str) -> Work:
        return self._money(consume.consume, actor, chain_id, idempotency_key)

    @rpc
    @mutation(early=ReadAhead(c.PackageSaleRequest))
    def sell_package(self, actor: Actor, chain_id: str, data: dict, idempotency_key: str) -> Work:
        return self._money(packages.sell, actor, chain_id, idempotency_key)

    @rpc
    @mutation(early=ReadAhead(c.PackageRefundRequest))
    def refund_package(self, actor: Actor, chain_id: str, data: dict, idempotency_key: str) -> Work:
        return self._money(packages.refund_unused, actor, chain_id, idempotency_key)

    @rpc
    @mutation(early=_refund_ahead)
    def refund(self, actor: Actor, chain_id: str, data: dict, idempotency_key: str) -> Work:
        payload, card_id, status = self.mutation.early
        card = self._card_by_id(chain_id, card_id)
        self._store(actor, chain_id, payload["store_id"], status)
        self._payment_methods(actor, chain_id, payload)
        return lambda: refunds.refund(self.db, self.events, actor, chain_id, card, payload, idempotency_key)

    @rpc
    @mutation(early=ReadAhead(c.CardReturnRequest))
    def return_card(self, actor: Actor, chain_id: str, data: dict, idempotency_key: str) -> Work:
        return self._money(returns.return_card, actor, chain_id, idempotency_key)

    # ---- credit -------------------------------------------------------------------------

    @rpc
    @mutation(early=ReadAhead(c.CreditLimitRequest))
    def set_credit_limit(self, actor: Actor, chain_id: str, data: dict, idempotency_key: str) -> Work:
        return self._money(credit.set_limit, actor, chain_id, idempotency_key)

    @rpc
    @mutation(early=ReadAhead(c.CreditSettlementRequest))
    def settle_credit(self, actor: Actor, chain_id: str, data: dict, idempotency_key: str) -> Work:
        return self._money(credit.settle, actor, chain_id, idempotency_key)

    # ---- reads (W-10, W-11, R-8) -------------------------------------------------------------

    def _member_card(self, actor: dict, chain_id: str, card_no: str) -> tuple[Actor, dict]:
        who = Actor.from_dict(actor)
        common.require_staff(who, chain_id)
        card = self._kept_card(who, chain_id, card_no)
        common.require_card(card, chain_id)
        return who, card

    @rpc
    def balances(self, actor: dict, chain_id: str, card_no: str) -> dict:
        _, card = self._member_card(actor, chain_id, card_no)
        return statement.balances(self.db, chain_id, card)

    @rpc
    def statement(self, actor: dict, chain_id: str, card_no: str, query: dict) -> dict:
        query = load(c.StatementQuery, query)
        _, card = self._member_card(actor, chain_id, card_no)
        return statement.statement(self.db, chain_id, card["member_id"], query)

    @rpc
    def list_packages(self, actor: dict, chain_id: str, card_no: str, query: dict) -> dict:
        query = load(c.EntitlementQuery, query)
        _, card = self._member_card(actor, chain_id, card_no)
        zone = common.time_zone(self.db, chain_id)
        return packages.listing(self.db, chain_id, card["member_id"], query["include_inactive"], zone)

    @rpc
    def get_transaction(self, actor: dict, chain_id: str, transaction_id: str) -> dict:
        return statement.transaction(self.db, Actor.from_dict(actor), chain_id, transaction_id)

    @rpc
    def receipt(self, actor: dict, chain_id: str, transaction_id: str, query: dict) -> str:
        """S-3: the printable receipt of a recharge, a consume or a refund (HTML for `format`)."""
        query = load(c.ReceiptQuery, query)
        who = Actor.from_dict(actor)
        with self.db.begin():  # closed before org is asked: no connection waits on another service
            reads = statement.receipt_reads(self.db, who, chain_id, transaction_id)
        return receipts.receipt(reads.record, self._receipt_facts(who, chain_id, reads), query["format"])

    def _receipt_facts(self, who: Actor, chain_id: str, reads: statement.ReceiptReads) -> receipts.Facts:
        """The names and footer as the wallet's copies hold them; org is asked only for what they
        do not hold yet (a copy kept before receipts needed it, or an event still on the way)."""
        chain_name, zone, footer = reads.chain_name, reads.time_zone, reads.footer
        if chain_name is None or zone is None or footer is None:
            chain = self.org.get_chain(who.to_dict(), chain_id)
            chain_name, zone, footer = (
                chain["name"],
                chain["settings"]["time_zone"],
                chain["settings"]["receipt_footer"],
            )
        store_id = reads.record["store_id"]
        store_name = reads.store_name
        if store_name is None and store_id is not None:
            store_name = self.org.get_store(who.to_dict(), chain_id, store_id)["name"]
        names = {staff_id: name for staff_id, name in reads.staff_names.items() if name is not None}
        unnamed = sorted(set(reads.staff_names) - set(names))
        if unnamed:
            names.update(self.org.staff_names(chain_id, unnamed))
        return receipts.Facts(
            chain_name=chain_name,
            store_name=store_name or "",
            time_zone=zone,
            footer=footer,
            staff_names=names,
            method_names=self._method_names(who, chain_id, reads.record["payment_method"]),
            original=reads.original,
        )

    def _method_names(self, who: Actor, chain_id: str, code: str | None) -> dict[str, str]:
        """The chain's names of its payment methods, retired ones too (a receipt reprinted after a
        method is retired still names it); none to ask for when the receipt names no method. With
        org away the receipt prints the code: a receipt at the counter beats a 503."""
        if not code:
            return {}
        try:
            methods = self.org.list_dictionary(who.to_dict(), chain_id, "payment_methods", {"include_inactive": "true"})
        except (ServiceUnavailable, ServiceTimeout):
            return {}
        return {m["code"]: m["name"] for m in methods["items"]}

    def _hq(self, actor: dict, chain_id: str) -> Actor:
        who = Actor.from_dict(actor)
        who.require_chain(chain_id)
        if who.role not in HQ:
            raise Forbidden("Only HQ sees the chain's stored-value books.")
        return who

    @rpc
    def liability(self, actor: dict, chain_id: str, query: dict) -> dict:
        query = load(c.LiabilityQuery, query)
        self._hq(actor, chain_id)
        return statement.liability(self.db, chain_id, query["as_of"], common.time_zone(self.db, chain_id))

    @rpc
    def settlement(self, actor: dict, chain_id: str, query: dict) -> dict:
        query = load(c.SettlementQuery, query)
        self._hq(actor, chain_id)
        zone = common.time_zone(self.db, chain_id)
        return statement.settlement(self.db, chain_id, query["since"], query["until"], zone)

    # ---- cards (non-negotiable 12) --------------------------------------------------------------

    @rpc
    def keep_card(self, chain_id: str, context: dict) -> None:
        """Member tells us a card changed (before its API answers): keep the card as it is now."""
        card = load(member_contracts.CardContext, context)
        if card["chain_id"] != chain_id:
            raise ValidationFailed(fields={"chain_id": ["Not the card's chain."]})
        with self.db.begin():
            cards.keep(self.db, card)

    @handles("member", "card_status_changed")
    def on_card_status_changed(self, event: Event) -> None:
        cards.forget_card(self.db, event.chain_id, event.data["card_no"])

    @handles("member", "tier_changed")
    def on_tier_changed(self, event: Event) -> None:
        cards.forget_card(self.db, event.chain_id, event.data["card_no"])

    @handles("member", "updated")
    def on_member_updated(self, event: Event) -> None:
        cards.forget_member(self.db, event.chain_id, event.data["member_id"])

    @handles("member", "tier_configuration_changed")
    def on_tier_configuration_changed(self, event: Event) -> None:
        cards.forget_tier(self.db, event.chain_id, event.data["tier"]["code"])

    # ---- events ---------------------------------------------------------------------------------

    def _keep_chain(self, event: Event, zone: str, **receipt: str | None) -> None:
        """The chain's zone, and the name and footer its receipts print (S-3)."""
        chain_id = event.data["chain_id"]
        self._keep_newest(ChainClock.__table__, "chain_id", event, chain_id=chain_id, time_zone=zone, **receipt)
        cards.forget_chain(self.db, chain_id)  # their day ends at another hour now

    def _keep_newest(self, table, key: str | tuple[str, ...], event: Event, **values) -> None:
        keep_newest(self.db, table, key, event, **values)

    @handles("member", "fee_charged")
    def on_fee_charged(self, event: Event) -> None:
        """W-12: a card fee paid at a counter is money received and fee revenue of that store."""
        fees.record(self.db, self.events, event.data)

    @handles("member", "card_issued")
    def on_card_issued(self, event: Event) -> None:
        ledger.reopen_wallet(
            self.db, event.chain_id, event.data["member_id"], datetime.fromisoformat(event.occurred_at)
        )

    @handles("org", "store_changed")
    def on_store_changed(self, event: Event) -> None:
        data = event.data
        self._keep_newest(
            StoreState.__table__,
            "store_id",
            event,
            store_id=data["store_id"],
            chain_id=data["chain_id"],
            status=data["status"],
            name=data["name"],
        )

    @handles("org", "staff_changed")
    def on_staff_changed(self, event: Event) -> None:
        data = event.data
        self._keep_newest(
            StaffState.__table__,
            "staff_id",
            event,
            staff_id=data["staff_id"],
            chain_id=data["chain_id"],
            status=data["status"],
            display_name=data["display_name"],
        )

    @handles("org", "dictionary_changed")
    def on_dictionary_changed(self, event: Event) -> None:
        data = event.data
        if data["dictionary"] not in {dictionary for _, dictionary in references.LINE_CODES}:
            return  # payment methods are asked of org, with their list for the refusal
        self._keep_newest(
            DictionaryEntry.__table__,
            ("chain_id", "dictionary", "code"),
            event,
            chain_id=event.chain_id,
            dictionary=data["dictionary"],
            code=data["code"],
            active=bool(data["entry"].get("active", True)),
        )

    @handles("org", "chain_created")
    def on_chain_created(self, event: Event) -> None:
        data = event.data
        receipt = {"name": data["name"]}
        if "receipt_footer" in data:  # older events lack it: the next chain_changed brings it
            receipt["receipt_footer"] = data["receipt_footer"]
        self._keep_chain(event, data["time_zone"], **receipt)

    @handles("org", "chain_changed")
    def on_chain_changed(self, event: Event) -> None:
        data = event.data
        zone = data["settings"].get("time_zone")
        if zone:
            self._keep_chain(event, zone, name=data["name"], receipt_footer=data["settings"].get("receipt_footer"))


SERVICE = WalletService
