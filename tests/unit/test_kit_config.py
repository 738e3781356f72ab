"""Per-service secrets: each service's role has its own password, and a process is given
only the database URLs (and passwords) of the services it hosts."""

import pytest

from deploy.ensure_env import GENERATED_KEYS
from deploy.run_all import own_secrets
from services.kit import config, queues
from services.kit.config import Settings


def test_each_service_connects_with_its_own_password(monkeypatch):
    monkeypatch.setenv("HUIYUAN_DB_PASSWORD_WALLET", "w-secret")
    monkeypatch.setenv("HUIYUAN_DB_PASSWORD_MEMBER", "m/secret+")
    monkeypatch.delenv("HUIYUAN_DB_PASSWORD_ORG", raising=False)
    settings = config.load()
    assert settings.database_url("wallet").startswith("postgresql+psycopg2://huiyuan_wallet:w-secret@")
    assert settings.database_url("member").startswith("postgresql+psycopg2://huiyuan_member:m%2Fsecret%2B@")
    assert settings.password("org") == settings.db_password  # none of its own: the shared one


def test_a_process_is_given_only_its_own_database_urls():
    settings = Settings(db_passwords={"wallet": "w", "member": "m", "org": "o"})
    assert set(settings.nameko_config(["wallet"])["DATABASE_URLS"]) == {"wallet"}
    assert set(settings.nameko_config()["DATABASE_URLS"]) == set(config.SERVICES)


def test_children_get_only_their_own_password_and_the_gateway_none():
    env = {"PATH": "/bin", **{config.password_variable(s): s + "-pw" for s in config.SERVICES}}
    assert own_secrets("wallet", env) == {"PATH": "/bin", "HUIYUAN_DB_PASSWORD_WALLET": "wallet-pw"}
    assert own_secrets("gateway", env) == {"PATH": "/bin"}


def test_every_services_password_is_generated():
    assert {config.password_variable(s) for s in config.SERVICES} <= set(GENERATED_KEYS)


def test_the_queue_type_is_checked_where_it_is_read(monkeypatch):
    monkeypatch.setenv("HUIYUAN_QUEUE_TYPE", "Quorum")
    assert config.load().queue_type == "quorum"
    monkeypatch.setenv("HUIYUAN_QUEUE_TYPE", "stream")
    with pytest.raises(ValueError, match="HUIYUAN_QUEUE_TYPE='stream': must be one of classic, quorum"):
        config.load()
    monkeypatch.delenv("HUIYUAN_QUEUE_TYPE")
    assert config.load().queue_type == "classic"
    assert queues.durable_queue_arguments("classic") == {}
    assert queues.durable_queue_arguments("quorum") == {"x-queue-type": "quorum"}


def test_every_durable_queue_takes_the_configured_type():
    quorum = queues.durable_queues(config.SERVICES, "quorum")
    assert {f"rpc-{service}" for service in config.SERVICES} <= {q.name for q in quorum}
    assert len([q for q in quorum if q.name.startswith("evt-")]) >= 20
    # a quorum queue must be durable, and can be neither exclusive nor auto-delete
    assert [q.name for q in quorum if not q.durable or q.exclusive or q.auto_delete] == []
    assert [q.name for q in quorum if q.queue_arguments != {"x-queue-type": "quorum"}] == []
    classic = queues.durable_queues(config.SERVICES, "classic")
    assert sorted(q.name for q in classic) == sorted(q.name for q in quorum)
    assert [q.name for q in classic if q.queue_arguments] == []  # exactly as nameko declares them


@pytest.mark.parametrize(("value", "prepared"), [(None, True), ("1", True), ("0", False), ("false", False)])
def test_prepared_statements_are_on_unless_turned_off_for_a_pooler(monkeypatch, value, prepared):
    from services.kit.db import prepares

    if value is None:
        monkeypatch.delenv("HUIYUAN_DB_PREPARED", raising=False)
    else:
        monkeypatch.setenv("HUIYUAN_DB_PREPARED", value)
    settings = config.load()
    assert settings.db_prepared is prepared
    assert prepares(settings.nameko_config(["wallet"])) is prepared
