"""Migration 0009 gives members enrolled before it the index of their phone's last four digits."""

import dataclasses
import uuid

import pytest
from sqlalchemy import text

from services.kit import migrations, provision
from services.kit.crypto import codec as make_codec
from tests.helpers import admin_engine

pytestmark = pytest.mark.integration

INSERT = (
    "INSERT INTO member.members (id, chain_id, member_no, name, phone_cipher, phone_index, gender, tags, notes,"
    " marketing_consent, cumulative_spend, lifetime_points, created_at, updated_at)"
    " VALUES (:id, :chain, :no, 'Old', :cipher, :index, 'unknown', '[]', '', false, 0, 0, now(), now())"
)


@pytest.fixture
def member_at_0008(settings):
    """A scratch database with only the member schema, at 0008 (the one before), holding two members of two chains."""
    scratch = dataclasses.replace(settings, db_name=f"{settings.db_name}_mig0009")
    provision.ensure_database(scratch, recreate=True)
    provision.ensure_roles_and_schemas(scratch, ("member",))
    url = scratch.database_url("member")
    migrations.upgrade("member", url, "0008")
    codec = make_codec(settings.pii_key, settings.pii_index_key)
    members = [(str(uuid.uuid4()), str(uuid.uuid4()), phone) for phone in ("13900005678", "13800001234")]
    engine = admin_engine(scratch)
    with engine.begin() as conn:
        for i, (member_id, chain_id, phone) in enumerate(members):
            conn.execute(
                text(INSERT),
                {
                    "id": member_id,
                    "chain": chain_id,
                    "no": f"M{i}",
                    "cipher": codec.encrypt(chain_id, "phone", phone),
                    "index": codec.index(chain_id, "phone", phone),
                },
            )
    yield scratch, url, engine, codec, members
    engine.dispose()
    provision.ensure_database(scratch, recreate=True)  # drop what it held; an empty database is left


def test_upgrade_indexes_the_last_four_digits_of_existing_members(member_at_0008, monkeypatch):
    scratch, url, engine, codec, members = member_at_0008
    monkeypatch.setenv("HUIYUAN_PII_KEY", scratch.pii_key)
    monkeypatch.setenv("HUIYUAN_PII_INDEX_KEY", scratch.pii_index_key)
    migrations.upgrade("member", url)
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT id, phone_last4_index FROM member.members")).all())
    assert stored == {m: codec.index(chain, "phone_last4", phone[-4:]) for m, chain, phone in members}


def test_upgrade_without_the_keys_stops_and_changes_nothing(member_at_0008, monkeypatch):
    scratch, url, engine, codec, members = member_at_0008
    monkeypatch.delenv("HUIYUAN_PII_KEY", raising=False)
    monkeypatch.delenv("HUIYUAN_PII_INDEX_KEY", raising=False)
    with pytest.raises(RuntimeError, match="2 members need the index"):
        migrations.upgrade("member", url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM member.alembic_version")).scalar_one() == "0008"
        columns = conn.execute(
            text("SELECT column_name FROM information_schema.columns WHERE table_name = 'members'")
        ).scalars()
        assert "phone_last4_index" not in set(columns)
