"""Alembic environment of the `member` schema; the kit does the work."""

from services.kit.migrations import run_migrations
from services.member.models import Base

run_migrations(Base.metadata)
