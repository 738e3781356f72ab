"""Request id, access log line, and sign-in for every request."""

from __future__ import annotations

import logging
import re
import time

import falcon

from contracts.auth import Actor
from contracts.errors import NotAuthenticated
from gateway import limits
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
    """Asks `org` who holds the token, on every request: no cache, so a
    sign-out or a disabled account takes effect at once."""

    def __init__(self, rpc_pool: RpcPool) -> None:
        self.rpc_pool = rpc_pool

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource, params: dict) -> None:
        operation = getattr(resource, "operation", None)
        op = operation(req.method) if operation else None
        if op is None or op.public:
            return
        token = bearer_token(req)
        if token is None:
            raise NotAuthenticated("Send 'Authorization: Bearer <token>' from /api/v1/auth/sign-in.")
        principal = self.rpc_pool.call("org", "authenticate", token, correlation_id=req.context.request_id)
        req.context.actor = Actor.from_dict(principal)
        req.context.token = token
