"""Every HTTP operation described once, as data.

An `Operation` names its method and path, the contracts of its query, body
and answer, who may call it, and the RPC it makes. The same list builds the
routes, runs the checks every endpoint shares (sign-in, role, chain and store
scope, validation, the Idempotency-Key) and writes the OpenAPI document, so
the three cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import falcon
from marshmallow import Schema

from contracts.auth import Actor
from contracts.base import CARD_NO_PATTERN, UUID_PATTERN, load
from contracts.errors import BadRequest, Forbidden, HuiyuanError, NotFound, ValidationFailed
from gateway.exports import Download
from gateway.rpc import RpcPool
from services.kit.idempotency import MAX_KEY_LENGTH

API = "/api/v1"
_ID = re.compile(UUID_PATTERN)
_CARD_NO = re.compile(CARD_NO_PATTERN)
# visible ASCII, spaces only inside: HTTP drops a header's outer spaces, and a key is compared byte for byte
IDEMPOTENCY_KEY_PATTERN = r"^[!-~](?:[ -~]*[!-~])?$"
_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)


@dataclass
class Call:
    """What an operation's handler gets: the caller and the validated request."""

    rpc_pool: RpcPool
    correlation_id: str
    actor: Actor | None
    token: str | None
    params: dict[str, str]
    query: dict[str, Any]
    body: dict[str, Any]
    idempotency_key: str | None
    ip: str
    user_agent: str

    @property
    def who(self) -> dict:
        return self.actor.to_dict() if self.actor else {}

    def rpc(self, service: str, method: str, *args: Any) -> Any:
        return self.rpc_pool.call(service, method, *args, correlation_id=self.correlation_id)


# Where a forwarded RPC's arguments come from (see `forward`); any other name is a path parameter.
ACTOR, BODY, QUERY, KEY, TOKEN, IP, USER_AGENT = "actor", "body", "query", "key", "token", "ip", "user_agent"
# what each source is called in the service's RPC signature
PARAMETER_NAMES = {BODY: "data", KEY: "idempotency_key"}


@dataclass(frozen=True)
class Literal:
    """A fixed argument of a forwarded RPC (the status a "disable" operation sets)."""

    value: Any


@dataclass(frozen=True)
class Forward:
    """An operation that calls `target` ("service.method") with arguments taken from the call,
    and answers what it returns (or the field `pick` of it)."""

    target: str
    args: tuple[str | Literal, ...]
    name: str
    pick: str | None = None

    @property
    def __name__(self) -> str:  # the operation id in the OpenAPI document
        return self.name

    @property
    def service(self) -> str:
        return self.target.split(".")[0]

    @property
    def method(self) -> str:
        return self.target.split(".")[1]

    def argument(self, call: Call, source: str | Literal) -> Any:
        if isinstance(source, Literal):
            return source.value
        sources = {
            ACTOR: lambda: call.who,
            BODY: lambda: call.body,
            QUERY: lambda: call.query,
            KEY: lambda: call.idempotency_key,
            TOKEN: lambda: call.token,
            IP: lambda: call.ip,
            USER_AGENT: lambda: call.user_agent,
        }
        return sources[source]() if source in sources else call.params[source]

    def __call__(self, call: Call) -> Any:
        answer = call.rpc(self.service, self.method, *(self.argument(call, a) for a in self.args))
        return answer[self.pick] if self.pick is not None else answer


def forward(target: str, *args: str | Literal, name: str | None = None, pick: str | None = None) -> Forward:
    """`forward("wallet.consume", ACTOR, "chain_id", BODY, KEY)`: the operation is that RPC."""
    return Forward(target, args, name or target.split(".")[1], pick)


@dataclass
class Operation:
    method: str
    path: str  # below /api/v1, with {name} parameters
    summary: str
    tag: str
    handler: Callable[[Call], Any]
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    response: type[Schema] | None = None
    many: bool = False
    status: int = 200
    public: bool = False
    roles: tuple[str, ...] | None = None  # None: anyone signed in
    needs_key: bool = False  # state-changing POST: Idempotency-Key required
    description: str = ""
    refusals: tuple[int, ...] = ()  # statuses besides the shared ones (sign-in: 401, 403)
    # the body's store_id is where the caller acts (a sale, a recharge): outside their stores, 403
    acts_at_store: bool = False
    # what a success revokes, forgotten by this gateway process at once (other processes hear it
    # from org's events): "token" (sign-out), "own_sessions" (a password change: the caller's
    # other devices), "staff" (the staff member in the path), "chain" (the chain in the path)
    revokes: str | None = None
    # what a success is: JSON by its `response` contract, or a page of this media type (a receipt)
    media_type: str = "application/json"
    # 202 Accepted for an answer whose `status` is "pending" or "cancelling": taken on, its outcome follows
    accepts_pending: bool = False
    # media types of a success that is a file (the handler answers a `gateway.exports.Download`)
    produces: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)

    @property
    def body_required(self) -> bool:
        """A PATCH names what to change; a POST needs a body when its contract has a required field."""
        if self.body is None:
            return False
        return self.method == "PATCH" or any(f.required for f in self.body().fields.values())

    @property
    def full_path(self) -> str:
        return API + self.path

    @property
    def operation_id(self) -> str:
        return self.handler.__name__ if self.handler.__name__ != "<lambda>" else self.summary


def _query_params(req: falcon.Request) -> dict:
    # no query contract has a list: a repeated parameter is ambiguous, so it is refused, not guessed
    repeated = [k for k, v in req.params.items() if isinstance(v, list)]
    if repeated:
        raise BadRequest("Give each query parameter once.", {k: ["Given more than once."] for k in repeated})
    return dict(req.params)


def _check_path(params: dict[str, str]) -> None:
    for name, value in params.items():
        if name.endswith("_id") and not _ID.fullmatch(value):
            raise NotFound(f"No such {name.removesuffix('_id')}.", {name: ["Not a valid id."]})
        if name == "card_no" and (len(value) > 32 or not _CARD_NO.fullmatch(value)):
            raise ValidationFailed("The card number is not valid.", {name: ["A card number has 12 digits."]})


def _scope(actor: Actor, params: dict[str, str], query: dict, body: dict | None) -> None:
    """Coarse store scoping, once the input is known to be well formed; the service checks
    again (non-negotiable 8). A store in the path or query outside the caller's scope is not
    found; the store an operation acts at, named in its body, is refused: a cashier of store A
    cannot ring up a sale at store B."""
    chain_id = params.get("chain_id")
    if chain_id is None:
        return
    store_id = params.get("store_id") or query.get("store_id")
    if store_id is not None:
        actor.require_store(chain_id, store_id)
    acting_at = body.get("store_id") if body is not None else None
    if (
        isinstance(acting_at, str)
        and actor.can_enter_chain(chain_id)
        and not actor.can_access_store(chain_id, acting_at)
    ):
        raise Forbidden("You can only act at your own store.", {"store_id": ["Not one of your stores."]})


_NO_BODY = object()


def _body(req: falcon.Request, required: bool) -> dict:
    media = req.get_media(default_when_empty=_NO_BODY)
    if media is _NO_BODY:
        if required:
            raise BadRequest("Send a JSON object body.", {"_schema": ["A body is required."]})
        return {}
    if not isinstance(media, dict):
        raise BadRequest("The body must be a JSON object.", {"_schema": ["Expected a JSON object."]})
    return media


def _idempotency_key(req: falcon.Request) -> str:
    key = req.get_header("Idempotency-Key")
    if not key or len(key) > MAX_KEY_LENGTH or not _KEY.fullmatch(key):
        raise BadRequest(
            "This request changes state: send an Idempotency-Key header, so a retry cannot apply it twice.",
            {"Idempotency-Key": [f"Required: 1 to {MAX_KEY_LENGTH} visible ASCII characters."]},
        )
    return key


def client_ip(req: falcon.Request, trusted_proxies: int) -> str:
    """The caller's address for the access log. X-Forwarded-For is anyone's to
    write, so only the hops added by our own `trusted_proxies` are believed."""
    if trusted_proxies <= 0:
        return req.remote_addr or ""
    route = req.access_route  # the client first, the peer that connected to us last
    return route[-(trusted_proxies + 1)] if len(route) > trusted_proxies else route[0]


class OperationResource:
    """A Falcon resource serving every operation of one path."""

    def __init__(
        self, operations: list[Operation], rpc_pool: RpcPool, validate_responses: bool, trusted_proxies: int = 0
    ) -> None:
        self.operations = {op.method: op for op in operations}
        self.rpc_pool = rpc_pool
        self.validate_responses = validate_responses
        self.trusted_proxies = trusted_proxies
        for method in self.operations:
            setattr(self, f"on_{method.lower()}", self._respond)

    def operation(self, method: str) -> Operation | None:
        return self.operations.get(method)

    def _respond(self, req: falcon.Request, resp: falcon.Response, **params: str) -> None:
        op = self.operations[req.method]
        _check_path(params)
        actor: Actor | None = req.context.get("actor")
        # who may do this is judged before what they sent: a cashier's bad body for an HQ
        # operation is 403, and another chain is 404, whatever the input
        if actor is not None:
            if op.roles is not None:
                actor.require_role(*op.roles)
            if "chain_id" in params:
                actor.require_chain(params["chain_id"])
        query = _query_params(req)
        if op.query is not None:
            load(op.query, query)  # refuse bad parameters here, with the field named
        elif query:
            raise BadRequest(fields={k: ["Unknown parameter."] for k in query})
        body = _body(req, op.body_required) if op.body is not None else {}
        if op.body is not None:
            load(op.body, body)
        if actor is not None:
            _scope(actor, params, query, body if op.acts_at_store else None)
        call = Call(
            rpc_pool=self.rpc_pool,
            correlation_id=req.context.request_id,
            actor=actor,
            token=req.context.get("token"),
            params=params,
            query=query,
            body=body,
            idempotency_key=_idempotency_key(req) if op.needs_key else None,
            ip=client_ip(req, self.trusted_proxies),
            user_agent=req.user_agent or "",
        )
        result = op.handler(call)
        resp.status = op.status
        if op.status == 204:
            return
        if isinstance(result, Download):
            resp.content_type = result.content_type
            resp.downloadable_as = result.filename
            resp.stream = result.chunks
            return
        if op.media_type != "application/json":
            resp.content_type = f"{op.media_type}; charset=utf-8"
            resp.text = result
            return
        if op.accepts_pending and isinstance(result, dict) and result.get("status") in ("pending", "cancelling"):
            resp.status = 202
        if self.validate_responses and op.response is not None:
            errors = op.response(many=op.many).validate(result)
            if errors:
                raise HuiyuanError(f"response of {op.method} {op.path} breaks its contract: {errors}")
        resp.media = result
