"""event failures

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 09:44:28.776160
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from services.kit import kit_schema

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    kit_schema.create_event_failures(op, 'org')


def downgrade() -> None:
    kit_schema.drop_event_failures(op, 'org')
