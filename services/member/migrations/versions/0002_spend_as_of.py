"""spend_as_of on members

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 09:12:13.743420
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('members', sa.Column('spend_as_of', sa.DateTime(timezone=True), nullable=True), schema='member')


def downgrade() -> None:
    op.drop_column('members', 'spend_as_of', schema='member')
