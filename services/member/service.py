"""The `member` service: members, vehicles, cards, tiers and the card operation log.

Entrypoints only: each validates its payload against `contracts.member`, turns
the caller into an `Actor`, asks org whether the store in question exists and
is open, and hands over to a domain module. Every mutation runs once per
idempotency key, in one transaction with its outbox events.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime

from contracts import member as c
from contracts import points as points_contracts  # noqa: F401 - registers the points events
from contracts.auth import MANAGERS, Actor
from contracts.base import load
from contracts.errors import HuiyuanError, ServiceTimeout, ValidationFailed
from contracts.events import Event
from services.kit.config import SettingsDependency
from services.kit.db import Database
from services.kit.handlers import handles
from services.kit.health import HealthCheck
from services.kit.history import History
from services.kit.logs import CorrelationId
from services.kit.mutation import Work, mutation
from services.kit.outbox import Outbox
from services.kit.rpc import ServiceRpc, rpc
from services.kit.stores import require_open_store, require_payment_method
from services.member import cards, chain_state, members, pii, tiers
from services.member.models import kit
from services.member.scope import operator_store


def tells_wallet(method: Callable) -> Callable:
    """A card action whose change the wallet must know before the caller hears of it (a freeze,
    a loss, new limits or tier are in force for the very next payment: non-negotiable 12).
    After the action committed (or its first answer is replayed), the card as it is now goes
    to the wallet's copy; if the wallet cannot be told, the caller gets a 504 (the change is
    made; retry with the same key, which replays it and tells the wallet again), and the
    status event still reaches the wallet."""

    @functools.wraps(method)
    def entrypoint(self, actor: dict, chain_id: str, card_id: str, *args, **kwargs):
        answer = method(self, actor, chain_id, card_id, *args, **kwargs)
        self._tell_wallet(chain_id, card_id)
        return answer

    return entrypoint


class MemberService(HealthCheck, History):
    name = "member"

    db = Database()
    events = Outbox(kit.outbox)
    kit_tables = kit
    correlation_id = CorrelationId()
    settings = SettingsDependency()
    org = ServiceRpc("org")
    wallet = ServiceRpc("wallet")
    seal_answers = True  # answers hold phone and ID numbers (M-1)

    # ---- plumbing ---------------------------------------------------------------

    @property
    def codec(self) -> pii.Codec:
        return pii.codec(self.settings.pii_key, self.settings.pii_index_key)

    def _open_store(self, actor: Actor, chain_id: str, requested: str | None, field: str = "store_id") -> str:
        """The store of the operation, checked with org: in the caller's scope and open for business."""
        actor.require_chain(chain_id)
        store_id = operator_store(actor, chain_id, requested, field)
        require_open_store(self.org, actor, chain_id, store_id, field)
        return store_id

    def _tell_wallet(self, chain_id: str, card_id: str) -> None:
        self.db.expire_all()  # the card as committed, not as this worker last saw it
        with self.db.begin():
            context = cards.resolve_by_id(self.db, self.codec, chain_id, card_id)
        try:
            self.wallet.keep_card(chain_id, context)
        except HuiyuanError as exc:
            raise ServiceTimeout(
                "The card was changed, but the wallet could not be told yet. Retry with the same Idempotency-Key."
            ) from exc

    def _known_chain(self, actor: Actor, chain_id: str) -> None:
        # staff belong to their chain; only the platform admin could name one that does not exist
        actor.require_chain(chain_id)
        if actor.is_platform_admin:
            self.org.get_chain(actor.to_dict(), chain_id)

    @rpc
    def ping(self) -> str:
        return "pong"

    # ---- events -------------------------------------------------------------------

    @handles("org", "chain_created")
    def on_chain_created(self, event: Event) -> None:
        chain_state.follow_time_zone(self.db, self.events, event, event.data["time_zone"])

    @handles("org", "chain_changed")
    def on_chain_changed(self, event: Event) -> None:
        # card validity is counted in the chain's local days: follow a new time zone
        chain_state.follow_time_zone(self.db, self.events, event, event.data["settings"].get("time_zone"))

    # ---- tiers (M-6) -----------------------------------------------------------------

    @rpc
    def list_tiers(self, actor: dict, chain_id: str, query: dict) -> dict:
        who, query = Actor.from_dict(actor), load(c.TierQuery, query)
        self._known_chain(who, chain_id)
        with self.db.begin():
            return tiers.listing(self.db, who, chain_id, query["include_inactive"])

    @rpc
    def get_tier(self, actor: dict, chain_id: str, tier_id: str) -> dict:
        who = Actor.from_dict(actor)
        self._known_chain(who, chain_id)
        with self.db.begin():
            return tiers.get(self.db, who, chain_id, tier_id)

    @rpc
    @mutation
    def create_tier(self, actor: Actor, chain_id: str, data: dict, idempotency_key: str) -> Work:
        payload = load(c.TierCreate, data)
        self._known_chain(actor, chain_id)
        return lambda: tiers.create(self.db, self.events, actor, chain_id, payload)

    @rpc
    def update_tier(self, actor: dict, chain_id: str, tier_id: str, data: dict) -> dict:
        who, payload = Actor.from_dict(actor), load(c.TierUpdate, data)
        with self.db.begin():
            return tiers.update(self.db, self.events, who, chain_id, tier_id, payload)

    # ---- members (M-1, O-7) -------------------------------------------------------------

    @rpc
    @mutation
    def create_member(self, actor: Actor, chain_id: str, data: dict, idempotency_key: str) -> Work:
        payload = load(c.MemberCreate, data)
        home = self._open_store(actor, chain_id, payload["home_store_id"], "home_store_id")
        return lambda: members.create(self.db, self.events, self.codec, actor, chain_id, home, payload)

    @rpc
    def update_member(self, actor: dict, chain_id: str, member_id: str, data: dict) -> dict:
        who, payload = Actor.from_dict(actor), load(c.MemberUpdate, data)
        if "home_store_id" in payload and who.sees_whole_chain:
            self._open_store(who, chain_id, payload["home_store_id"], "home_store_id")
        with self.db.begin():
            return members.update(self.db, self.events, self.codec, who, chain_id, member_id, payload)

    @rpc
    def get_member(self, actor: dict, chain_id: str, member_id: str) -> dict:
        return members.get(self.db, self.codec, Actor.from_dict(actor), chain_id, member_id)

    @rpc
    def search_members(self, actor: dict, chain_id: str, query: dict) -> dict:
        return members.search(self.db, self.codec, Actor.from_dict(actor), chain_id, load(c.MemberQuery, query))

    # ---- cards (M-2..M-5, M-8) ------------------------------------------------------------

    @rpc
    @mutation
    def issue_card(self, actor: Actor, chain_id: str, member_id: str, data: dict, idempotency_key: str) -> Work:
        payload = load(c.CardIssue, data)
        store_id = self._open_store(actor, chain_id, payload["store_id"])
        require_payment_method(self.org, actor, chain_id, payload["payment_method"])
        return lambda: cards.issue(self.db, self.events, actor, chain_id, member_id, store_id, payload)

    def _card_action(
        self,
        action: Callable,
        contract: type,
        actor: Actor,
        chain_id: str,
        card_id: str,
        data: dict,
        roles: tuple[str, ...] | None = None,
    ) -> Work:
        """The checks every card action makes (M-3..M-5), and the action to run once."""
        payload = load(contract, data)
        if roles is not None:
            actor.require_role(*roles)
        store_id = self._open_store(actor, chain_id, payload["store_id"])
        if "payment_method" in payload:  # a fee may apply
            require_payment_method(self.org, actor, chain_id, payload["payment_method"])
        return lambda: action(self.db, self.events, actor, chain_id, card_id, store_id, payload)

    @rpc
    @tells_wallet
    @mutation
    def freeze_card(self, actor: Actor, chain_id: str, card_id: str, data: dict, idempotency_key: str) -> Work:
        return self._card_action(cards.freeze, c.CardAction, actor, chain_id, card_id, data)

    @rpc
    @tells_wallet
    @mutation
    def unfreeze_card(self, actor: Actor, chain_id: str, card_id: str, data: dict, idempotency_key: str) -> Work:
        return self._card_action(cards.unfreeze, c.CardAction, actor, chain_id, card_id, data, MANAGERS)

    @rpc
    @tells_wallet
    @mutation
    def change_card_tier(self, actor: Actor, chain_id: str, card_id: str, data: dict, idempotency_key: str) -> Work:
        # M-7: a manual tier change needs HQ or manager rights
        return self._card_action(cards.change_tier, c.TierChange, actor, chain_id, card_id, data, MANAGERS)

    @rpc
    @tells_wallet
    @mutation
    def set_card_limits(self, actor: Actor, chain_id: str, card_id: str, data: dict, idempotency_key: str) -> Work:
        return self._card_action(cards.set_limits, c.CardLimitsChange, actor, chain_id, card_id, data, MANAGERS)

    @rpc
    @tells_wallet
    @mutation
    def replace_card(self, actor: Actor, chain_id: str, card_id: str, data: dict, idempotency_key: str) -> Work:
        return self._card_action(cards.replace, c.CardFeeAction, actor, chain_id, card_id, data)

    @rpc
    @tells_wallet
    @mutation
    def renew_card(self, actor: Actor, chain_id: str, card_id: str, data: dict, idempotency_key: str) -> Work:
        return self._card_action(cards.renew, c.CardFeeAction, actor, chain_id, card_id, data)

    @rpc
    def get_card(self, actor: dict, chain_id: str, card_id: str) -> dict:
        return cards.get(self.db, Actor.from_dict(actor), chain_id, card_id)

    @rpc
    def lookup_card(self, actor: dict, chain_id: str, query: dict) -> dict:
        query = load(c.CardLookupQuery, query)
        return cards.lookup(self.db, self.codec, Actor.from_dict(actor), chain_id, query["card_no"])

    @rpc
    def card_operations(self, actor: dict, chain_id: str, card_id: str, query: dict) -> dict:
        return cards.operations(self.db, Actor.from_dict(actor), chain_id, card_id, load(c.CardOperationQuery, query))

    @rpc
    def store_card_operations(self, actor: dict, chain_id: str, store_id: str, query: dict) -> dict:
        query = load(c.CardOperationQuery, query)
        who = Actor.from_dict(actor)
        who.require_store(chain_id, store_id)
        # the member service knows stores only by id: org says whether this one is the chain's
        # (another chain's store is "not found", not an empty log)
        self.org.get_store(actor, chain_id, store_id)
        return cards.store_operations(self.db, who, chain_id, store_id, query)

    # ---- for other services (shared interface) -----------------------------------------------

    @rpc
    def resolve_card(self, chain_id: str, card_no: str) -> dict:
        """Any staff of the chain may transact on any card of it (O-7); the caller checked the chain."""
        if not isinstance(card_no, str):
            raise ValidationFailed(fields={"card_no": ["Digits only."]})
        return cards.resolve(self.db, self.codec, chain_id, card_no)

    @rpc
    def resolve_card_by_id(self, chain_id: str, card_id: str) -> dict:
        return cards.resolve_by_id(self.db, self.codec, chain_id, card_id)

    @rpc
    def contacts(self, chain_id: str, member_ids: list) -> list:
        """For the notification service only: phones in clear, to send by (N-1, M-1)."""
        ids = load(c.ContactsRequest, {"chain_id": chain_id, "member_ids": member_ids})["member_ids"]
        with self.db.begin():
            return members.contacts(self.db, self.codec, chain_id, ids)

    @handles("wallet", "consumed")
    def on_consumed(self, event: Event) -> None:
        """M-7: spend moved; the wallet's total is the truth, points stay as last reported."""
        self._spend_changed(event)

    @handles("wallet", "refunded")
    def on_refunded(self, event: Event) -> None:
        self._spend_changed(event)

    @handles("wallet", "card_returned")
    def on_card_returned(self, event: Event) -> None:
        cards.returned_at_counter(self.db, self.events, event.data)

    def _spend_changed(self, event: Event) -> None:
        # runs inside the handler's transaction, with the inbox record
        data = event.data
        as_of = datetime.fromisoformat(data["spend_as_of"])
        cards.record_spend(self.db, self.events, data["chain_id"], data["member_id"], data["cumulative_spend"], as_of)

    @handles("points", "changed")
    def on_points_changed(self, event: Event) -> None:
        """M-7, P-7: lifetime points moved; the points service's total is the truth."""
        data = event.data
        cards.record_points(
            self.db, self.events, data["chain_id"], data["member_id"], data["lifetime_points"], data["version"]
        )


SERVICE = MemberService
