"""The Falcon application: `create_app(settings, rpc_pool)`."""

from __future__ import annotations

import falcon

from gateway import console, errors, limits, middleware
from gateway.dashboard import DashboardPage
from gateway.health import Metrics, Probe, Ready
from gateway.metrics import CountRequests, HttpFigures
from gateway.openapi import build_spec, reference_page
from gateway.operations import API, Operation, OperationResource
from gateway.principals import Principals
from gateway.routes import all_operations
from gateway.rpc import RpcPool
from services.kit import config as kit_config
from services.kit.config import Settings


class Health:
    """The process is up; says nothing about what it depends on."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "ok"}


class OpenApi:
    def __init__(self, document: dict) -> None:
        self.document = document
        self.page = reference_page(document)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.document

    def on_get_docs(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.text = self.page


def _group_by_path(operations: list[Operation]) -> dict[str, list[Operation]]:
    by_path: dict[str, list[Operation]] = {}
    for op in operations:
        by_path.setdefault(op.full_path, []).append(op)
    return by_path


def create_app(
    settings: Settings,
    rpc_pool: RpcPool | None = None,
    *,
    services: tuple[str, ...] = kit_config.SERVICES,
    validate_responses: bool = False,
    principals: Principals | None = None,
    keep_principals: bool = True,
) -> falcon.App:
    """The gateway; `validate_responses` checks every answer against its contract (tests turn it on)."""
    rpc_pool = rpc_pool or RpcPool(settings)
    if principals is None and keep_principals:
        principals = Principals(settings.amqp_uri)
    authentication = middleware.Authentication(rpc_pool, principals)
    http_figures = HttpFigures()
    app = falcon.App(
        middleware=[CountRequests(http_figures), middleware.RequestId(), middleware.BodyLimit(), authentication]
    )
    app.req_options.strip_url_path_trailing_slash = True
    # a JSON body nested deeper than any contract is refused (400) before it reaches a recursive parser
    json_handler = falcon.media.JSONHandler(loads=limits.loads)
    app.req_options.media_handlers[falcon.MEDIA_JSON] = json_handler
    errors.install(app)
    operations = all_operations()
    for path, ops in _group_by_path(operations).items():
        app.add_route(path, OperationResource(ops, rpc_pool, validate_responses, settings.trusted_proxies))
    app.add_route("/health", Health())
    probe = Probe(settings, services)
    app.add_route("/ready", Ready(probe))
    app.add_route("/metrics", Metrics(probe, http_figures))
    docs = OpenApi(build_spec(operations))
    app.add_route(f"{API}/openapi.json", docs)
    app.add_route(f"{API}/docs", docs, suffix="docs")
    page = DashboardPage()
    app.add_route("/dashboard", page)
    app.add_route("/static/{name}", page, suffix="static")
    # the web console: a client of the API above like any other, served from the same origin
    console.install(app)
    return app
