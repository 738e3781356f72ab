"""phone_last4_index on members: the keyed hash of a phone's last four digits (O-7 counter search)

Existing members get theirs here: each phone is decrypted with the configured
personal-data keys (HUIYUAN_PII_KEY, HUIYUAN_PII_INDEX_KEY, as `make run` and
`make provision` load them from var/huiyuan.env) and its last four digits are
indexed the way the service does (services/member/pii.py). Without the keys a
database that has members cannot be migrated: the migration stops and says so,
rather than leave members the counter can never find.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 21:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BATCH = 500


def _backfill() -> None:
    connection = op.get_bind()
    pending = connection.execute(
        sa.text('SELECT count(*) FROM member.members WHERE phone_last4_index IS NULL')
    ).scalar_one()
    if not pending:
        return
    from services.kit import config
    from services.member import pii

    settings = config.load()
    if not (settings.pii_key and settings.pii_index_key):
        raise RuntimeError(
            f"{pending} members need the index of their phone's last four digits: set HUIYUAN_PII_KEY and "
            "HUIYUAN_PII_INDEX_KEY (the keys their phones were sealed with) and migrate again"
        )
    codec = pii.codec(settings.pii_key, settings.pii_index_key)
    while True:
        rows = connection.execute(
            sa.text(
                'SELECT id, chain_id, phone_cipher FROM member.members '
                'WHERE phone_last4_index IS NULL ORDER BY id LIMIT :batch'
            ),
            {'batch': BATCH},
        ).all()
        if not rows:
            return
        for member_id, chain_id, cipher in rows:
            phone = codec.decrypt(chain_id, 'phone', cipher)
            connection.execute(
                sa.text('UPDATE member.members SET phone_last4_index = :index WHERE id = :id'),
                {'index': pii.phone_last4_index(codec, chain_id, phone), 'id': member_id},
            )


def upgrade() -> None:
    op.add_column('members', sa.Column('phone_last4_index', sa.String(length=64), nullable=True), schema='member')
    _backfill()
    op.alter_column('members', 'phone_last4_index', nullable=False, schema='member')
    op.create_index(
        'ix_members_chain_phone_last4', 'members', ['chain_id', 'phone_last4_index'], unique=False, schema='member'
    )


def downgrade() -> None:
    op.drop_index('ix_members_chain_phone_last4', table_name='members', schema='member')
    op.drop_column('members', 'phone_last4_index', schema='member')
