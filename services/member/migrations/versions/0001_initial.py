"""member schema: members, vehicles, cards, tiers, card operation log

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 08:18:17.571973
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from services.kit import kit_schema

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('chain_state',
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('last_card_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_member_seq', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('last_card_seq >= 0 AND last_member_seq >= 0', name=op.f('ck_chain_state_counters_not_negative')),
    sa.PrimaryKeyConstraint('chain_id', name=op.f('pk_chain_state')),
    schema='member'
    )
    kit_schema.create_messaging_tables(op, 'member')
    op.create_table('members',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('member_no', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('phone_cipher', sa.Text(), nullable=False),
    sa.Column('phone_index', sa.String(length=64), nullable=False),
    sa.Column('id_number_cipher', sa.Text(), nullable=True),
    sa.Column('id_number_index', sa.String(length=64), nullable=True),
    sa.Column('gender', sa.String(length=10), nullable=False),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('referrer_id', sa.String(length=36), nullable=True),
    sa.Column('home_store_id', sa.String(length=36), nullable=True),
    sa.Column('tags', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('notes', sa.String(length=500), nullable=False),
    sa.Column('marketing_consent', sa.Boolean(), nullable=False),
    sa.Column('cumulative_spend', sa.BigInteger(), nullable=False),
    sa.Column('lifetime_points', sa.BigInteger(), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("gender IN ('male', 'female', 'unknown')", name=op.f('ck_members_gender')),
    sa.CheckConstraint('referrer_id IS NULL OR referrer_id <> id', name=op.f('ck_members_not_own_referrer')),
    sa.ForeignKeyConstraint(['referrer_id'], ['member.members.id'], name=op.f('fk_members_referrer_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_members')),
    sa.UniqueConstraint('chain_id', 'member_no', name=op.f('uq_members_chain_id_member_no')),
    sa.UniqueConstraint('chain_id', 'phone_index', name=op.f('uq_members_chain_id_phone_index')),
    schema='member'
    )
    op.create_index('ix_members_chain_id_number', 'members', ['chain_id', 'id_number_index'], unique=False, schema='member')
    op.create_index('ix_members_chain_name', 'members', ['chain_id', 'name', 'id'], unique=False, schema='member')
    op.create_index('ix_members_chain_store', 'members', ['chain_id', 'home_store_id', 'member_no'], unique=False, schema='member')
    op.create_table('tiers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('default_discount_bp', sa.Integer(), nullable=False),
    sa.Column('category_discounts', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('points_multiplier_bp', sa.Integer(), nullable=False),
    sa.Column('upgrade_metric', sa.String(length=20), nullable=False),
    sa.Column('upgrade_threshold', sa.BigInteger(), nullable=False),
    sa.Column('validity_months', sa.Integer(), nullable=True),
    sa.Column('renewal_fee', sa.BigInteger(), nullable=False),
    sa.Column('issue_fee', sa.BigInteger(), nullable=False),
    sa.Column('reissue_fee', sa.BigInteger(), nullable=False),
    sa.Column('replacement_fee', sa.BigInteger(), nullable=False),
    sa.Column('recharge_bonus_rules', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('per_transaction_limit', sa.BigInteger(), nullable=True),
    sa.Column('daily_limit', sa.BigInteger(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("upgrade_metric IN ('cumulative_spend', 'lifetime_points')", name=op.f('ck_tiers_upgrade_metric')),
    sa.CheckConstraint('default_discount_bp BETWEEN 0 AND 10000', name=op.f('ck_tiers_discount_range')),
    sa.CheckConstraint('points_multiplier_bp >= 0', name=op.f('ck_tiers_multiplier_not_negative')),
    sa.CheckConstraint('upgrade_threshold >= 0 AND renewal_fee >= 0 AND issue_fee >= 0 AND reissue_fee >= 0 AND replacement_fee >= 0', name=op.f('ck_tiers_amounts_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tiers')),
    sa.UniqueConstraint('chain_id', 'code', name=op.f('uq_tiers_chain_id_code')),
    sa.UniqueConstraint('chain_id', 'rank', name=op.f('uq_tiers_chain_id_rank')),
    schema='member'
    )
    op.create_table('cards',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('member_id', sa.String(length=36), nullable=False),
    sa.Column('card_no', sa.String(length=20), nullable=False),
    sa.Column('tier_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('issued_store_id', sa.String(length=36), nullable=True),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('expiry_date', sa.Date(), nullable=True),
    sa.Column('replaces_card_id', sa.String(length=36), nullable=True),
    sa.Column('replaced_by_card_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(status = 'replaced') = (replaced_by_card_id IS NOT NULL)", name=op.f('ck_cards_replaced_has_successor')),
    sa.CheckConstraint("status IN ('active', 'frozen', 'replaced', 'returned', 'expired')", name=op.f('ck_cards_status')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_cards_version_positive')),
    sa.ForeignKeyConstraint(['member_id'], ['member.members.id'], name=op.f('fk_cards_member_id_members')),
    sa.ForeignKeyConstraint(['replaced_by_card_id'], ['member.cards.id'], name=op.f('fk_cards_replaced_by_card_id_cards')),
    sa.ForeignKeyConstraint(['replaces_card_id'], ['member.cards.id'], name=op.f('fk_cards_replaces_card_id_cards')),
    sa.ForeignKeyConstraint(['tier_id'], ['member.tiers.id'], name=op.f('fk_cards_tier_id_tiers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cards')),
    sa.UniqueConstraint('chain_id', 'card_no', name=op.f('uq_cards_chain_id_card_no')),
    schema='member'
    )
    op.create_index('ix_cards_member', 'cards', ['member_id'], unique=False, schema='member')
    op.create_table('vehicles',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('member_id', sa.String(length=36), nullable=False),
    sa.Column('plate', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.members.id'], name=op.f('fk_vehicles_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vehicles')),
    sa.UniqueConstraint('member_id', 'plate', name=op.f('uq_vehicles_member_id_plate')),
    schema='member'
    )
    op.create_index('ix_vehicles_chain_plate', 'vehicles', ['chain_id', 'plate'], unique=False, schema='member')
    op.create_table('card_operations',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('card_id', sa.String(length=36), nullable=False),
    sa.Column('member_id', sa.String(length=36), nullable=False),
    sa.Column('card_no', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('operator_id', sa.String(length=36), nullable=True),
    sa.Column('operator_name', sa.String(length=100), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('fee', sa.BigInteger(), nullable=False),
    sa.Column('payment_method', sa.String(length=40), nullable=True),
    sa.CheckConstraint("kind IN ('issue', 'tier_change', 'freeze', 'unfreeze', 'replace', 'return', 'renew', 'expire')", name=op.f('ck_card_operations_kind')),
    sa.CheckConstraint('fee >= 0', name=op.f('ck_card_operations_fee_not_negative')),
    sa.ForeignKeyConstraint(['card_id'], ['member.cards.id'], name=op.f('fk_card_operations_card_id_cards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_operations')),
    schema='member'
    )
    op.create_index('ix_card_operations_card', 'card_operations', ['card_id', 'id'], unique=False, schema='member')
    op.create_index('ix_card_operations_store', 'card_operations', ['chain_id', 'store_id', 'id'], unique=False, schema='member')



def downgrade() -> None:

    op.drop_index('ix_card_operations_store', table_name='card_operations', schema='member')
    op.drop_index('ix_card_operations_card', table_name='card_operations', schema='member')
    op.drop_table('card_operations', schema='member')
    op.drop_index('ix_vehicles_chain_plate', table_name='vehicles', schema='member')
    op.drop_table('vehicles', schema='member')
    op.drop_index('ix_cards_member', table_name='cards', schema='member')
    op.drop_table('cards', schema='member')
    op.drop_table('tiers', schema='member')
    op.drop_index('ix_members_chain_store', table_name='members', schema='member')
    op.drop_index('ix_members_chain_name', table_name='members', schema='member')
    op.drop_index('ix_members_chain_id_number', table_name='members', schema='member')
    op.drop_table('members', schema='member')
    kit_schema.drop_messaging_tables(op, 'member')
    op.drop_table('chain_state', schema='member')

