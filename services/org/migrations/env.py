"""Alembic environment of the `org` schema; the kit does the work."""

from services.kit.migrations import run_migrations
from services.org.models import Base

run_migrations(Base.metadata)
