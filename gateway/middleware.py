"""Request id, access log line, and sign-in for every request."""

from __future__ import annotations

import logging
import re
import time

import falcon

from contracts.auth import Actor, token_hash
from contracts.errors import NotAuthenticated
from gateway import limits
from gateway.principals import Principals
from gateway.rpc import RpcPool
from services.kit.logs import new_correlation_id, set_correlation_id

log = logging.getLogger("gateway.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestId:
    """Takes `X-Request-Id` (or makes one); it travels in every RPC and event."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        given = req.get_header("X-Request-Id") or ""
        req.context.request_id = given if _REQUEST_ID.match(given) else new_correlation_id()
        req.context.started = time.monotonic()
        set_correlation_id(req.context.request_id)

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource, req_succeeded: bool) -> None:
        resp.set_header("X-Request-Id", req.context.request_id)
        took_ms = round((time.monotonic() - req.context.started) * 1000, 1)
        log.info(
            "%s %s %s",
            req.method,
            req.path,
            resp.status,
            extra={"fields": {"method": req.method, "path": req.path, "status": resp.status_code, "ms": took_ms}},
        )
        set_correlation_id(None)


class BodyLimit:
    """Refuses a body larger than `limits.MAX_BODY_BYTES` from its Content-Length,
    before a byte of it is read (a body without a length is never read at all)."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        length = req.content_length
        if length is not None and length > limits.MAX_BODY_BYTES:
            # close the connection rather than read the rest of a body nobody wants
            raise falcon.HTTPContentTooLarge(
                description=f"The body may be at most {limits.MAX_BODY_BYTES} bytes; this one is {length}.",
                headers={"Connection": "close"},
            )


def bearer_token(req: falcon.Request) -> str | None:
    header = req.get_header("Authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class Authentication:
    """Who holds the token: kept in this process from org's answer, dropped the moment org
    says it was revoked (`gateway.principals`); asked of org when not kept."""

    def __init__(self, rpc_pool: RpcPool, principals: Principals | None = None) -> None:
        self.rpc_pool = rpc_pool
        self.principals = principals

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource, params: dict) -> None:
        operation = getattr(resource, "operation", None)
        op = operation(req.method) if operation else None
        if op is None or op.public:
            return
        token = bearer_token(req)
        if token is None:
            raise NotAuthenticated("Send 'Authorization: Bearer <token>' from /api/v1/auth/sign-in.")
        principal = self.principals.get(token) if self.principals is not None else None
        if principal is None:
            asked_at = time.monotonic()
            principal = self.rpc_pool.call("org", "authenticate", token, correlation_id=req.context.request_id)
            if self.principals is not None:
                self.principals.put(token, principal, asked_at)
        req.context.actor = Actor.from_dict(principal)
        req.context.token = token
        req.context.params = params
        req.context.revokes = op.revokes

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource, req_succeeded: bool) -> None:
        # what this request revoked is in force in this process at once, before org's event comes back
        revokes = req.context.get("revokes")
        if revokes is None or self.principals is None:
            return
        params, actor, token = req.context.get("params") or {}, req.context.actor, req.context.token
        if revokes == "own_sessions" and resp.status_code == 403:  # guessing locked the account: all signed out
            self.principals.forget("sessions_revoked", {"staff_id": actor.staff_id})
            return
        if not req_succeeded:
            return
        if revokes == "token":
            self.principals.forget("sessions_revoked", {"token_hash": token_hash(token)})
        elif revokes == "own_sessions":
            revoked = {"staff_id": actor.staff_id, "kept_token_hash": token_hash(token)}
            self.principals.forget("sessions_revoked", revoked)
        elif revokes == "staff" and params.get("staff_id"):
            self.principals.forget("staff_changed", {"staff_id": params["staff_id"]})
        elif revokes == "chain" and params.get("chain_id"):
            self.principals.forget("chain_changed", {"chain_id": params["chain_id"]})
