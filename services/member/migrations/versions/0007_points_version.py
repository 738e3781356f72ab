"""points_version on members: the newest lifetime-points total kept from the points service

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 18:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        'members',
        sa.Column('points_version', sa.BigInteger(), server_default='0', nullable=False),
        schema='member',
    )


def downgrade() -> None:
    op.drop_column('members', 'points_version', schema='member')
