"""notification schema: settings, copies, messages

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 17:49:43.061856
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
    kit_schema.create_all(op, 'notification')
    op.create_table('chains',
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('sms_signature', sa.String(length=40), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('as_of', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('chain_id', name=op.f('pk_chains')),
    schema='notification'
    )
    op.create_table('kind_settings',
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('sms_text', sa.Text(), nullable=True),
    sa.Column('email_subject', sa.String(length=200), nullable=True),
    sa.Column('email_text', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("channel IN ('sms', 'email')", name=op.f('ck_kind_settings_channel')),
    sa.PrimaryKeyConstraint('chain_id', 'kind', name=op.f('pk_kind_settings')),
    schema='notification'
    )
    op.create_table('members',
    sa.Column('member_id', sa.String(length=36), nullable=False),
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('as_of', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_members')),
    schema='notification'
    )
    op.create_index('ix_members_birthday', 'members', ['chain_id', sa.literal_column('extract(month from birthday)')], unique=False, schema='notification')
    op.create_table('messages',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('source_key', sa.String(length=120), nullable=False),
    sa.Column('member_id', sa.String(length=36), nullable=True),
    sa.Column('recipient_cipher', sa.Text(), nullable=True),
    sa.Column('recipient_index', sa.String(length=64), nullable=True),
    sa.Column('recipient_masked', sa.String(length=340), nullable=True),
    sa.Column('variables', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('retried_at_attempt', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('provider', sa.String(length=20), nullable=True),
    sa.Column('provider_message_id', sa.String(length=200), nullable=True),
    sa.Column('provider_status', sa.String(length=40), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=True),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("channel IN ('sms', 'email')", name=op.f('ck_messages_channel')),
    sa.CheckConstraint("status IN ('draft', 'queued', 'sending', 'sent', 'failed')", name=op.f('ck_messages_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sa.UniqueConstraint('chain_id', 'source_key', name=op.f('uq_messages_chain_id_source_key')),
    schema='notification'
    )
    op.create_index('ix_messages_chain_created', 'messages', ['chain_id', 'created_at', 'id'], unique=False, schema='notification')
    op.create_index('ix_messages_chain_member', 'messages', ['chain_id', 'member_id', 'created_at'], unique=False, schema='notification')
    op.create_index('ix_messages_chain_recipient', 'messages', ['chain_id', 'recipient_index'], unique=False, schema='notification')
    op.create_index('ix_messages_due', 'messages', ['next_attempt_at'], unique=False, schema='notification', postgresql_where=sa.text("status IN ('queued', 'sending')"))
    op.create_table('provider_settings',
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('sms_provider', sa.String(length=20), nullable=False),
    sa.Column('http_base_url', sa.String(length=300), nullable=True),
    sa.Column('http_account', sa.String(length=100), nullable=True),
    sa.Column('http_secret_cipher', sa.Text(), nullable=True),
    sa.Column('http_timeout_ms', sa.Integer(), nullable=False),
    sa.Column('email_provider', sa.String(length=20), nullable=False),
    sa.Column('smtp_host', sa.String(length=253), nullable=True),
    sa.Column('smtp_port', sa.Integer(), nullable=False),
    sa.Column('smtp_security', sa.String(length=10), nullable=False),
    sa.Column('smtp_username', sa.String(length=200), nullable=True),
    sa.Column('smtp_password_cipher', sa.Text(), nullable=True),
    sa.Column('email_from', sa.String(length=320), nullable=True),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('retry_base_ms', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("email_provider IN ('record', 'smtp')", name=op.f('ck_provider_settings_email_provider')),
    sa.CheckConstraint("sms_provider IN ('record', 'http')", name=op.f('ck_provider_settings_sms_provider')),
    sa.CheckConstraint("smtp_security IN ('none', 'starttls', 'ssl')", name=op.f('ck_provider_settings_smtp_security')),
    sa.CheckConstraint('max_attempts BETWEEN 1 AND 10', name=op.f('ck_provider_settings_max_attempts')),
    sa.PrimaryKeyConstraint('chain_id', name=op.f('pk_provider_settings')),
    schema='notification'
    )
    op.create_table('schedule_runs',
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('chain_id', 'kind', name=op.f('pk_schedule_runs')),
    schema='notification'
    )
    op.create_table('stores',
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('as_of', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('store_id', name=op.f('pk_stores')),
    schema='notification'
    )
    op.create_table('tiers',
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('as_of', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('chain_id', 'code', name=op.f('pk_tiers')),
    schema='notification'
    )


def downgrade() -> None:
    kit_schema.drop_all(op, 'notification')
    op.drop_table('tiers', schema='notification')
    op.drop_table('stores', schema='notification')
    op.drop_table('schedule_runs', schema='notification')
    op.drop_table('provider_settings', schema='notification')
    op.drop_index('ix_messages_due', table_name='messages', schema='notification', postgresql_where=sa.text("status IN ('queued', 'sending')"))
    op.drop_index('ix_messages_chain_recipient', table_name='messages', schema='notification')
    op.drop_index('ix_messages_chain_member', table_name='messages', schema='notification')
    op.drop_index('ix_messages_chain_created', table_name='messages', schema='notification')
    op.drop_table('messages', schema='notification')
    op.drop_index('ix_members_birthday', table_name='members', schema='notification')
    op.drop_table('members', schema='notification')
    op.drop_table('kind_settings', schema='notification')
    op.drop_table('chains', schema='notification')
