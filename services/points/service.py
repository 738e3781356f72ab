"""The `points` service: earning rules and promotions, a points ledger in lots, expiry and
the yearly reset, referral, redemption (P-1..P-7).

Entrypoints only: each validates its payload against `contracts.points`, learns the card
from the member service and the store from org before any transaction opens, and hands
over to a domain module. Points are earned from the wallet's events; every mutation runs
once per idempotency key, in one transaction with its ledger postings and outbox events.
"""

from __future__ import annotations

import logging

from nameko.timer import timer

from contracts import member as member_contracts
from contracts import org as org_contracts  # noqa: F401 - registers org's events for the handlers
from contracts import points as c
from contracts import wallet as wallet_contracts  # noqa: F401 - registers the wallet's events
from contracts.auth import CHAIN_STAFF, HQ, HQ_ADMIN, PLATFORM_ADMIN, STORE_MANAGER, Actor
from contracts.base import load
from contracts.errors import CardNotActive, Forbidden, NotFound, ValidationFailed
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
from services.kit.stores import require_open_store
from services.points import earning, jobs, settings, staff, views
from services.points.models import ChainClock, MemberTotals, Rules, kit

log = logging.getLogger(__name__)
JOB_SECONDS = 60  # expiry and reminders: a minute late is on time for a day-granular rule
GRANTERS = (PLATFORM_ADMIN, HQ_ADMIN, STORE_MANAGER)  # who gives or corrects points by hand


class PointsService(HealthCheck, History):
    name = "points"

    db = Database()
    events = Outbox(kit.outbox)
    correlation_id = CorrelationId()
    settings = SettingsDependency()
    member = ServiceRpc("member")
    org = ServiceRpc("org")
    kit_tables = kit

    # ---- plumbing -------------------------------------------------------------

    def _staff(self, actor: Actor, chain_id: str, roles: tuple[str, ...] = CHAIN_STAFF) -> None:
        actor.require_chain(chain_id)
        if not actor.is_platform_admin:
            actor.require_role(*roles)

    def _card(self, actor: Actor, chain_id: str, card_no: str, *, active: bool = True) -> dict:
        """The card as the member service knows it now (any staff of the chain may act on any
        of its cards, O-7); asked before our transaction opens."""
        card = load(member_contracts.CardContext, self.member.resolve_card(chain_id, card_no))
        if card["chain_id"] != chain_id:
            raise NotFound("No such card.", {"card_no": ["No such card in this chain."]})
        if active and card["status"] != "active":
            raise CardNotActive(f"The card is {card['status']}.", {"card_no": [f"The card is {card['status']}."]})
        return card

    def _store(self, actor: Actor, chain_id: str, store_id: str) -> None:
        if not actor.can_access_store(chain_id, store_id):
            raise Forbidden("You can only act at your own store.", {"store_id": ["Not one of your stores."]})
        require_open_store(self.org, actor, chain_id, store_id)

    def _at_counter(self, actor: Actor, chain_id: str, payload: dict, roles: tuple[str, ...], active: bool) -> dict:
        self._staff(actor, chain_id, roles)
        card = self._card(actor, chain_id, payload["card_no"], active=active)
        self._store(actor, chain_id, payload["store_id"])
        return card

    def _hq(self, actor: Actor, chain_id: str) -> None:
        self._staff(actor, chain_id, HQ)
        if actor.is_platform_admin:
            self.org.get_chain(actor.to_dict(), chain_id)  # only a real chain gets rules

    @rpc
    def ping(self) -> str:
        return "pong"

    # ---- earning rules and promotions (P-2, P-4, P-5) --------------------------------------

    @rpc
    def get_rules(self, actor: dict, chain_id: str) -> dict:
        self._staff(Actor.from_dict(actor), chain_id)
        with self.db.begin():
            return settings.get_rules(self.db, chain_id)

    @rpc
    @mutation
    def set_rules(self, actor: Actor, chain_id: str, data: dict, idempotency_key: str) -> Work:
        payload = load(c.EarningRules, data)
        self._hq(actor, chain_id)
        return lambda: settings.set_rules(self.db, chain_id, payload)

    def _promotion_refs(self, actor: Actor, chain_id: str, payload: dict) -> None:
        """A promotion names stores, categories and items of the chain, or it could never apply."""
        for store_id in payload["store_ids"]:
            require_open_store(self.org, actor, chain_id, store_id, "store_ids")
        for field, dictionary in (("categories", "categories"), ("item_codes", "items")):
            if not payload[field]:
                continue
            known = {e["code"] for e in self.org.list_dictionary(actor.to_dict(), chain_id, dictionary, {})["items"]}
            unknown = sorted(set(payload[field]) - known)
            if unknown:
                raise ValidationFailed(fields={field: [f"Not in the chain's {dictionary}: {', '.join(unknown)}."]})

    @rpc
    @mutation
    def create_promotion(self, actor: Actor, chain_id: str, data: dict, idempotency_key: str) -> Work:
        payload = load(c.PromotionCreate, data)
        self._hq(actor, chain_id)
        self._promotion_refs(actor, chain_id, payload)
        return lambda: settings.create_promotion(self.db, chain_id, payload)

    @rpc
    def update_promotion(self, actor: dict, chain_id: str, promotion_id: str, data: dict) -> dict:
        payload = load(c.PromotionUpdate, data)
        self._hq(Actor.from_dict(actor), chain_id)
        with self.db.begin():
            return settings.update_promotion(self.db, chain_id, promotion_id, payload)

    @rpc
    def list_promotions(self, actor: dict, chain_id: str, query: dict) -> dict:
        query = load(c.PromotionQuery, query)
        self._staff(Actor.from_dict(actor), chain_id)
        with self.db.begin():
            return settings.list_promotions(self.db, chain_id, query["include_inactive"])

    # ---- points moved by people (P-3, P-6) ----------------------------------------------------

    @rpc
    @mutation
    def grant(self, actor: Actor, chain_id: str, data: dict, idempotency_key: str) -> Work:
        payload = load(c.GrantRequest, data)
        # an adjustment corrects the books whatever the card's state; gifts go to active cards
        card = self._at_counter(actor, chain_id, payload, GRANTERS, active=payload["kind"] != "adjust")
        return lambda: staff.grant(self.db, self.events, actor, chain_id, card, payload, idempotency_key)

    @rpc
    @mutation
    def cash_points(self, actor: Actor, chain_id: str, data: dict, idempotency_key: str) -> Work:
        payload = load(c.CashPointsRequest, data)
        card = self._at_counter(actor, chain_id, payload, CHAIN_STAFF, active=True)
        return lambda: staff.cash_points(self.db, self.events, actor, chain_id, card, payload, idempotency_key)

    @rpc
    @mutation
    def redeem(self, actor: Actor, chain_id: str, data: dict, idempotency_key: str) -> Work:
        """For the gift service and the counter: take points, oldest first, or refuse (P-6)."""
        payload = load(c.RedeemRequest, data)
        card = self._at_counter(actor, chain_id, payload, CHAIN_STAFF, active=True)
        return lambda: staff.redeem(self.db, self.events, actor, chain_id, card, payload, idempotency_key)

    @rpc
    @mutation
    def cancel_redemption(
        self, actor: Actor, chain_id: str, redemption_id: str, data: dict, idempotency_key: str
    ) -> Work:
        payload = load(c.CancelRedemptionRequest, data)
        self._staff(actor, chain_id)
        self._store(actor, chain_id, payload["store_id"])
        return lambda: staff.cancel_redemption(self.db, self.events, actor, chain_id, redemption_id, payload)

    # ---- reads --------------------------------------------------------------------------------

    def _read_card(self, actor: dict, chain_id: str, card_no: str) -> dict:
        who = Actor.from_dict(actor)
        self._staff(who, chain_id)
        return self._card(who, chain_id, card_no, active=False)

    @rpc
    def balance(self, actor: dict, chain_id: str, card_no: str) -> dict:
        card = self._read_card(actor, chain_id, card_no)
        with self.db.begin():
            return views.balance(self.db, chain_id, card)

    @rpc
    def card_history(self, actor: dict, chain_id: str, card_no: str, query: dict) -> dict:
        """A card's points history (P-3); `history` is the service's events (the kit's)."""
        query = load(c.HistoryQuery, query)
        card = self._read_card(actor, chain_id, card_no)
        with self.db.begin():
            return views.history(self.db, chain_id, card["member_id"], query)

    @rpc
    def referrals(self, actor: dict, chain_id: str, card_no: str) -> dict:
        card = self._read_card(actor, chain_id, card_no)
        with self.db.begin():
            return views.referrals(self.db, chain_id, card)

    @rpc
    def expiring_members(self, chain_id: str, within_days: int) -> list:
        """For the notification service's segment (N-4): members with points going within the
        days, from the same lots and reset date as the reminders."""
        query = load(c.ExpiringMembersRequest, {"chain_id": chain_id, "within_days": within_days})
        with self.db.begin():
            return jobs.expiring_members(self.db, query["chain_id"], query["within_days"])

    # ---- the scheduled job (P-5) -------------------------------------------------------------------

    @timer(interval=JOB_SECONDS)
    def expire_and_remind(self) -> None:
        counts = jobs.run(self.db, self.events)
        if any(counts.values()):
            log.info("points job: %s", counts)

    # ---- events ---------------------------------------------------------------------------------

    # an earn is about a dozen statements, one after another: one lane kept up with some 20
    # consumes a second here, and a busy chain's points fell behind by seconds (issue 11)
    @handles("wallet", "consumed", lanes=4)
    def on_consumed(self, event: Event) -> None:
        earning.on_consumed(self.db, self.events, event.data, event.occurred_at)

    @handles("wallet", "refunded")
    def on_refunded(self, event: Event) -> None:
        earning.on_refunded(self.db, self.events, event.data)

    def _member_facts(self, event: Event) -> None:
        """P-4: who referred whom, newest facts winning; a referral made after the first consume
        pays at once."""
        data = event.data
        referrer = data["referrer_id"] if data["referrer_id"] != data["member_id"] else None
        keep_newest(
            self.db,
            MemberTotals.__table__,
            ("chain_id", "member_id"),
            event,
            chain_id=event.chain_id,
            member_id=data["member_id"],
            referrer_id=referrer,
        )
        earning.reward_referrer(
            self.db, self.events, event.chain_id, data["member_id"], self.db.get(Rules, event.chain_id)
        )

    @handles("member", "enrolled")
    def on_enrolled(self, event: Event) -> None:
        self._member_facts(event)

    @handles("member", "updated")
    def on_member_updated(self, event: Event) -> None:
        self._member_facts(event)

    def _keep_time_zone(self, event: Event, zone: str | None) -> None:
        if zone:
            keep_newest(
                self.db, ChainClock.__table__, "chain_id", event, chain_id=event.data["chain_id"], time_zone=zone
            )

    @handles("org", "chain_created")
    def on_chain_created(self, event: Event) -> None:
        self._keep_time_zone(event, event.data["time_zone"])

    @handles("org", "chain_changed")
    def on_chain_changed(self, event: Event) -> None:
        self._keep_time_zone(event, event.data["settings"].get("time_zone"))


SERVICE = PointsService
