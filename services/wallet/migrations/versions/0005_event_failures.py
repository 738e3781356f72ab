"""event failures

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 09:44:32.431508
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from services.kit import kit_schema

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    kit_schema.create_event_failures(op, 'wallet')


def downgrade() -> None:
    kit_schema.drop_event_failures(op, 'wallet')
