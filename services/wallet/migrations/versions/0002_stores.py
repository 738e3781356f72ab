"""stores kept from org events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 08:52:31.991406
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stores',
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('store_id', name=op.f('pk_stores')),
    schema='wallet'
    )
    op.create_index(op.f('ix_wallet_stores_chain_id'), 'stores', ['chain_id'], unique=False, schema='wallet')


def downgrade() -> None:
    op.drop_index(op.f('ix_wallet_stores_chain_id'), table_name='stores', schema='wallet')
    op.drop_table('stores', schema='wallet')
