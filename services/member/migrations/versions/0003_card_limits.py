"""card limits

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 09:17:10.619161
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('cards', sa.Column('per_transaction_limit', sa.BigInteger(), nullable=True), schema='member')
    op.add_column('cards', sa.Column('daily_limit', sa.BigInteger(), nullable=True), schema='member')
    # CHECK constraints are not seen by autogenerate: written by hand
    op.create_check_constraint(
        op.f('ck_cards_limits_not_negative'), 'cards',
        "(per_transaction_limit IS NULL OR per_transaction_limit >= 0) AND (daily_limit IS NULL OR daily_limit >= 0)",
        schema='member',
    )
    op.drop_constraint(op.f('ck_card_operations_kind'), 'card_operations', schema='member', type_='check')
    op.create_check_constraint(
        op.f('ck_card_operations_kind'), 'card_operations',
        "kind IN ('issue', 'tier_change', 'freeze', 'unfreeze', 'replace', 'return', 'renew', 'expire', 'limits')",
        schema='member',
    )


def downgrade() -> None:
    op.drop_constraint(op.f('ck_card_operations_kind'), 'card_operations', schema='member', type_='check')
    op.create_check_constraint(
        op.f('ck_card_operations_kind'), 'card_operations',
        "kind IN ('issue', 'tier_change', 'freeze', 'unfreeze', 'replace', 'return', 'renew', 'expire')",
        schema='member',
    )
    op.drop_constraint(op.f('ck_cards_limits_not_negative'), 'cards', schema='member', type_='check')
    op.drop_column('cards', 'daily_limit', schema='member')
    op.drop_column('cards', 'per_transaction_limit', schema='member')
