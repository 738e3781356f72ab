"""a consume's message waits for its points (status waiting, consume_points); a kind may go by
e-mail or by both channels

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 20:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('consume_points',
    sa.Column('chain_id', sa.String(length=36), nullable=False),
    sa.Column('consume_id', sa.String(length=36), nullable=False),
    sa.Column('consumed', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('points_earned', sa.BigInteger(), nullable=True),
    sa.Column('points_total', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('chain_id', 'consume_id', name=op.f('pk_consume_points')),
    schema='notification'
    )
    op.drop_constraint(op.f('ck_messages_status'), 'messages', schema='notification', type_='check')
    op.create_check_constraint(
        op.f('ck_messages_status'), 'messages',
        "status IN ('draft', 'waiting', 'queued', 'sending', 'sent', 'failed')", schema='notification',
    )
    op.drop_index('ix_messages_due', table_name='messages', schema='notification')
    op.create_index('ix_messages_due', 'messages', ['next_attempt_at'], unique=False, schema='notification', postgresql_where=sa.text("status IN ('waiting', 'queued', 'sending')"))
    op.drop_constraint(op.f('ck_kind_settings_channel'), 'kind_settings', schema='notification', type_='check')
    op.create_check_constraint(
        op.f('ck_kind_settings_channel'), 'kind_settings', "channel IN ('sms', 'email', 'both')", schema='notification'
    )


def downgrade() -> None:
    op.execute("UPDATE notification.kind_settings SET channel = 'sms' WHERE channel = 'both'")
    op.drop_constraint(op.f('ck_kind_settings_channel'), 'kind_settings', schema='notification', type_='check')
    op.create_check_constraint(
        op.f('ck_kind_settings_channel'), 'kind_settings', "channel IN ('sms', 'email')", schema='notification'
    )
    op.execute("UPDATE notification.messages SET status = 'queued' WHERE status = 'waiting'")
    op.drop_index('ix_messages_due', table_name='messages', schema='notification')
    op.create_index('ix_messages_due', 'messages', ['next_attempt_at'], unique=False, schema='notification', postgresql_where=sa.text("status IN ('queued', 'sending')"))
    op.drop_constraint(op.f('ck_messages_status'), 'messages', schema='notification', type_='check')
    op.create_check_constraint(
        op.f('ck_messages_status'), 'messages',
        "status IN ('draft', 'queued', 'sending', 'sent', 'failed')", schema='notification',
    )
    op.drop_table('consume_points', schema='notification')
