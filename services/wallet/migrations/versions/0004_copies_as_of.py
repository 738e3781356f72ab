"""as_of on copies kept from events

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 09:29:41.541570
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('chains', sa.Column('as_of', sa.DateTime(timezone=True), nullable=True), schema='wallet')
    op.add_column('stores', sa.Column('as_of', sa.DateTime(timezone=True), nullable=True), schema='wallet')


def downgrade() -> None:
    op.drop_column('stores', 'as_of', schema='wallet')
    op.drop_column('chains', 'as_of', schema='wallet')
