"""Contracts of the `org` service: chains, stores, staff, sign-in, settings, dictionaries."""

from __future__ import annotations

from zoneinfo import available_timezones

from marshmallow import ValidationError, fields, validate, validates_schema

from contracts.auth import CHAIN_STAFF, PrincipalSchema
from contracts.base import (
    Code,
    Contract,
    Flag,
    Id,
    Money,
    Page,
    Pattern,
    QueryFlag,
    Text,
    Timestamp,
    documented,
    not_before,
)
from contracts.events import event

CURRENCIES = ("CNY", "HKD", "MOP", "TWD", "USD", "EUR", "SGD", "MYR")
STORE_KINDS = ("direct", "franchise")
STORE_STATUSES = ("active", "pending_approval", "rejected", "closed")
STAFF_STATUSES = ("active", "disabled")
ACCESS_EVENTS = ("sign_in", "sign_out", "sign_in_failed", "locked")
_TIME_ZONES = frozenset(available_timezones())


def _time_zone(value: str) -> None:
    if value not in _TIME_ZONES:
        raise ValidationError("Not a known IANA time zone, e.g. Asia/Shanghai.")


documented(_time_zone, enum=sorted(_TIME_ZONES))


def Username(**kwargs):  # noqa: N802
    return fields.String(
        validate=[
            validate.Length(min=3, max=60),
            Pattern(r"^[a-z0-9][a-z0-9._-]*$", error="Lowercase letters, digits, '.', '_' or '-'."),
        ],
        **kwargs,
    )


def Password(**kwargs):  # noqa: N802
    return fields.String(validate=validate.Length(min=10, max=128, error="Between 10 and 128 characters."), **kwargs)


# ---- sign-in ----------------------------------------------------------------


class SignInRequest(Contract):
    """Staff of a chain sign in with the chain's code; platform admins without one.
    Usernames are unique within a chain, not across chains."""

    chain = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=40))
    username = fields.String(required=True, validate=validate.Length(min=1, max=60))
    password = fields.String(required=True, validate=validate.Length(min=1, max=128))


class SignInResponse(Contract):
    token = fields.String(required=True)
    expires_at = fields.String(required=True)
    principal = fields.Nested(PrincipalSchema, required=True)


class ChangePasswordRequest(Contract):
    current_password = fields.String(required=True, validate=validate.Length(min=1, max=128))
    new_password = Password(required=True)


class ResetPasswordRequest(Contract):
    new_password = Password(required=True)


# ---- chains -----------------------------------------------------------------


class ChainSettings(Contract):
    currency = fields.String(validate=validate.OneOf(CURRENCIES))
    time_zone = fields.String(validate=_time_zone)
    receipt_footer = fields.String(validate=validate.Length(max=500))
    sms_signature = fields.String(validate=validate.Length(max=40))


class FirstAdmin(Contract):
    username = Username(required=True)
    display_name = Text(100, required=True)
    password = Password(required=True)


class ChainCreate(Contract):
    code = Code(required=True)
    name = Text(200, required=True)
    requires_store_approval = Flag(load_default=False)
    settings = fields.Nested(ChainSettings, load_default=dict)
    hq_admin = fields.Nested(FirstAdmin, load_default=None, allow_none=True)


class ChainUpdate(Contract):
    name = Text(200)
    requires_store_approval = Flag()
    status = fields.String(validate=validate.OneOf(("active", "suspended")))


class Chain(Contract):
    id = Id(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    status = fields.String(required=True)
    requires_store_approval = Flag(required=True)
    settings = fields.Nested(ChainSettings, required=True)
    created_at = fields.String(required=True)


class ChainQuery(Page):
    status = fields.String(validate=validate.OneOf(("active", "suspended")))


# ---- stores -----------------------------------------------------------------


class StoreCreate(Contract):
    code = Code(required=True)
    name = Text(200, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(STORE_KINDS))
    franchisee_id = Id(load_default=None, allow_none=True)
    address = Text(300, load_default="")
    phone = Text(40, load_default="")

    @validates_schema
    def _owner_only_for_franchise(self, data, **kwargs):
        if data.get("franchisee_id") and data.get("kind") != "franchise":
            raise ValidationError("Only a franchise store has a franchisee.", "franchisee_id")


class StoreUpdate(Contract):
    name = Text(200)
    address = Text(300)
    phone = Text(40)
    status = fields.String(validate=validate.OneOf(("active", "closed")))
    franchisee_id = Id(allow_none=True)


class StoreDecision(Contract):
    approve = Flag(required=True)
    reason = Text(200, load_default="")


class Store(Contract):
    id = Id(required=True)
    chain_id = Id(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    status = fields.String(required=True)
    franchisee_id = fields.String(required=True, allow_none=True)
    address = fields.String(required=True)
    phone = fields.String(required=True)
    created_at = fields.String(required=True)


class StoreQuery(Page):
    status = fields.String(validate=validate.OneOf(STORE_STATUSES))
    kind = fields.String(validate=validate.OneOf(STORE_KINDS))


# ---- staff ------------------------------------------------------------------


class StaffCreate(Contract):
    username = Username(required=True)
    display_name = Text(100, required=True)
    role = fields.String(required=True, validate=validate.OneOf(CHAIN_STAFF))
    store_id = Id(load_default=None, allow_none=True)
    level = Text(40, load_default="")
    password = Password(required=True)


class StaffUpdate(Contract):
    display_name = Text(100)
    role = fields.String(validate=validate.OneOf(CHAIN_STAFF))
    store_id = Id(allow_none=True)
    level = Text(40)


class Staff(Contract):
    id = Id(required=True)
    chain_id = fields.String(required=True, allow_none=True)
    store_id = fields.String(required=True, allow_none=True)
    username = fields.String(required=True)
    display_name = fields.String(required=True)
    role = fields.String(required=True)
    level = fields.String(required=True)
    status = fields.String(required=True)
    locked_until = fields.String(required=True, allow_none=True)
    last_sign_in_at = fields.String(required=True, allow_none=True)
    created_at = fields.String(required=True)


class StaffStatusChange(Contract):
    status = fields.String(required=True, validate=validate.OneOf(STAFF_STATUSES))


class StaffQuery(Page):
    store_id = Id()
    role = fields.String(validate=validate.OneOf(CHAIN_STAFF))
    status = fields.String(validate=validate.OneOf(STAFF_STATUSES))


class AccessLogEntry(Contract):
    id = fields.Integer(required=True)
    at = fields.String(required=True)
    event = fields.String(required=True)
    username = fields.String(required=True)
    staff_id = fields.String(required=True, allow_none=True)
    store_id = fields.String(required=True, allow_none=True)
    ip = fields.String(required=True)
    user_agent = fields.String(required=True)
    reason = fields.String(required=True)


class AccessLogQuery(Page):
    staff_id = Id()
    event = fields.String(validate=validate.OneOf(ACCESS_EVENTS))
    since = Timestamp()
    until = Timestamp()

    _order = not_before("since", "until")


# ---- dictionaries (S-2) -------------------------------------------------------


class CategoryCreate(Contract):
    code = Code(required=True)
    name = Text(100, required=True)


class CategoryUpdate(Contract):
    name = Text(100)
    active = Flag()


class Category(Contract):
    id = Id(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    active = Flag(required=True)


class ItemCreate(Contract):
    code = Code(required=True)
    name = Text(100, required=True)
    kind = fields.String(load_default="service", validate=validate.OneOf(("service", "goods")))
    category_code = Code(required=True)
    price = Money(required=True)


class ItemUpdate(Contract):
    name = Text(100)
    kind = fields.String(validate=validate.OneOf(("service", "goods")))
    category_code = Code()
    price = Money()
    active = Flag()


class Item(Contract):
    id = Id(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    category_code = fields.String(required=True)
    price = Money(required=True)
    active = Flag(required=True)


class PaymentMethodCreate(Contract):
    code = Code(required=True)
    name = Text(100, required=True)


class PaymentMethodUpdate(Contract):
    name = Text(100)
    active = Flag()


class PaymentMethod(Contract):
    id = Id(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    active = Flag(required=True)


# create and update contract of each dictionary, by its name in the URL
DICTIONARY_CONTRACTS = {
    "categories": (CategoryCreate, CategoryUpdate),
    "items": (ItemCreate, ItemUpdate),
    "payment_methods": (PaymentMethodCreate, PaymentMethodUpdate),
}
DICTIONARY_VIEWS = {"categories": Category, "items": Item, "payment_methods": PaymentMethod}


class DictionaryQuery(Contract):
    include_inactive = QueryFlag(load_default=False)


# ---- events -------------------------------------------------------------------


@event("org", "chain_created")
class ChainCreated(Contract):
    chain_id = Id(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    currency = fields.String(required=True)
    time_zone = fields.String(required=True)
    # S-1: what every SMS of the chain opens with (older events lack it: none yet)
    sms_signature = fields.String()
    # S-1, S-3: what every receipt of the chain ends with (older events lack it: none yet)
    receipt_footer = fields.String()


@event("org", "chain_changed")
class ChainChanged(Contract):
    chain_id = Id(required=True)
    name = fields.String(required=True)
    status = fields.String(required=True)
    settings = fields.Nested(ChainSettings, required=True)


@event("org", "store_changed")
class StoreChanged(Contract):
    """A store was created or changed (status, owner, name)."""

    store_id = Id(required=True)
    chain_id = Id(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    status = fields.String(required=True)
    franchisee_id = fields.String(required=True, allow_none=True)


@event("org", "staff_changed")
class StaffChanged(Contract):
    """A staff member was created, changed, disabled or enabled."""

    staff_id = Id(required=True)
    chain_id = Id(required=True)
    store_id = fields.String(required=True, allow_none=True)
    role = fields.String(required=True)
    status = fields.String(required=True)
    display_name = fields.String(required=True)
    level = fields.String(required=True)


@event("org", "sessions_revoked")
class SessionsRevoked(Contract):
    """Sign-in tokens that no longer open anything: one (`token_hash`, a sign-out) or all of a
    staff member's but `kept_token_hash` (a password change, disabling, a move, a lock).
    Gateways that keep who holds a token drop what this names (non-negotiable 12)."""

    staff_id = Id(required=True)
    chain_id = fields.String(required=True, allow_none=True)
    token_hash = fields.String(load_default=None, allow_none=True)
    kept_token_hash = fields.String(load_default=None, allow_none=True)


@event("org", "dictionary_changed")
class DictionaryChanged(Contract):
    dictionary = fields.String(required=True, validate=validate.OneOf(("categories", "items", "payment_methods")))
    code = fields.String(required=True)
    entry = fields.Dict(required=True)
