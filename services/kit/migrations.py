"""Alembic, once for every service.

Each service's `migrations/env.py` calls `run_migrations(metadata)`. The
version table lives inside the service's own schema, and the service's role
runs its own migrations: it owns its schema and can reach no other.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import MetaData, create_engine, pool

SERVICES_DIR = Path(__file__).resolve().parent.parent
# The role's own search_path is its schema, and alembic would then see that
# schema as the nameless default and compare it against "schema.table" models
# as if they were different tables. Migrating with the search path elsewhere
# keeps every name schema-qualified on both sides.
NEUTRAL_SEARCH_PATH = {"options": "-c search_path=public"}


def run_migrations(metadata: MetaData) -> None:
    from alembic import context

    schema = metadata.schema
    url = context.config.attributes.get("url")
    if url is None:
        from services.kit import config

        url = config.load().database_url(schema)

    def include_name(name, type_, parent_names):
        # only this service's schema is its business
        return type_ != "schema" or name == schema

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, version_table_schema=schema, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    engine = create_engine(url, poolclass=pool.NullPool, connect_args=NEUTRAL_SEARCH_PATH)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=True,
            include_name=include_name,
            compare_server_default=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def alembic_config(service: str, url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
    cfg.attributes["url"] = url
    return cfg


def upgrade(service: str, url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(service, url), revision)


def revision(service: str, url: str, message: str) -> None:
    """Autogenerate a revision of `service` from its models against `url`."""
    from alembic import command

    command.revision(alembic_config(service, url), message=message, autogenerate=True)


def main(argv: list[str]) -> None:
    """`python -m services.kit.migrations revision <service> <message>` (after
    `make provision`, so the database is at head), or `upgrade <service>`."""
    import sys

    from services.kit import config

    if len(argv) < 2 or argv[0] not in ("revision", "upgrade"):
        sys.exit("usage: python -m services.kit.migrations revision <service> <message> | upgrade <service>")
    settings = config.load()
    url = settings.database_url(argv[1])
    if argv[0] == "revision":
        revision(argv[1], url, " ".join(argv[2:]) or "change")
    else:
        upgrade(argv[1], url)


if __name__ == "__main__":
    import sys as _sys

    main(_sys.argv[1:])
