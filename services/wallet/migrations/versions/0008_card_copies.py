"""cards: what member last said of a card, kept so a money operation need not ask (issue 11)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 18:00:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cards',
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('card_no', sa.String(length=32), nullable=False),
    sa.Column('card_id', sa.String(length=36), nullable=False),
    sa.Column('member_id', sa.String(length=36), nullable=False),
    sa.Column('context', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('as_of', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('chain_id', 'card_no', name=op.f('pk_cards')),
    schema='wallet'
    )
    op.create_index(op.f('ix_wallet_cards_card_id'), 'cards', ['card_id'], unique=False, schema='wallet')
    op.create_index(op.f('ix_wallet_cards_member_id'), 'cards', ['member_id'], unique=False, schema='wallet')


def downgrade() -> None:
    op.drop_index(op.f('ix_wallet_cards_member_id'), table_name='cards', schema='wallet')
    op.drop_index(op.f('ix_wallet_cards_card_id'), table_name='cards', schema='wallet')
    op.drop_table('cards', schema='wallet')
