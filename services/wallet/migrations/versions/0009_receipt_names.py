"""chains, stores, staff: the names and receipt footer a printable receipt needs (S-3)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 21:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable: a copy kept before now has not heard them; org's next event of it fills them,
    # and until then a receipt asks org
    op.add_column('chains', sa.Column('name', sa.String(length=200), nullable=True), schema='wallet')
    op.add_column('chains', sa.Column('receipt_footer', sa.String(length=500), nullable=True), schema='wallet')
    op.add_column('stores', sa.Column('name', sa.String(length=200), nullable=True), schema='wallet')
    op.add_column('staff', sa.Column('display_name', sa.String(length=100), nullable=True), schema='wallet')


def downgrade() -> None:
    op.drop_column('staff', 'display_name', schema='wallet')
    op.drop_column('stores', 'name', schema='wallet')
    op.drop_column('chains', 'receipt_footer', schema='wallet')
    op.drop_column('chains', 'name', schema='wallet')
