"""The `org` service: chains, stores, staff, sign-in, settings, dictionaries.

Entrypoints only: each validates its payload against `contracts.org`, turns
the caller into an `Actor`, and hands over to a domain module. Every mutation
runs once per idempotency key, in one transaction with its outbox events.
"""

from __future__ import annotations

from datetime import timedelta

from contracts import org as c
from contracts.auth import Actor
from contracts.base import load
from services.kit.config import SettingsDependency
from services.kit.db import Database
from services.kit.health import HealthCheck
from services.kit.history import History
from services.kit.logs import CorrelationId
from services.kit.mutation import Work, mutation
from services.kit.outbox import Outbox
from services.kit.rpc import rpc
from services.org import access_log, auth, chains, dictionaries, staff, stores, views
from services.org.models import kit


class OrgService(HealthCheck, History):
    name = "org"

    db = Database()
    events = Outbox(kit.outbox)
    kit_tables = kit
    correlation_id = CorrelationId()
    settings = SettingsDependency()

    # ---- plumbing -------------------------------------------------------------

    @rpc
    def ping(self) -> str:
        return "pong"

    # ---- sign-in (O-8) ----------------------------------------------------------

    @rpc
    def sign_in(self, data: dict, ip: str = "", user_agent: str = "") -> dict:
        data = load(c.SignInRequest, data)
        ttl = timedelta(hours=self.settings.token_ttl_hours)
        with self.db.begin():
            outcome = auth.sign_in(self.db, data["chain"], data["username"], data["password"], ip, user_agent, ttl)
        # a failure is committed (attempt counter, access log) before it is reported
        if outcome.error is not None:
            raise outcome.error
        return outcome.result

    @rpc
    def authenticate(self, token: str) -> dict:
        return auth.authenticate(self.db, token)

    @rpc
    def sign_out(self, token: str, ip: str = "", user_agent: str = "") -> None:
        with self.db.begin():
            auth.sign_out(self.db, self.events, token, ip, user_agent)

    @rpc
    def change_password(self, actor: dict, token: str, data: dict, ip: str = "", user_agent: str = "") -> None:
        who = Actor.from_dict(actor)
        data = load(c.ChangePasswordRequest, data)
        with self.db.begin():
            error = auth.change_password(
                self.db, self.events, who, token, data["current_password"], data["new_password"], ip, user_agent
            )
        # a wrong password is committed (attempt counter, access log) before it is reported
        if error is not None:
            raise error

    # ---- chains and settings (O-1, O-2, S-1) -------------------------------------

    @rpc
    @mutation
    def create_chain(self, actor: Actor, data: dict, idempotency_key: str) -> Work:
        payload = load(c.ChainCreate, data)
        return lambda: chains.create(self.db, self.events, actor, payload)

    @rpc
    def list_chains(self, actor: dict, query: dict) -> dict:
        return chains.listing(self.db, Actor.from_dict(actor), load(c.ChainQuery, query))

    @rpc
    def get_chain(self, actor: dict, chain_id: str) -> dict:
        return views.chain(chains.get_visible(self.db, Actor.from_dict(actor), chain_id))

    @rpc
    def update_chain(self, actor: dict, chain_id: str, data: dict) -> dict:
        who = Actor.from_dict(actor)
        payload = load(c.ChainUpdate, data)
        with self.db.begin():
            return chains.update(self.db, self.events, who, chain_id, payload)

    @rpc
    def update_settings(self, actor: dict, chain_id: str, data: dict) -> dict:
        who = Actor.from_dict(actor)
        payload = load(c.ChainSettings, data)
        with self.db.begin():
            return chains.update_settings(self.db, self.events, who, chain_id, payload)

    # ---- stores (O-3) --------------------------------------------------------------

    @rpc
    @mutation
    def create_store(self, actor: Actor, chain_id: str, data: dict, idempotency_key: str) -> Work:
        payload = load(c.StoreCreate, data)
        return lambda: stores.create(self.db, self.events, actor, chain_id, payload)

    @rpc
    def list_stores(self, actor: dict, chain_id: str, query: dict) -> dict:
        return stores.listing(self.db, Actor.from_dict(actor), chain_id, load(c.StoreQuery, query))

    @rpc
    def get_store(self, actor: dict, chain_id: str, store_id: str) -> dict:
        return stores.get(self.db, Actor.from_dict(actor), chain_id, store_id)

    @rpc
    def update_store(self, actor: dict, chain_id: str, store_id: str, data: dict) -> dict:
        who = Actor.from_dict(actor)
        payload = load(c.StoreUpdate, data)
        with self.db.begin():
            return stores.update(self.db, self.events, who, chain_id, store_id, payload)

    @rpc
    @mutation
    def decide_store(self, actor: Actor, chain_id: str, store_id: str, data: dict, idempotency_key: str) -> Work:
        payload = load(c.StoreDecision, data)
        return lambda: stores.decide(self.db, self.events, actor, chain_id, store_id, payload)

    @rpc
    @mutation
    def create_staff(self, actor: Actor, chain_id: str, data: dict, idempotency_key: str) -> Work:
        payload = load(c.StaffCreate, data)
        return lambda: staff.create(self.db, self.events, actor, chain_id, payload)

    @rpc
    def list_staff(self, actor: dict, chain_id: str, query: dict) -> dict:
        return staff.listing(self.db, Actor.from_dict(actor), chain_id, load(c.StaffQuery, query))

    @rpc
    def get_staff(self, actor: dict, chain_id: str, staff_id: str) -> dict:
        return staff.get(self.db, Actor.from_dict(actor), chain_id, staff_id)

    @rpc
    def staff_status(self, chain_id: str, staff_id: str) -> str | None:
        """For other services: the status of a staff member of `chain_id` (None: no such
        staff member in it), asked only about one whose `staff_changed` has not reached them."""
        return staff.status_in_chain(self.db, chain_id, staff_id)

    @rpc
    def staff_names(self, chain_id: str, staff_ids: list[str]) -> dict[str, str]:
        """For other services: the display names of staff of `chain_id` (a receipt's operator and
        serving employee), asked only about those whose `staff_changed` has not reached them."""
        return staff.names_in_chain(self.db, chain_id, list(staff_ids))

    @rpc
    def update_staff(self, actor: dict, chain_id: str, staff_id: str, data: dict) -> dict:
        who = Actor.from_dict(actor)
        payload = load(c.StaffUpdate, data)
        with self.db.begin():
            return staff.update(self.db, self.events, who, chain_id, staff_id, payload)

    @rpc
    @mutation
    def set_staff_status(self, actor: Actor, chain_id: str, staff_id: str, status: str, idempotency_key: str) -> Work:
        payload = load(c.StaffStatusChange, {"status": status})
        return lambda: staff.set_status(self.db, self.events, actor, chain_id, staff_id, payload["status"])

    @rpc
    @mutation
    def unlock_staff(self, actor: Actor, chain_id: str, staff_id: str, idempotency_key: str) -> Work:
        return lambda: staff.unlock(self.db, actor, chain_id, staff_id)

    @rpc
    @mutation
    def reset_staff_password(
        self, actor: Actor, chain_id: str, staff_id: str, data: dict, idempotency_key: str
    ) -> Work:
        payload = load(c.ResetPasswordRequest, data)
        return lambda: staff.reset_password(self.db, self.events, actor, chain_id, staff_id, payload["new_password"])

    @rpc
    def list_access_log(self, actor: dict, chain_id: str, query: dict) -> dict:
        return access_log.listing(self.db, Actor.from_dict(actor), chain_id, load(c.AccessLogQuery, query))

    # ---- dictionaries (S-2) -----------------------------------------------------------

    @rpc
    def list_dictionary(self, actor: dict, chain_id: str, dictionary: str, query: dict) -> dict:
        query = load(c.DictionaryQuery, query)
        return dictionaries.listing(self.db, Actor.from_dict(actor), chain_id, dictionary, query["include_inactive"])

    @rpc
    @mutation
    def create_dictionary_entry(
        self, actor: Actor, chain_id: str, dictionary: str, data: dict, idempotency_key: str
    ) -> Work:
        payload = load(c.DICTIONARY_CONTRACTS[dictionary][0], data) if dictionary in c.DICTIONARY_CONTRACTS else data
        return lambda: dictionaries.create(self.db, self.events, actor, chain_id, dictionary, payload)

    @rpc
    def update_dictionary_entry(self, actor: dict, chain_id: str, dictionary: str, entry_id: str, data: dict) -> dict:
        who = Actor.from_dict(actor)
        payload = load(c.DICTIONARY_CONTRACTS[dictionary][1], data) if dictionary in c.DICTIONARY_CONTRACTS else data
        with self.db.begin():
            return dictionaries.update(self.db, self.events, who, chain_id, dictionary, entry_id, payload)


SERVICE = OrgService
