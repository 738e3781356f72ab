"""outbox: per-row refusals, retry time and parking (kit step 3)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 15:30:00
"""
from alembic import op

from services.kit import kit_schema

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    kit_schema.add_outbox_parking(op, 'org')


def downgrade() -> None:
    kit_schema.drop_outbox_parking(op, 'org')
