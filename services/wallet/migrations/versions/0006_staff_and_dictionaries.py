"""staff and dictionary codes kept from org events, credit refunded as cash

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 15:01:05.975085
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dictionary_entries',
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('dictionary', sa.String(length=20), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('as_of', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('chain_id', 'dictionary', 'code', name=op.f('pk_dictionary_entries')),
    schema='wallet'
    )
    op.create_table('staff',
    sa.Column('staff_id', sa.String(length=36), nullable=False),
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('as_of', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('staff_id', name=op.f('pk_staff')),
    schema='wallet'
    )
    op.create_index(op.f('ix_wallet_staff_chain_id'), 'staff', ['chain_id'], unique=False, schema='wallet')
    op.add_column('transactions', sa.Column('credit_to_cash', sa.BigInteger(), server_default='0', nullable=False), schema='wallet')


def downgrade() -> None:
    op.drop_column('transactions', 'credit_to_cash', schema='wallet')
    op.drop_index(op.f('ix_wallet_staff_chain_id'), table_name='staff', schema='wallet')
    op.drop_table('staff', schema='wallet')
    op.drop_table('dictionary_entries', schema='wallet')
