"""Alembic environment of the `points` schema; the kit does the work."""

from services.kit.migrations import run_migrations
from services.points.models import Base

run_migrations(Base.metadata)
