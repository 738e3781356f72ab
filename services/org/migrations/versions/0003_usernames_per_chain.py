"""usernames unique per chain

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 16:10:00.000000
"""
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # platform admins (no chain) stay unique among themselves: NULLs are not distinct here
    op.drop_constraint('uq_staff_username', 'staff', schema='org', type_='unique')
    op.create_unique_constraint(
        'uq_staff_chain_username',
        'staff',
        ['chain_id', 'username'],
        schema='org',
        postgresql_nulls_not_distinct=True,
    )


def downgrade() -> None:
    op.drop_constraint('uq_staff_chain_username', 'staff', schema='org', type_='unique')
    op.create_unique_constraint('uq_staff_username', 'staff', ['username'], schema='org')
