"""Fixtures for the whole suite.

The test process is monkey-patched first, as `nameko run` would be. A test
run gets its own database (`huiyuan_test`, recreated) and its own RabbitMQ
vhost, so a system started with `make run` is never disturbed. Services run
in-process in one nameko ServiceRunner; HTTP goes through the real Falcon app.
"""

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # eventlet announces it is in maintenance mode; nameko 2 needs it
    import eventlet

eventlet.monkey_patch()  # before anything opens a socket

import os  # noqa: E402

# every compiled contract load is checked against marshmallow's, here and in the systems tests start
os.environ["HUIYUAN_FASTLOAD_CHECK"] = "1"

import dataclasses  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from falcon import testing  # noqa: E402
from nameko.runners import ServiceRunner  # noqa: E402

from deploy import audit  # noqa: E402
from deploy.ensure_env import load_env_file  # noqa: E402
from gateway.app import create_app  # noqa: E402
from gateway.rpc import RpcPool  # noqa: E402
from services.kit import config, provision  # noqa: E402
from tests.helpers import Api, admin_engine  # noqa: E402

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "platform-admin-test-pw"


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def settings():
    """Test settings: own database, own vhost, fixed test-only PII keys."""
    if shutil.which("rabbitmqctl") is None:
        pytest.fail("rabbitmqctl is needed to make the test run's own vhost (apt-get install rabbitmq-server)")
    vhost = f"huiyuan_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    base = config.load()
    amqp_base = base.amqp_uri.rstrip("/")
    # roles belong to the whole cluster: connect with the passwords `make run` gave them, if any
    from_env_file = load_env_file(Path(__file__).resolve().parents[1] / "var" / "huiyuan.env")
    passwords = {
        s: from_env_file[config.password_variable(s)]
        for s in config.SERVICES
        if config.password_variable(s) in from_env_file
    }
    test_settings = dataclasses.replace(
        base,
        db_passwords={**passwords, **base.db_passwords},
        db_name=os.environ.get("HUIYUAN_TEST_DB_NAME", "huiyuan_test"),
        amqp_uri=f"{amqp_base}/{vhost}",
        rpc_timeout=20.0,
        pii_key="MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        pii_index_key="ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=",
        log_json=False,
    )
    yield test_settings
    _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture(scope="session")
def provisioned(settings):
    provision.provision(settings, recreate=True)
    os.environ["HUIYUAN_ADMIN_USERNAME"] = ADMIN_USERNAME
    os.environ["HUIYUAN_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    from services.org.bootstrap import ensure_platform_admin

    ensure_platform_admin(settings)
    return settings


@pytest.fixture(scope="session")
def services(provisioned):
    runner = ServiceRunner(provisioned.nameko_config())
    for cls in provision.service_classes():
        runner.add_service(cls)
    runner.start()
    yield runner
    try:
        books_hold_together(provisioned)  # once, after every test that used the services
    finally:
        runner.stop()


def books_hold_together(settings) -> None:
    """`make audit` over the whole test database: the wallet's books, member's spend equal to the
    wallet's, every outbox sent, nothing parked."""
    engine = admin_engine(settings)
    try:
        problems = audit.audit(engine, settle_seconds=30)
    finally:
        engine.dispose()
    assert problems == [], "the audit after the run found:\n" + "\n".join(problems)


@pytest.fixture(scope="session")
def rpc_pool(settings, services):
    pool = RpcPool(settings)
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def client(settings, rpc_pool):
    return testing.TestClient(create_app(settings, rpc_pool, validate_responses=True))


@pytest.fixture(scope="session")
def admin(client) -> Api:
    return Api.sign_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)


@pytest.fixture
def anon(client) -> Api:
    return Api(client, None)
