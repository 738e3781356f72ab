"""The `notification` service: SMS and e-mail through pluggable providers (N-1..N-5).

Entrypoints only. Handlers turn other services' events into messages, once per
event (inbox); a timer sends what is in the outbox; RPCs serve HQ's settings,
templates and boxes. It never reads another schema: chains, stores, tiers and
birthdays are kept from events, and a member's phone or e-mail address is asked of the
member service only when a message to them is sent.
"""

from __future__ import annotations

import time

from nameko.timer import timer

from contracts import member as member_contracts  # noqa: F401 - registers member's events for the handlers
from contracts import notification as c
from contracts import org as org_contracts  # noqa: F401 - registers org's events for the handlers
from contracts import points as points_contracts  # noqa: F401 - registers points' events for the handlers
from contracts import wallet as wallet_contracts  # noqa: F401 - registers wallet's events for the handlers
from contracts.auth import HQ, Actor
from contracts.base import load
from contracts.errors import Forbidden
from contracts.events import Event
from services.kit import crypto
from services.kit.clock import DEFAULT_TIME_ZONE
from services.kit.config import SettingsDependency
from services.kit.copies import keep_newest
from services.kit.db import Database
from services.kit.handlers import handles
from services.kit.health import HealthCheck
from services.kit.logs import CorrelationId
from services.kit.mutation import Work, mutation
from services.kit.outbox import Outbox
from services.kit.rpc import ServiceRpc, rpc
from services.notification import (
    automatic,
    campaigns,
    chain_settings,
    copies,
    dispatch,
    messages,
    scheduled,
    sends,
    service_rules,
)
from services.notification.models import ChainCopy, StoreCopy, TierCopy, kit

DISPATCH_SECONDS = 0.5
DISPATCH_BUDGET_SECONDS = 2.0
SCHEDULE_SECONDS = 60
CAMPAIGN_SECONDS = 1
FORGET_SECONDS = 3600


class NotificationService(HealthCheck):
    name = "notification"

    db = Database()
    events = Outbox(kit.outbox)
    kit_tables = kit
    correlation_id = CorrelationId()
    settings = SettingsDependency()
    member = ServiceRpc("member")
    org = ServiceRpc("org")
    points = ServiceRpc("points")

    @property
    def codec(self) -> crypto.Codec:
        return crypto.codec(self.settings.pii_key, self.settings.pii_index_key)

    def _hq(self, actor: dict | Actor, chain_id: str) -> Actor:
        """Notification settings and boxes are the chain's HQ's (N-1: HQ; boxes hold every member's messages)."""
        who = actor if isinstance(actor, Actor) else Actor.from_dict(actor)
        who.require_chain(chain_id)
        if who.role not in HQ:
            raise Forbidden("Only HQ manages the chain's messages.")
        if who.is_platform_admin:
            self.org.get_chain(who.to_dict(), chain_id)  # a chain that does not exist is not found
        return who

    @rpc
    def ping(self) -> str:
        return "pong"

    # ---- settings: provider, kinds and their texts (N-1, N-2, N-3) ---------------------------

    @rpc
    def get_provider(self, actor: dict, chain_id: str) -> dict:
        self._hq(actor, chain_id)
        with self.db.begin():
            return chain_settings.provider_view(chain_settings.provider(self.db, chain_id))

    @rpc
    def update_provider(self, actor: dict, chain_id: str, data: dict) -> dict:
        changes = load(c.ProviderUpdate, data)
        self._hq(actor, chain_id)
        with self.db.begin():
            return chain_settings.update_provider(self.db, self.codec, chain_id, changes)

    @rpc
    def list_kinds(self, actor: dict, chain_id: str) -> dict:
        self._hq(actor, chain_id)
        with self.db.begin():
            return chain_settings.list_kinds(self.db, chain_id)

    @rpc
    def update_kind(self, actor: dict, chain_id: str, kind: str, data: dict) -> dict:
        changes = load(c.KindUpdate, data)
        self._hq(actor, chain_id)
        with self.db.begin():
            return chain_settings.update_kind(self.db, chain_id, kind, changes)

    # ---- service reminder rules (N-3) --------------------------------------------------------

    @rpc
    def list_service_rules(self, actor: dict, chain_id: str) -> dict:
        self._hq(actor, chain_id)
        with self.db.begin():
            return service_rules.listing(self.db, chain_id)

    @rpc
    @mutation
    def create_service_rule(self, actor: Actor, chain_id: str, data: dict, idempotency_key: str) -> Work:
        payload = load(c.ServiceRuleCreate, data)
        self._hq(actor, chain_id)
        return lambda: service_rules.create(self.db, chain_id, payload)

    @rpc
    def update_service_rule(self, actor: dict, chain_id: str, rule_id: str, data: dict) -> dict:
        changes = load(c.ServiceRuleUpdate, data)
        self._hq(actor, chain_id)
        with self.db.begin():
            return service_rules.update(self.db, chain_id, rule_id, changes)

    # ---- boxes (N-5) -------------------------------------------------------------------------

    @rpc
    def search_messages(self, actor: dict, chain_id: str, query: dict) -> dict:
        query = load(c.MessageQuery, query)
        self._hq(actor, chain_id)
        with self.db.begin():
            return messages.search(self.db, self.codec, chain_id, query)

    @rpc
    def get_message(self, actor: dict, chain_id: str, message_id: str) -> dict:
        self._hq(actor, chain_id)
        with self.db.begin():
            return messages.view(messages.get(self.db, chain_id, message_id))

    @rpc
    @mutation
    def retry_message(self, actor: Actor, chain_id: str, message_id: str, idempotency_key: str) -> Work:
        self._hq(actor, chain_id)
        return lambda: messages.retry(self.db, chain_id, message_id)

    @rpc
    @mutation
    def test_send(self, actor: Actor, chain_id: str, data: dict, idempotency_key: str) -> Work:
        payload = load(c.TestSend, data)
        self._hq(actor, chain_id)
        return lambda: sends.test_send(self.db, self.codec, actor, chain_id, payload, idempotency_key)

    # ---- marketing (N-4) ---------------------------------------------------------------------

    @rpc
    @mutation
    def create_campaign(self, actor: Actor, chain_id: str, data: dict, idempotency_key: str) -> Work:
        payload = load(c.CampaignCreate, data)
        self._hq(actor, chain_id)
        return lambda: campaigns.create(self.db, actor, chain_id, payload)

    @rpc
    def update_campaign(self, actor: dict, chain_id: str, campaign_id: str, data: dict) -> dict:
        changes = load(c.CampaignUpdate, data)
        self._hq(actor, chain_id)
        with self.db.begin():
            return campaigns.update_draft(self.db, chain_id, campaign_id, changes)

    @rpc
    def list_campaigns(self, actor: dict, chain_id: str, query: dict) -> dict:
        query = load(c.CampaignQuery, query)
        self._hq(actor, chain_id)
        with self.db.begin():
            return campaigns.listing(self.db, chain_id, query)

    @rpc
    def get_campaign(self, actor: dict, chain_id: str, campaign_id: str) -> dict:
        self._hq(actor, chain_id)
        with self.db.begin():
            return campaigns.view(self.db, campaigns.get(self.db, chain_id, campaign_id))

    @rpc
    @mutation
    def send_campaign(self, actor: Actor, chain_id: str, campaign_id: str, data: dict, idempotency_key: str) -> Work:
        payload = load(c.CampaignSend, data)
        self._hq(actor, chain_id)
        return lambda: campaigns.send(self.db, chain_id, campaign_id, payload)

    # ---- sending ----------------------------------------------------------------------------

    @timer(interval=DISPATCH_SECONDS)
    def dispatch(self) -> None:
        """Send what is due, round after round while there is more, for at most a tick's budget:
        a stopping service waits for this worker, so it must end soon."""
        ends = time.monotonic() + DISPATCH_BUDGET_SECONDS
        while dispatch.run_once(self.db, self.events, self.codec, self.member.contacts) == dispatch.BATCH:
            if time.monotonic() > ends:
                return

    @timer(interval=CAMPAIGN_SECONDS)
    def run_campaigns(self) -> None:
        """Start the bulk sends whose time has come; mark finished ones done."""
        campaigns.start_due(self.db, self.points.expiring_members)
        campaigns.finish_done(self.db)

    @timer(interval=FORGET_SECONDS)
    def forget_unmet_points(self) -> None:
        """Drop consume/points meetings one side of which never came, after a week."""
        with self.db.begin():
            automatic.forget_unmet(self.db)

    @timer(interval=SCHEDULE_SECONDS, eager=True)
    def schedule(self) -> None:
        """Birthdays, package expiry and service reminders of each chain's local day, catching
        up the days missed while down."""
        scheduled.run(self.db)

    # ---- events: automatic messages (N-3) ----------------------------------------------------

    @handles("wallet", "consumed")
    def on_consumed(self, event: Event) -> None:
        copies.visit(self.db, event)
        automatic.consumed(self.db, event, self.settings.points_wait_seconds)

    @handles("points", "changed")
    def on_points_changed(self, event: Event) -> None:
        """A consume's points (N-3): what its message waits for."""
        automatic.points_answered(self.db, event)

    @handles("wallet", "recharged")
    def on_recharged(self, event: Event) -> None:
        automatic.recharged(self.db, event)

    @handles("member", "tier_changed")
    def on_tier_changed(self, event: Event) -> None:
        copies.tier(self.db, event, event.data["member_id"], event.data["tier_code"])
        automatic.tier_changed(self.db, event)

    @handles("points", "expiring_soon")
    def on_points_expiring_soon(self, event: Event) -> None:
        automatic.points_expiring(self.db, event)

    @handles("points", "reset_coming")
    def on_points_reset_coming(self, event: Event) -> None:
        automatic.points_reset(self.db, event)

    # ---- events: copies of what messages are made of -----------------------------------------

    @handles("org", "chain_created")
    def on_chain_created(self, event: Event) -> None:
        data = event.data
        values = {"name": data["name"], "time_zone": data["time_zone"], "sms_signature": data.get("sms_signature", "")}
        keep_newest(self.db, ChainCopy.__table__, "chain_id", event, chain_id=data["chain_id"], **values)

    @handles("org", "chain_changed")
    def on_chain_changed(self, event: Event) -> None:
        data, settings = event.data, event.data["settings"]
        values = {
            "name": data["name"],
            "time_zone": settings.get("time_zone") or DEFAULT_TIME_ZONE,
            "sms_signature": settings.get("sms_signature") or "",
        }
        keep_newest(self.db, ChainCopy.__table__, "chain_id", event, chain_id=data["chain_id"], **values)

    @handles("org", "store_changed")
    def on_store_changed(self, event: Event) -> None:
        data = event.data
        keep_newest(
            self.db,
            StoreCopy.__table__,
            "store_id",
            event,
            store_id=data["store_id"],
            chain_id=data["chain_id"],
            name=data["name"],
        )

    @handles("member", "tier_configuration_changed")
    def on_tier_configuration_changed(self, event: Event) -> None:
        tier = event.data["tier"]
        keep_newest(
            self.db,
            TierCopy.__table__,
            ("chain_id", "code"),
            event,
            chain_id=tier["chain_id"],
            code=tier["code"],
            name=tier["name"],
        )

    @handles("member", "enrolled")
    def on_enrolled(self, event: Event) -> None:
        copies.member_facts(self.db, event)

    @handles("member", "updated")
    def on_member_updated(self, event: Event) -> None:
        copies.member_facts(self.db, event)

    @handles("wallet", "package_sold")
    def on_package_sold(self, event: Event) -> None:
        copies.package_sold(self.db, event)

    @handles("wallet", "package_used")
    def on_package_used(self, event: Event) -> None:
        copies.package_used(self.db, event)

    @handles("wallet", "package_refunded")
    def on_package_refunded(self, event: Event) -> None:
        copies.package_refunded(self.db, event)

    @handles("member", "card_issued")
    def on_card_issued(self, event: Event) -> None:
        copies.tier(self.db, event, event.data["member_id"], event.data["tier_code"])


SERVICE = NotificationService
