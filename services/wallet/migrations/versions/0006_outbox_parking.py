"""outbox: per-row refusals, retry time and parking

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 10:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('outbox', sa.Column('rejections', sa.Integer(), server_default='0', nullable=False), schema='wallet')
    op.add_column('outbox', sa.Column('retry_at', sa.DateTime(timezone=True), nullable=True), schema='wallet')
    op.add_column('outbox', sa.Column('parked_at', sa.DateTime(timezone=True), nullable=True), schema='wallet')


def downgrade() -> None:
    op.drop_column('outbox', 'parked_at', schema='wallet')
    op.drop_column('outbox', 'retry_at', schema='wallet')
    op.drop_column('outbox', 'rejections', schema='wallet')
