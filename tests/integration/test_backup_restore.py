"""S-5: `make backup` then `make restore` into a fresh database gives the same books (deploy/backup.py).

Money and points are moved through the real services and the API, the whole database is dumped
once, restored into a database of its own (`<test database>_restored`), and then read back both
under the services and through a second set of the real services running on the restored
database: the same balances, points, members' personal data (with the same keys only) and a
clean `deploy/audit.py`.
"""

from __future__ import annotations

import dataclasses
import subprocess
import uuid

import pytest
from falcon import testing
from nameko.runners import ServiceRunner
from sqlalchemy import create_engine, text

from deploy import audit, backup
from gateway.app import create_app
from gateway.rpc import RpcPool
from services.kit import crypto, provision
from tests.helpers import Api, admin_engine, ok, raw_rows, unique
from tests.points_helpers import oil, points_world

pytestmark = pytest.mark.integration

# other keys than the test run's: what a restore without var/huiyuan.env would have
OTHER_KEYS = ("QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=", "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=")


def _drop(settings, database: str) -> None:
    engine = create_engine(settings.admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    finally:
        engine.dispose()


def _books(settings, chain_id: str) -> dict:
    """Everything the restore must give back for one chain, read as the superuser."""
    return {
        "wallet accounts": raw_rows(
            settings,
            "SELECT id, kind, member_id, balance FROM wallet.accounts WHERE chain_id = :c ORDER BY id",
            c=chain_id,
        ),
        "wallet transactions": raw_rows(
            settings, "SELECT id, kind, created_at FROM wallet.transactions WHERE chain_id = :c ORDER BY id", c=chain_id
        ),
        "points accounts": raw_rows(
            settings, "SELECT id, member_id, balance FROM points.accounts WHERE chain_id = :c ORDER BY id", c=chain_id
        ),
        "members": raw_rows(
            settings,
            "SELECT id, phone_cipher, cumulative_spend, lifetime_points FROM member.members"
            " WHERE chain_id = :c ORDER BY id",
            c=chain_id,
        ),
        "liability": raw_rows(
            settings,
            "SELECT lot_store_id, kind, SUM(amount) AS total FROM reporting.lot_moves WHERE chain_id = :c"
            " GROUP BY lot_store_id, kind ORDER BY lot_store_id, kind",
            c=chain_id,
        ),
    }


@pytest.fixture
def restored_name(settings):
    name = f"{settings.db_name}_restored"  # huiyuan_test_k8s_restored under HUIYUAN_TEST_DB_NAME=huiyuan_test_k8s
    _drop(settings, name)
    yield name
    _drop(settings, name)


@pytest.fixture
def restored_system(settings, restored_name):
    """Starts the real services on the restored database (their own vhost); a client for its gateway."""
    vhost = f"huiyuan_restored_{uuid.uuid4().hex[:6]}"
    for args in (["add_vhost", vhost], ["set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"]):
        subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)
    restored = dataclasses.replace(
        settings, db_name=restored_name, amqp_uri=settings.amqp_uri.rsplit("/", 1)[0] + f"/{vhost}"
    )
    started = {}

    def start() -> testing.TestClient:
        runner = ServiceRunner(restored.nameko_config())
        for cls in provision.service_classes():
            runner.add_service(cls)
        runner.start()
        started["runner"], started["pool"] = runner, RpcPool(restored)
        return testing.TestClient(create_app(restored, started["pool"], validate_responses=True))

    yield restored, start
    if "runner" in started:
        started["pool"].close()
        started["runner"].stop()
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=True, capture_output=True, timeout=60)


def test_a_backup_restored_into_a_fresh_database_gives_the_same_books(
    settings, services, admin, tmp_path, restored_system, capsys
):
    pw = points_world(admin)
    w = pw.wallet
    cashier = w.cashier_a
    phones = [f"139{uuid.uuid4().int % 10**8:08d}" for _ in range(3)]
    members = [
        ok(cashier.post(w.world.path("/members"), {"name": unique("会员"), "phone": p, "plates": []}), 201)
        for p in phones
    ]
    cards = [ok(cashier.post(w.world.path(f"/members/{m['id']}/cards"), {"tier_code": "PGOLD"}), 201) for m in members]
    # 1,000 yuan earns the 50 yuan bonus, 500 yuan the 20 (the tier keeps Silver's bonus rules);
    # a consume is paid from cash first and earns 1 point a yuan x 1.5 at Gold
    ok(w.recharge(cards[0]["card_no"], 100000), 201)
    ok(w.recharge(cards[1]["card_no"], 50000), 201)
    ok(w.consume(cards[0]["card_no"], [oil(1, 30000)]), 201)
    ok(w.consume(cards[1]["card_no"], [oil(2, 10000)]), 201)
    ok(pw.grant(cards[2]["card_no"], 80), 201)
    expected = {
        cards[0]["card_no"]: ({"cash": 70000, "bonus": 5000}, 450),
        cards[1]["card_no"]: ({"cash": 30000, "bonus": 2000}, 300),
        cards[2]["card_no"]: ({"cash": 0, "bonus": 0}, 80),
    }
    for card_no, (money, points) in expected.items():
        pw.wait_balance(card_no, points)
        assert {k: w.balances(card_no)[k] for k in money} == money

    source = admin_engine(settings)
    try:
        assert audit.audit(source, settle_seconds=30) == []  # the events are in: the books agree
    finally:
        source.dispose()
    before = _books(settings, w.world.id)

    dump = tmp_path / "huiyuan.dump"
    about = backup.backup(settings, dump)
    assert about["database"] == settings.db_name and about["bytes"] == dump.stat().st_size
    assert settings.pii_key not in dump.with_name("huiyuan.dump.json").read_text()
    assert (
        settings.pii_key.encode() not in dump.read_bytes() and settings.pii_index_key.encode() not in dump.read_bytes()
    )

    restored, start = restored_system
    outcome = backup.restore(settings, dump, restored.db_name)
    assert outcome["restored_into"] == restored.db_name and outcome["keys_match"] is True
    with pytest.raises(backup.BackupError, match="exists: a restore goes into a fresh database only"):
        backup.restore(settings, dump, restored.db_name)  # never over a database that is there

    assert _books(restored, w.world.id) == before
    copy = admin_engine(restored)
    try:
        assert audit.findings(copy) == []
        # the personal data reads with the keys it was written under, and with no others
        cipher = before["members"][0]["phone_cipher"]
        member_id = before["members"][0]["id"]
        chain_id = w.world.id
        assert crypto.codec(settings.pii_key, settings.pii_index_key).decrypt(chain_id, "phone", cipher) in phones
        with pytest.raises(ValueError, match="does not decrypt"):
            crypto.codec(*OTHER_KEYS).decrypt(chain_id, "phone", cipher)
        assert member_id in {m["id"] for m in members}

        # the real services on the restored database: the same token signs in (org's sessions came
        # back), the same balances, points and members' phones through the API
        client = start()
        again = Api(client, cashier.token, cashier.principal, cashier.chain)
        for card_no, (money, points) in expected.items():
            answer = ok(again.get(w.path(f"/cards/{card_no}/balances")))["balances"]
            assert {k: answer[k] for k in money} == money
            assert ok(again.get(pw.path(f"/cards/{card_no}/balance")))["balance"] == points
        for member, phone in zip(members, phones, strict=True):
            assert ok(again.get(w.world.path(f"/members/{member['id']}")))["phone"] == phone
        # and money moves on it: its books still hold together afterwards
        ok(w.consume(cards[0]["card_no"], [oil(1, 10000)], api=again), 201)
        assert ok(again.get(w.path(f"/cards/{cards[0]['card_no']}/balances")))["balances"]["cash"] == 60000
        assert audit.audit(copy, settle_seconds=30) == []
    finally:
        copy.dispose()
    # the original never saw that last sale
    assert _books(settings, w.world.id) == before


def test_the_command_reminds_of_the_keys_and_refuses_a_restore_with_no_target(settings, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HUIYUAN_DB_NAME", settings.db_name)
    monkeypatch.setenv("HUIYUAN_PII_KEY", settings.pii_key)
    monkeypatch.setenv("HUIYUAN_PII_INDEX_KEY", settings.pii_index_key)
    dump = tmp_path / "b.dump"
    assert backup.main(["backup", "--out", str(dump)]) == 0
    said = capsys.readouterr().out
    assert f"backup of {settings.db_name}: {dump}" in said
    assert "HUIYUAN_PII_KEY and HUIYUAN_PII_INDEX_KEY" in said and "NOT in the backup" in said
    assert not dump.with_name("b.dump.partial").exists()
    assert oct(dump.stat().st_mode & 0o777) == "0o600"

    monkeypatch.delenv(backup.RESTORE_TARGET, raising=False)
    assert backup.main(["restore", str(dump)]) == 1
    assert "name the database to restore into: HUIYUAN_RESTORE_DB_NAME=" in capsys.readouterr().err
    assert backup.main(["restore", str(tmp_path / "missing.dump")]) == 1
    assert "no backup at" in capsys.readouterr().err
