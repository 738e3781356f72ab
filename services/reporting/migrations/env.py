"""Alembic environment of the `reporting` schema; the kit does the work."""

from services.kit.migrations import run_migrations
from services.reporting.models import Base

run_migrations(Base.metadata)
