"""Run one or more services: `python -m services.kit.runner org [member ...]`.

Does what `nameko run` does (monkey-patch, start a ServiceRunner, stop cleanly
on SIGTERM or Ctrl-C) with the config built from `HUIYUAN_*` variables
instead of a YAML file, and JSON logs.
"""

from __future__ import annotations

import eventlet  # noqa: E402

import services  # noqa: F401 - quiets eventlet's import-time notice

eventlet.monkey_patch()  # before anything opens a socket

import dataclasses  # noqa: E402
import importlib  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

from nameko.cli.run import run  # noqa: E402

from services.kit import config, logs, producers, queues  # noqa: E402


def service_class(name: str) -> type:
    module = importlib.import_module(f"services.{name}.service")
    return module.SERVICE


def process_settings() -> config.Settings:
    """The settings from the environment; a service process serves /metrics, /health and /ready
    on `DEFAULT_METRICS_PORT` (where the manifests look for them) unless told another port or 0."""
    settings = config.load()
    if not os.environ.get(config.METRICS_PORT_VARIABLE, "").strip():
        settings = dataclasses.replace(settings, metrics_port=config.DEFAULT_METRICS_PORT)
    return settings


def main(argv: list[str]) -> None:
    names = argv or list(config.SERVICES)
    unknown = [n for n in names if n not in config.SERVICES]
    if unknown:
        sys.exit(f"unknown service(s): {', '.join(unknown)}; known: {', '.join(config.SERVICES)}")
    settings = process_settings()
    logs.setup("+".join(names), settings.log_level, settings.log_json)
    producers.install()
    try:
        queues.check_queue_types(settings.amqp_uri, names, settings.queue_type)
    except queues.QueueTypeMismatch as mismatch:
        sys.exit(str(mismatch))
    except Exception as exc:  # noqa: BLE001 - the broker is away: nameko waits for it, as ever
        logging.getLogger(__name__).warning("queue types not checked (broker unreachable?): %r", exc)
    run([service_class(n) for n in names], settings.nameko_config(names))


if __name__ == "__main__":
    main(sys.argv[1:])
