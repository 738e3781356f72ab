"""campaigns, member facts for segments, quiet hours

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 18:03:16.535079
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('campaigns',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('segment', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('send_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('total', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'scheduled', 'running', 'done')", name=op.f('ck_campaigns_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    schema='notification'
    )
    op.create_index('ix_campaigns_chain_created', 'campaigns', ['chain_id', 'created_at', 'id'], unique=False, schema='notification')
    op.create_index('ix_campaigns_due', 'campaigns', ['send_at'], unique=False, schema='notification', postgresql_where=sa.text("status = 'scheduled'"))
    op.add_column('members', sa.Column('home_store_id', sa.String(length=36), nullable=True), schema='notification')
    op.add_column('members', sa.Column('tags', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False), schema='notification')
    op.add_column('members', sa.Column('marketing_consent', sa.Boolean(), server_default=sa.text('false'), nullable=False), schema='notification')
    op.add_column('members', sa.Column('tier_code', sa.String(length=40), nullable=True), schema='notification')
    op.add_column('members', sa.Column('tier_as_of', sa.DateTime(timezone=True), nullable=True), schema='notification')
    op.add_column('members', sa.Column('last_visit_at', sa.DateTime(timezone=True), nullable=True), schema='notification')
    op.add_column('messages', sa.Column('held', sa.Boolean(), server_default=sa.text('false'), nullable=False), schema='notification')
    op.add_column('messages', sa.Column('campaign_id', sa.String(length=36), nullable=True), schema='notification')
    op.create_index('ix_messages_campaign', 'messages', ['campaign_id', 'status'], unique=False, schema='notification', postgresql_where=sa.text('campaign_id IS NOT NULL'))
    op.add_column('provider_settings', sa.Column('quiet_start', sa.Time(), nullable=True), schema='notification')
    op.add_column('provider_settings', sa.Column('quiet_end', sa.Time(), nullable=True), schema='notification')
    op.add_column('provider_settings', sa.Column('marketing_per_minute', sa.Integer(), server_default='600', nullable=False), schema='notification')


def downgrade() -> None:
    op.drop_column('provider_settings', 'marketing_per_minute', schema='notification')
    op.drop_column('provider_settings', 'quiet_end', schema='notification')
    op.drop_column('provider_settings', 'quiet_start', schema='notification')
    op.drop_index('ix_messages_campaign', table_name='messages', schema='notification', postgresql_where=sa.text('campaign_id IS NOT NULL'))
    op.drop_column('messages', 'campaign_id', schema='notification')
    op.drop_column('messages', 'held', schema='notification')
    op.drop_column('members', 'last_visit_at', schema='notification')
    op.drop_column('members', 'tier_as_of', schema='notification')
    op.drop_column('members', 'tier_code', schema='notification')
    op.drop_column('members', 'marketing_consent', schema='notification')
    op.drop_column('members', 'tags', schema='notification')
    op.drop_column('members', 'home_store_id', schema='notification')
    op.drop_index('ix_campaigns_due', table_name='campaigns', schema='notification', postgresql_where=sa.text("status = 'scheduled'"))
    op.drop_index('ix_campaigns_chain_created', table_name='campaigns', schema='notification')
    op.drop_table('campaigns', schema='notification')
