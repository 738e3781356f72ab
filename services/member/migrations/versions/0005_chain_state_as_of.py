"""chain state remembers when org set the time zone

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 15:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('chain_state', sa.Column('as_of', sa.DateTime(timezone=True), nullable=True), schema='member')


def downgrade() -> None:
    op.drop_column('chain_state', 'as_of', schema='member')
