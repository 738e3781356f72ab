"""event failures

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 09:44:30.641033
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from services.kit import kit_schema

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    kit_schema.create_event_failures(op, 'member')


def downgrade() -> None:
    kit_schema.drop_event_failures(op, 'member')
