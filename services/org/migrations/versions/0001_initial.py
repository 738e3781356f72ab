"""org schema: chains, stores, staff, sessions, access log, dictionaries

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 08:11:53.825227
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
    op.create_table('access_log',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('event', sa.String(length=30), nullable=False),
    sa.Column('username', sa.String(length=60), nullable=False),
    sa.Column('staff_id', sa.String(length=36), nullable=True),
    sa.Column('chain_id', sa.String(length=36), nullable=True),
    sa.Column('store_id', sa.String(length=36), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=300), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_log')),
    schema='org'
    )
    op.create_index('ix_access_log_chain_at', 'access_log', ['chain_id', 'at'], unique=False, schema='org')
    op.create_table('chains',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('requires_store_approval', sa.Boolean(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('receipt_footer', sa.String(length=500), nullable=False),
    sa.Column('sms_signature', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('active', 'suspended')", name=op.f('ck_chains_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chains')),
    sa.UniqueConstraint('code', name=op.f('uq_chains_code')),
    schema='org'
    )
    kit_schema.create_messaging_tables(op, 'org')
    op.create_table('categories',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['chain_id'], ['org.chains.id'], name=op.f('fk_categories_chain_id_chains')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_categories')),
    sa.UniqueConstraint('chain_id', 'code', name=op.f('uq_categories_chain_id_code')),
    schema='org'
    )
    op.create_table('items',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('category_code', sa.String(length=40), nullable=False),
    sa.Column('price', sa.BigInteger(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('service', 'goods')", name=op.f('ck_items_kind')),
    sa.CheckConstraint('price >= 0', name=op.f('ck_items_price_not_negative')),
    sa.ForeignKeyConstraint(['chain_id'], ['org.chains.id'], name=op.f('fk_items_chain_id_chains')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_items')),
    sa.UniqueConstraint('chain_id', 'code', name=op.f('uq_items_chain_id_code')),
    schema='org'
    )
    op.create_table('payment_methods',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['chain_id'], ['org.chains.id'], name=op.f('fk_payment_methods_chain_id_chains')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_methods')),
    sa.UniqueConstraint('chain_id', 'code', name=op.f('uq_payment_methods_chain_id_code')),
    schema='org'
    )
    op.create_table('stores',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('franchisee_id', sa.String(length=36), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('direct', 'franchise')", name=op.f('ck_stores_kind')),
    sa.CheckConstraint("status IN ('active', 'pending_approval', 'rejected', 'closed')", name=op.f('ck_stores_status')),
    sa.ForeignKeyConstraint(['chain_id'], ['org.chains.id'], name=op.f('fk_stores_chain_id_chains')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stores')),
    sa.UniqueConstraint('chain_id', 'code', name=op.f('uq_stores_chain_id_code')),
    schema='org'
    )
    op.create_index('ix_stores_chain_franchisee', 'stores', ['chain_id', 'franchisee_id'], unique=False, schema='org')
    op.create_table('staff',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('chain_id', sa.String(length=36), nullable=True),
    sa.Column('store_id', sa.String(length=36), nullable=True),
    sa.Column('username', sa.String(length=60), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('level', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_sign_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('password_changed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(role = 'platform_admin') = (chain_id IS NULL)", name=op.f('ck_staff_chain_matches_role')),
    sa.CheckConstraint("(role IN ('store_manager', 'cashier')) = (store_id IS NOT NULL)", name=op.f('ck_staff_store_matches_role')),
    sa.CheckConstraint("role IN ('platform_admin', 'hq_admin', 'franchisee', 'store_manager', 'cashier')", name=op.f('ck_staff_role')),
    sa.CheckConstraint("status IN ('active', 'disabled')", name=op.f('ck_staff_status')),
    sa.ForeignKeyConstraint(['chain_id'], ['org.chains.id'], name=op.f('fk_staff_chain_id_chains')),
    sa.ForeignKeyConstraint(['store_id'], ['org.stores.id'], name=op.f('fk_staff_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff')),
    sa.UniqueConstraint('username', name=op.f('uq_staff_username')),
    schema='org'
    )
    op.create_index('ix_staff_chain_store', 'staff', ['chain_id', 'store_id'], unique=False, schema='org')
    op.create_table('sessions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('staff_id', sa.String(length=36), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['org.staff.id'], name=op.f('fk_sessions_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_sessions_token_hash')),
    schema='org'
    )
    op.create_index(op.f('ix_org_sessions_staff_id'), 'sessions', ['staff_id'], unique=False, schema='org')
    # stores and staff refer to each other: this key can only come once both exist
    op.create_foreign_key(
        op.f('fk_stores_franchisee_id_staff'), 'stores', 'staff', ['franchisee_id'], ['id'],
        source_schema='org', referent_schema='org',
    )


def downgrade() -> None:
    op.drop_constraint(op.f('fk_stores_franchisee_id_staff'), 'stores', schema='org', type_='foreignkey')
    op.drop_index(op.f('ix_org_sessions_staff_id'), table_name='sessions', schema='org')
    op.drop_table('sessions', schema='org')
    op.drop_index('ix_staff_chain_store', table_name='staff', schema='org')
    op.drop_table('staff', schema='org')
    op.drop_index('ix_stores_chain_franchisee', table_name='stores', schema='org')
    op.drop_table('stores', schema='org')
    op.drop_table('payment_methods', schema='org')
    op.drop_table('items', schema='org')
    op.drop_table('categories', schema='org')
    kit_schema.drop_messaging_tables(op, 'org')
    op.drop_table('chains', schema='org')
    op.drop_index('ix_access_log_chain_at', table_name='access_log', schema='org')
    op.drop_table('access_log', schema='org')
