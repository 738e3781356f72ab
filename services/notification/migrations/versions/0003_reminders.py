"""reminders: service rules, visits per category, package copies, a kind's days before

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 20:40:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('category_visits',
    sa.Column('member_id', sa.String(length=36), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('last_visit_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('member_id', 'category', name=op.f('pk_category_visits')),
    schema='notification'
    )
    op.create_index('ix_category_visits_chain', 'category_visits', ['chain_id', 'category', 'last_visit_at'], unique=False, schema='notification')
    op.create_table('packages',
    sa.Column('entitlement_id', sa.String(length=36), nullable=False),
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('member_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('remaining_count', sa.Integer(), nullable=True),
    sa.Column('remaining_as_of', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.PrimaryKeyConstraint('entitlement_id', name=op.f('pk_packages')),
    schema='notification'
    )
    op.create_index('ix_packages_expiry', 'packages', ['chain_id', 'valid_until'], unique=False, schema='notification', postgresql_where=sa.text('NOT closed'))
    op.create_table('service_rules',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('service_name', sa.String(length=40), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('days BETWEEN 1 AND 365', name=op.f('ck_service_rules_days')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_rules')),
    sa.UniqueConstraint('chain_id', 'category', name=op.f('uq_service_rules_chain_id_category')),
    schema='notification'
    )
    op.add_column('kind_settings', sa.Column('days_before', sa.Integer(), nullable=True), schema='notification')
    op.create_check_constraint(op.f('ck_kind_settings_days_before'), 'kind_settings', 'days_before IS NULL OR days_before BETWEEN 0 AND 90', schema='notification')


def downgrade() -> None:
    op.drop_constraint(op.f('ck_kind_settings_days_before'), 'kind_settings', schema='notification', type_='check')
    op.drop_column('kind_settings', 'days_before', schema='notification')
    op.drop_table('service_rules', schema='notification')
    op.drop_index('ix_packages_expiry', table_name='packages', schema='notification', postgresql_where=sa.text('NOT closed'))
    op.drop_table('packages', schema='notification')
    op.drop_index('ix_category_visits_chain', table_name='category_visits', schema='notification')
    op.drop_table('category_visits', schema='notification')
