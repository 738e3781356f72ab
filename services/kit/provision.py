"""Make the database and broker ready: `python -m services.kit.provision`.

Creates the database, one role and one schema per service (each role owns its
schema and can use nothing else), runs every service's migrations as that
service's role, declares every event queue so no event published before its
consumer first starts is lost, and creates the platform admin. Safe to run
again: every step checks before it acts.
"""

from __future__ import annotations

import argparse
import importlib
import logging

from kombu import Connection
from kombu.common import maybe_declare
from nameko.containers import ServiceContainer
from nameko.events import EventHandler
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from services.kit import config, db, migrations, queues
from services.kit.config import Settings

log = logging.getLogger(__name__)


def _admin_engine(settings: Settings, database: str | None = None) -> Engine:
    return create_engine(settings.admin_url(database), isolation_level="AUTOCOMMIT")


def ensure_database(settings: Settings, *, recreate: bool = False) -> None:
    engine = _admin_engine(settings)
    name = settings.db_name
    with engine.connect() as conn:
        if recreate:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            log.info("created database %s", name)
    engine.dispose()


def ensure_roles_and_schemas(settings: Settings, services: tuple[str, ...] = config.SERVICES) -> None:
    engine = _admin_engine(settings, settings.db_name)
    with engine.connect() as conn:
        # nobody gets anything by default: not the public schema, not the database
        conn.execute(text("REVOKE ALL ON SCHEMA public FROM PUBLIC"))
        conn.execute(text(f'REVOKE ALL ON DATABASE "{settings.db_name}" FROM PUBLIC'))
        for service in services:
            role = settings.role(service)
            exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
            attributes = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"
            if not exists:
                conn.execute(
                    text(f'CREATE ROLE "{role}" {attributes} PASSWORD :pw'), {"pw": settings.password(service)}
                )
            elif service in settings.db_passwords:
                conn.execute(text(f'ALTER ROLE "{role}" {attributes} PASSWORD :pw'), {"pw": settings.password(service)})
            else:
                # roles belong to the whole cluster: a run with no password of its own for this
                # service (a test database beside `make run`'s) must not change the one in use
                conn.execute(text(f'ALTER ROLE "{role}" {attributes}'))
            conn.execute(text(f'GRANT CONNECT, TEMPORARY ON DATABASE "{settings.db_name}" TO "{role}"'))
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{service}" AUTHORIZATION "{role}"'))
            conn.execute(text(f'ALTER SCHEMA "{service}" OWNER TO "{role}"'))
            conn.execute(text(f'REVOKE ALL ON SCHEMA "{service}" FROM PUBLIC'))
            # role settings, not connection options: they hold behind PgBouncer too (services.kit.db)
            in_db = f'ALTER ROLE "{role}" IN DATABASE "{settings.db_name}" SET'
            conn.execute(text(f'{in_db} search_path = "{service}"'))
            conn.execute(text(f"{in_db} statement_timeout = {db.STATEMENT_TIMEOUT_MS}"))
            conn.execute(text(f"{in_db} lock_timeout = {db.LOCK_TIMEOUT_MS}"))
    engine.dispose()


def migrate(settings: Settings, services: tuple[str, ...] = config.SERVICES) -> None:
    for service in services:
        migrations.upgrade(service, settings.database_url(service))


def service_classes(services: tuple[str, ...] = config.SERVICES) -> list[type]:
    return [importlib.import_module(f"services.{s}.service").SERVICE for s in services]


def declare_topology(settings: Settings, services: tuple[str, ...] = config.SERVICES) -> int:
    """Declare the durable queue of every event handler, bound to its exchange.

    nameko declares these when a consumer starts; declaring them up front means
    events published before a consumer's first start wait in its queue.
    """
    queues.check_queue_types(settings.amqp_uri, services, settings.queue_type)  # a clear error, not a 406
    nameko_config = settings.nameko_config()
    declared = 0
    with Connection(settings.amqp_uri) as connection:
        channel = connection.channel()
        for cls in service_classes(services):
            container = ServiceContainer(cls, nameko_config)
            for entrypoint in container.entrypoints:
                if isinstance(entrypoint, EventHandler):
                    entrypoint.setup()
                    maybe_declare(entrypoint.queue, channel)
                    declared += 1
    return declared


def provision(settings: Settings, *, recreate: bool = False) -> None:
    ensure_database(settings, recreate=recreate)
    ensure_roles_and_schemas(settings)
    migrate(settings)
    declare_topology(settings)


def run_hooks(settings: Settings, services: tuple[str, ...] = config.SERVICES) -> None:
    """What a service sets up once its schema exists: `services.<name>.bootstrap.after_provision`,
    where a service has one (org makes the first platform admin)."""
    for service in services:
        try:
            module = importlib.import_module(f"services.{service}.bootstrap")
        except ModuleNotFoundError as missing:
            if missing.name != f"services.{service}.bootstrap":
                raise
            continue
        hook = getattr(module, "after_provision", None)
        if hook is not None:
            hook(settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recreate", action="store_true", help="drop and recreate the database first")
    args = parser.parse_args()
    logging.basicConfig(level="INFO", format="%(message)s")
    settings = config.load()
    provision(settings, recreate=args.recreate)
    run_hooks(settings)
    print(f"database {settings.db_name} ready: schemas {', '.join(config.SERVICES)} migrated")


if __name__ == "__main__":
    main()
