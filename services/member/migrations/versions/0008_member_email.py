"""email_cipher on members: an optional e-mail address, sealed like the phone (M-1, N-1)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 20:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('members', sa.Column('email_cipher', sa.Text(), nullable=True), schema='member')


def downgrade() -> None:
    op.drop_column('members', 'email_cipher', schema='member')
