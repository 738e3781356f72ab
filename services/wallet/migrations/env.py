"""Alembic environment of the `wallet` schema; the kit does the work."""

from services.kit.migrations import run_migrations
from services.wallet.models import Base

run_migrations(Base.metadata)
