"""package refunds

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 09:22:41.531427
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('entitlements', sa.Column('refund_tx_id', sa.String(length=36), nullable=True), schema='wallet')
    op.create_foreign_key(op.f('fk_entitlements_refund_tx_id_transactions'), 'entitlements', 'transactions', ['refund_tx_id'], ['id'], source_schema='wallet', referent_schema='wallet')
    # CHECK constraints are not seen by autogenerate: written by hand
    op.drop_constraint(op.f('ck_transactions_kind'), 'transactions', schema='wallet', type_='check')
    op.create_check_constraint(op.f('ck_transactions_kind'), 'transactions', "kind IN ('recharge', 'bonus_grant', 'consume', 'refund', 'package_sale', 'package_refund', 'card_return', 'credit_limit', 'credit_settlement', 'fee')", schema='wallet')


def downgrade() -> None:
    op.drop_constraint(op.f('ck_transactions_kind'), 'transactions', schema='wallet', type_='check')
    op.create_check_constraint(op.f('ck_transactions_kind'), 'transactions', "kind IN ('recharge', 'bonus_grant', 'consume', 'refund', 'package_sale', 'card_return', 'credit_limit', 'credit_settlement', 'fee')", schema='wallet')
    op.drop_constraint(op.f('fk_entitlements_refund_tx_id_transactions'), 'entitlements', schema='wallet', type_='foreignkey')
    op.drop_column('entitlements', 'refund_tx_id', schema='wallet')
