"""reporting schema: points facts, gift redemptions (R-6) and card numbers by id

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 19:20:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cards',
    sa.Column('card_id', sa.String(length=36), nullable=False),
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('card_no', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('card_id', name=op.f('pk_cards')),
    schema='reporting'
    )
    op.create_table('points_facts',
    sa.Column('tx_id', sa.String(length=36), nullable=False),
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('member_id', sa.String(length=36), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=True),
    sa.Column('consume_id', sa.String(length=36), nullable=True),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('tx_id', name=op.f('pk_points_facts')),
    schema='reporting'
    )
    op.create_index('ix_points_facts_chain_at', 'points_facts', ['chain_id', 'occurred_at'], unique=False, schema='reporting')
    op.create_index('ix_points_facts_consume', 'points_facts', ['consume_id'], unique=False, schema='reporting')
    op.create_table('gift_redemptions',
    sa.Column('redemption_id', sa.String(length=36), nullable=False),
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('gift_id', sa.String(length=36), nullable=False),
    sa.Column('gift_name', sa.String(length=200), server_default='', nullable=False),
    sa.Column('member_id', sa.String(length=36), nullable=False),
    sa.Column('card_id', sa.String(length=36), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('operator_id', sa.String(length=36), nullable=True),
    sa.Column('redeemed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_operator_id', sa.String(length=36), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('redemption_id', name=op.f('pk_gift_redemptions')),
    schema='reporting'
    )
    op.create_index('ix_gift_redemptions_chain_at', 'gift_redemptions', ['chain_id', 'redeemed_at'], unique=False, schema='reporting')


def downgrade() -> None:
    op.drop_index('ix_gift_redemptions_chain_at', table_name='gift_redemptions', schema='reporting')
    op.drop_table('gift_redemptions', schema='reporting')
    op.drop_index('ix_points_facts_consume', table_name='points_facts', schema='reporting')
    op.drop_index('ix_points_facts_chain_at', table_name='points_facts', schema='reporting')
    op.drop_table('points_facts', schema='reporting')
    op.drop_table('cards', schema='reporting')
