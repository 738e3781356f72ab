"""The transport's floor: HTTP through the gateway's own Falcon app and middleware,
one nameko RPC to a service that does nothing, no database. The service answers through
the services' own RPC entrypoint (`services.kit.rpc`), so the floor's transport is theirs
(its replies, for one, are sent without publisher confirms).

Started only by the bench, never by `make run`:
- `python -m bench.floor` runs the do-nothing service (as `services.kit.runner` runs ours);
- `gunicorn -c gateway/gunicorn_conf.py bench.floor:app` serves the gateway app with one
  more route, `GET /bench/floor`, on the bench's floor port (HUIYUAN_GATEWAY_BIND).
"""

from __future__ import annotations

import sys

SERVICE = "huiyuan_bench_floor"
PATH = "/bench/floor"


def _service_class() -> type:
    from services.kit.rpc import rpc

    class FloorService:
        name = SERVICE

        @rpc
        def ping(self) -> str:
            return "pong"

    return FloorService


class FloorResource:
    """No `operation` attribute: the gateway's authentication middleware lets it pass."""

    def __init__(self, pool) -> None:
        self.pool = pool

    def on_get(self, req, resp) -> None:
        resp.media = {"answer": self.pool.call(SERVICE, "ping", correlation_id=req.context.request_id)}


def make_app():
    from gateway.app import create_app
    from gateway.rpc import RpcPool
    from services.kit import config, logs

    settings = config.load()
    logs.setup("bench-floor-gateway", settings.log_level, settings.log_json)
    pool = RpcPool(settings)
    app = create_app(settings, pool)
    app.add_route(PATH, FloorResource(pool))
    return app


def __getattr__(name: str):
    # gunicorn imports `bench.floor:app`; `python -m bench.floor` never builds it
    if name == "app":
        return make_app()
    raise AttributeError(name)


def main() -> None:
    import eventlet

    eventlet.monkey_patch()
    from nameko.cli.run import run

    from services.kit import config, logs

    settings = config.load()
    logs.setup(SERVICE, settings.log_level, settings.log_json)
    run([_service_class()], {"AMQP_URI": settings.amqp_uri, "serializer": "json", "max_workers": settings.max_workers})


if __name__ == "__main__":
    main()
    sys.exit(0)
