"""The `gift` service: the chain's gift catalogue with its stock, redemption for points that
takes both or neither, its cancellation, the redemption record and receipts (G-1, G-2, S-3).

Entrypoints only. Catalogue changes are the kit's `@mutation` (once per key, one
transaction). A redemption and its cancellation are sagas (`saga.py`): the first step runs
under the caller's idempotency key, and the key's answer is settled with the saga, so a retry
with the key gets the final answer, or drives a saga still pending to its end.
"""

from __future__ import annotations

import logging
from typing import Any

from nameko.timer import timer

from contracts import gift as c
from contracts import member as member_contracts
from contracts import org as org_contracts  # noqa: F401 - registers org's events for the handlers
from contracts.auth import CHAIN_STAFF, HQ, HQ_ADMIN, PLATFORM_ADMIN, STORE_MANAGER, Actor
from contracts.base import load
from contracts.errors import CardNotActive, Forbidden, HuiyuanError, NotFound
from contracts.events import Event
from services.gift import catalogue, receipts, rules, saga, views
from services.gift.models import ChainCopy, Redemption, StoreCopy, kit
from services.kit import crypto
from services.kit.config import SettingsDependency
from services.kit.copies import keep_newest
from services.kit.db import Database
from services.kit.handlers import handles
from services.kit.health import HealthCheck
from services.kit.history import History
from services.kit.idempotency import NEW_KEY, KeyedRequest, check_key
from services.kit.logs import CorrelationId
from services.kit.mutation import Work, mutation
from services.kit.outbox import Outbox
from services.kit.rpc import ServiceRpc, rpc
from services.kit.stores import require_open_store

log = logging.getLogger(__name__)
RECOVERY_SECONDS = 5  # how soon a redemption left pending by an unknown outcome is asked about again
CANCELLERS = (PLATFORM_ADMIN, HQ_ADMIN, STORE_MANAGER)


class GiftService(HealthCheck, History):
    name = "gift"

    db = Database()
    events = Outbox(kit.outbox)
    correlation_id = CorrelationId()
    settings = SettingsDependency()
    member = ServiceRpc("member")
    org = ServiceRpc("org")
    points = ServiceRpc("points")
    kit_tables = kit

    # ---- plumbing -------------------------------------------------------------

    def _staff(self, actor: Actor, chain_id: str, roles: tuple[str, ...] = CHAIN_STAFF) -> None:
        actor.require_chain(chain_id)
        if not actor.is_platform_admin:
            actor.require_role(*roles)

    def _hq(self, actor: Actor, chain_id: str) -> None:
        self._staff(actor, chain_id, HQ)
        if actor.is_platform_admin:
            self.org.get_chain(actor.to_dict(), chain_id)  # only a real chain gets a catalogue

    def _keyed(self, operation: str, actor: Actor, chain_id: str, key: str, request: list) -> KeyedRequest:
        """As the kit's `@mutation` binds a key: the caller and every argument but the key."""
        return KeyedRequest(
            table=kit.idempotency,
            scope=chain_id,
            key=check_key(key),
            operation=f"gift.{operation}",
            request=[actor.staff_id, request],
            fingerprint_key=crypto.optional_key(self.settings.pii_index_key),
        )

    @rpc
    def ping(self) -> str:
        return "pong"

    # ---- catalogue (G-1) ---------------------------------------------------------

    @rpc
    @mutation
    def create_gift(self, actor: Actor, chain_id: str, data: dict, idempotency_key: str) -> Work:
        payload = load(c.GiftCreate, data)
        self._hq(actor, chain_id)
        self._stores_of(actor, chain_id, payload["store_ids"])
        return lambda: catalogue.create(self.db, chain_id, payload)

    def _stores_of(self, actor: Actor, chain_id: str, store_ids: list[str]) -> None:
        for store_id in store_ids:
            require_open_store(self.org, actor, chain_id, store_id, "store_ids")

    @rpc
    def update_gift(self, actor: dict, chain_id: str, gift_id: str, data: dict) -> dict:
        who = Actor.from_dict(actor)
        payload = load(c.GiftUpdate, data)
        self._hq(who, chain_id)
        self._stores_of(who, chain_id, payload.get("store_ids") or [])
        with self.db.begin():
            return catalogue.update(self.db, chain_id, gift_id, payload)

    @rpc
    def remove_gift(self, actor: dict, chain_id: str, gift_id: str) -> dict:
        self._hq(Actor.from_dict(actor), chain_id)
        with self.db.begin():
            return catalogue.remove(self.db, chain_id, gift_id)

    @rpc
    @mutation
    def change_stock(self, actor: Actor, chain_id: str, gift_id: str, data: dict, idempotency_key: str) -> Work:
        payload = load(c.StockChange, data)
        self._hq(actor, chain_id)
        if payload["store_id"] is not None:
            require_open_store(self.org, actor, chain_id, payload["store_id"])
        return lambda: catalogue.change_stock(self.db, self.events, chain_id, gift_id, payload)

    @rpc
    def get_gift(self, actor: dict, chain_id: str, gift_id: str) -> dict:
        self._staff(Actor.from_dict(actor), chain_id)
        with self.db.begin():
            gift = catalogue.get_gift(self.db, chain_id, gift_id)
            return catalogue.gift_view(self.db, gift)

    @rpc
    def list_gifts(self, actor: dict, chain_id: str, query: dict) -> dict:
        who = Actor.from_dict(actor)
        query = load(c.GiftQuery, query)
        self._staff(who, chain_id)
        if not who.sees_whole_chain:
            # staff see what a store of theirs offers now, never the back office's catalogue
            if query.get("store_id") is None and len(who.store_ids) == 1:
                query["store_id"] = who.store_ids[0]
            if query.get("store_id") is None or not who.can_access_store(chain_id, query["store_id"]):
                raise Forbidden("Name one of your stores.", {"store_id": ["Not one of your stores."]})
        with self.db.begin():
            zone = views.chain_zone(self.db, chain_id)
            today = rules.local_day(zone, saga.now(self.db))
            return catalogue.listing(self.db, chain_id, query, today)

    @rpc
    def get_settings(self, actor: dict, chain_id: str) -> dict:
        self._staff(Actor.from_dict(actor), chain_id)
        with self.db.begin():
            return catalogue.settings_view(self.db, chain_id)

    @rpc
    @mutation
    def set_settings(self, actor: Actor, chain_id: str, data: dict, idempotency_key: str) -> Work:
        payload = load(c.GiftSettings, data)
        self._hq(actor, chain_id)
        return lambda: catalogue.set_settings(self.db, chain_id, payload)

    # ---- redemption (G-2) -----------------------------------------------------------

    def _card(self, chain_id: str, card_no: str) -> dict:
        card = load(member_contracts.CardContext, self.member.resolve_card(chain_id, card_no))
        if card["chain_id"] != chain_id:
            raise NotFound("No such card.", {"card_no": ["No such card in this chain."]})
        if card["status"] != "active":
            raise CardNotActive(f"The card is {card['status']}.", {"card_no": [f"The card is {card['status']}."]})
        return card

    @rpc
    def redeem(self, actor: dict, chain_id: str, data: dict, idempotency_key: str) -> dict:
        """A redemption at the counter: completed, refused with the reason, or, when the points
        service's answer is not known yet, pending (the recovery job finishes it)."""
        who = Actor.from_dict(actor)
        keyed = self._keyed("redeem", who, chain_id, idempotency_key, [chain_id, data])

        def run() -> dict:
            with self.db.begin():
                first = keyed.prior(self.db)
            if first is NEW_KEY:
                payload = load(c.GiftRedeemRequest, data)
                self._staff(who, chain_id)
                if not who.can_access_store(chain_id, payload["store_id"]):
                    raise Forbidden("You can only act at your own store.", {"store_id": ["Not one of your stores."]})
                require_open_store(self.org, who, chain_id, payload["store_id"])
                card = self._card(chain_id, payload["card_no"])
                first = keyed.in_transaction(
                    self.db,
                    lambda: saga.reserve(
                        self.db,
                        self.events,
                        who,
                        chain_id,
                        keyed.key,
                        card,
                        payload,
                        views.chain_zone(self.db, chain_id),
                    ),
                )
            if first["status"] != "pending":
                return first
            return self._drive_redeem(chain_id, first["id"])

        return keyed.final_refusals(self.db, run)

    def _drive_redeem(self, chain_id: str, redemption_id: str) -> dict:
        with self.db.begin():
            r = saga.redemption_of(self.db, chain_id, redemption_id)
            request, actor = saga.redeem_request(r), r.actor
        outcome, answer = saga.ask(lambda: self.points.redeem(actor, chain_id, request, saga.points_key(redemption_id)))
        with self.db.begin():
            r = saga.settle_redeem(
                self.db, self.events, saga.redemption_of(self.db, chain_id, redemption_id, lock=True), outcome, answer
            )
            settled = saga.view(r)
        return _final(settled, answer if r.status == "refused" and outcome == saga.REFUSED else None)

    @rpc
    def cancel_redemption(
        self, actor: dict, chain_id: str, redemption_id: str, data: dict, idempotency_key: str
    ) -> dict:
        """A store manager (of the redemption's store) or HQ, within the chain's period: the
        points back and the stock back, both or neither."""
        who = Actor.from_dict(actor)
        keyed = self._keyed("cancel_redemption", who, chain_id, idempotency_key, [chain_id, redemption_id, data])

        def run() -> dict:
            with self.db.begin():
                first = keyed.prior(self.db)
            if first is NEW_KEY:
                payload = load(c.CancelRequest, data)
                self._staff(who, chain_id, CANCELLERS)

                def begin() -> dict:
                    hours = catalogue.settings_view(self.db, chain_id)["cancel_hours"]
                    return saga.begin_cancel(self.db, who, chain_id, redemption_id, payload, keyed.key, hours)

                first = keyed.in_transaction(self.db, begin)
            if first["status"] != "cancelling":
                return first
            return self._drive_cancel(chain_id, redemption_id)

        return keyed.final_refusals(self.db, run)

    def _drive_cancel(self, chain_id: str, redemption_id: str) -> dict:
        with self.db.begin():
            r = saga.redemption_of(self.db, chain_id, redemption_id)
            if r.status != "cancelling":
                return saga.view(r)
            request, actor, points_id = saga.cancel_request(r), r.cancel_actor, r.points_redemption_id
        outcome, answer = saga.ask(
            lambda: self.points.cancel_redemption(actor, chain_id, points_id, request, saga.cancel_key(redemption_id))
        )
        with self.db.begin():
            r = saga.settle_cancel(
                self.db, self.events, saga.redemption_of(self.db, chain_id, redemption_id, lock=True), outcome, answer
            )
            settled = saga.view(r)
        refused = outcome == saga.REFUSED and r.status == "completed"  # back from cancelling: points said no
        return _final(settled, answer if refused else None)

    # ---- the record and receipts (G-2, S-3) ------------------------------------------

    @rpc
    def list_redemptions(self, actor: dict, chain_id: str, query: dict) -> dict:
        who = Actor.from_dict(actor)
        query = load(c.RedemptionQuery, query)
        self._staff(who, chain_id)
        with self.db.begin():
            return views.search(self.db, who, chain_id, query)

    def _visible(self, actor: dict, chain_id: str, redemption_id: str) -> Redemption:
        who = Actor.from_dict(actor)
        self._staff(who, chain_id)
        r = saga.redemption_of(self.db, chain_id, redemption_id)
        if not who.can_access_store(chain_id, r.store_id):
            raise NotFound("No such redemption in your stores.", {"redemption_id": ["Not redeemed at your store."]})
        return r

    @rpc
    def get_redemption(self, actor: dict, chain_id: str, redemption_id: str) -> dict:
        with self.db.begin():
            return saga.view(self._visible(actor, chain_id, redemption_id))

    @rpc
    def receipt(self, actor: dict, chain_id: str, redemption_id: str, query: dict) -> str:
        query = load(c.ReceiptQuery, query)
        with self.db.begin():
            r = self._visible(actor, chain_id, redemption_id)
            facts = views.receipt_facts(self.db, chain_id, r)
            return receipts.redemption(saga.view(r), facts, query["format"])

    # ---- recovery (G-2) ----------------------------------------------------------------

    @timer(interval=RECOVERY_SECONDS)
    def recover(self) -> None:
        """Ask again about every saga left between steps, with its own key: safe on any number of
        instances and beside the caller's own retry (each step acts from its expected status)."""
        with self.db.begin():
            open_sagas = saga.stuck(self.db)
        for chain_id, redemption_id, status in open_sagas:
            try:
                drive = self._drive_redeem if status == "pending" else self._drive_cancel
                if drive(chain_id, redemption_id)["status"] == status:
                    return  # points still does not answer: the next round asks again, not every saga now
            except HuiyuanError as exc:  # a refusal was recorded; a database fault is tried next round
                log.info("recovery of redemption %s: %s", redemption_id, exc.code)

    # ---- copies of org's data -------------------------------------------------------------

    @handles("org", "chain_created")
    def on_chain_created(self, event: Event) -> None:
        d = event.data
        keep_newest(
            self.db,
            ChainCopy.__table__,
            "chain_id",
            event,
            chain_id=d["chain_id"],
            name=d["name"],
            time_zone=d["time_zone"],
            receipt_footer=d.get("receipt_footer", ""),  # older events lack it
        )

    @handles("org", "chain_changed")
    def on_chain_changed(self, event: Event) -> None:
        d = event.data
        values: dict[str, Any] = {"name": d["name"]}
        for name in ("time_zone", "receipt_footer"):
            if d["settings"].get(name) is not None:
                values[name] = d["settings"][name]
        keep_newest(self.db, ChainCopy.__table__, "chain_id", event, chain_id=d["chain_id"], **values)

    @handles("org", "store_changed")
    def on_store_changed(self, event: Event) -> None:
        d = event.data
        keep_newest(
            self.db,
            StoreCopy.__table__,
            "store_id",
            event,
            store_id=d["store_id"],
            chain_id=d["chain_id"],
            name=d["name"],
        )


def _final(settled: dict, refusal: HuiyuanError | None) -> dict:
    """The settled answer, or the definite refusal it ended in, raised (and already the key's)."""
    if refusal is not None:
        refusal.huiyuan_unrecorded = False
        raise refusal
    return settled


SERVICE = GiftService
