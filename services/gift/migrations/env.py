"""Alembic environment of the `gift` schema; the kit does the work."""

from services.gift.models import Base
from services.kit.migrations import run_migrations

run_migrations(Base.metadata)
