"""Who is calling: roles, the signed-in principal, and the scoping rules (O-1..O-7).

The gateway builds an `Actor` from the token and passes it on every RPC; the
service re-checks with the same methods, so both sides scope alike.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from marshmallow import fields, validate

from contracts.base import Contract, Id, load
from contracts.errors import Forbidden, NotFound

PLATFORM_ADMIN = "platform_admin"
HQ_ADMIN = "hq_admin"
FRANCHISEE = "franchisee"
STORE_MANAGER = "store_manager"
CASHIER = "cashier"
ROLES = (PLATFORM_ADMIN, HQ_ADMIN, FRANCHISEE, STORE_MANAGER, CASHIER)
# The role lists every check names, once (gateway routes and services alike):
CHAIN_STAFF = (HQ_ADMIN, FRANCHISEE, STORE_MANAGER, CASHIER)  # anyone working for a chain
STORE_ROLES = (STORE_MANAGER, CASHIER)  # bound to exactly one store
CHAIN_MANAGERS = (HQ_ADMIN, FRANCHISEE, STORE_MANAGER)  # manage their chain's or their stores' affairs
MANAGERS = (PLATFORM_ADMIN, *CHAIN_MANAGERS)  # the above, and the platform's admin
HQ = (PLATFORM_ADMIN, HQ_ADMIN)  # the whole chain's books and settings


def token_hash(token: str) -> str:
    """How a sign-in token is known without keeping it: org stores only this, gateways key
    what they keep by it, and org's `sessions_revoked` names tokens by it."""
    return hashlib.sha256(token.encode()).hexdigest()


class PrincipalSchema(Contract):
    staff_id = Id(required=True)
    chain_id = Id(required=True, allow_none=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    store_ids = fields.List(Id(), required=True)
    username = fields.String(required=True)
    display_name = fields.String(required=True)


@dataclass(frozen=True)
class Actor:
    staff_id: str
    chain_id: str | None
    role: str
    store_ids: tuple[str, ...] = field(default_factory=tuple)
    username: str = ""
    display_name: str = ""

    @classmethod
    def from_dict(cls, data: dict) -> Actor:
        data = load(PrincipalSchema, data)
        return cls(
            staff_id=data["staff_id"],
            chain_id=data["chain_id"],
            role=data["role"],
            store_ids=tuple(data["store_ids"]),
            username=data["username"],
            display_name=data["display_name"],
        )

    def to_dict(self) -> dict:
        return {
            "staff_id": self.staff_id,
            "chain_id": self.chain_id,
            "role": self.role,
            "store_ids": list(self.store_ids),
            "username": self.username,
            "display_name": self.display_name,
        }

    @property
    def is_platform_admin(self) -> bool:
        return self.role == PLATFORM_ADMIN

    @property
    def sees_whole_chain(self) -> bool:
        return self.role in (PLATFORM_ADMIN, HQ_ADMIN)

    def can_enter_chain(self, chain_id: str) -> bool:
        return self.is_platform_admin or self.chain_id == chain_id

    def can_access_store(self, chain_id: str, store_id: str | None) -> bool:
        if not self.can_enter_chain(chain_id):
            return False
        return self.sees_whole_chain or (store_id is not None and store_id in self.store_ids)

    # Guards raise the error the gateway maps; another chain is "not found",
    # never "forbidden", so its existence is not revealed.
    def require_chain(self, chain_id: str) -> None:
        if not self.can_enter_chain(chain_id):
            raise NotFound("No such chain.")

    def require_role(self, *roles: str) -> None:
        if self.role not in roles:
            raise Forbidden(f"Only {', '.join(roles)} may do this.")

    def require_store(self, chain_id: str, store_id: str | None) -> None:
        self.require_chain(chain_id)
        if not self.can_access_store(chain_id, store_id):
            raise NotFound("No such store in your scope.")
