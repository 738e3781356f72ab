"""outbox: per-row refusals, retry time and parking

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 10:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('outbox', sa.Column('rejections', sa.Integer(), server_default='0', nullable=False), schema='org')
    op.add_column('outbox', sa.Column('retry_at', sa.DateTime(timezone=True), nullable=True), schema='org')
    op.add_column('outbox', sa.Column('parked_at', sa.DateTime(timezone=True), nullable=True), schema='org')


def downgrade() -> None:
    op.drop_column('outbox', 'parked_at', schema='org')
    op.drop_column('outbox', 'retry_at', schema='org')
    op.drop_column('outbox', 'rejections', schema='org')
