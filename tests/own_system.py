"""A whole system of a test's own, beside the suite's: its own database and vhost.

For tests that change how the system is wired (queue type, a pooler in front of the
database, several processes per service): the suite's in-process services share one
database, and their relays would publish this system's outbox rows into the suite's
vhost (and the other way round), so such a test gets a database of its own, provisioned
the way `make run` does it, and a vhost of its own.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from falcon import testing
from nameko.runners import ServiceRunner
from sqlalchemy import create_engine, text

from deploy import audit
from gateway.app import create_app
from gateway.principals import Principals
from gateway.rpc import RpcPool
from services.kit import provision
from services.kit.config import Settings
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, _rabbitmqctl
from tests.helpers import Api, admin_engine, raw_rows, wait_for


@contextmanager
def own_vhost(base: Settings, name: str) -> Iterator[Settings]:
    """`base` on a fresh vhost of its own, removed afterwards."""
    vhost = f"huiyuan_{name}_{uuid.uuid4().hex[:8]}"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield dataclasses.replace(base, amqp_uri=f"{base.amqp_uri.rsplit('/', 1)[0]}/{vhost}")
    finally:
        _rabbitmqctl("delete_vhost", vhost)


@contextmanager
def own_system(base: Settings, name: str, queue_type: str = "classic") -> Iterator[Settings]:
    """Settings for database `<suite's>_<name>` (recreated and provisioned, with the platform
    admin) and a fresh vhost whose queues are of `queue_type`, both removed afterwards."""
    database = f"{base.db_name}_{name}"
    with own_vhost(base, name) as on_vhost:
        settings = dataclasses.replace(on_vhost, db_name=database, queue_type=queue_type, log_json=False)
        try:
            yield _provisioned(settings)
        finally:
            engine = create_engine(base.admin_url(), isolation_level="AUTOCOMMIT")
            try:
                with engine.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            finally:
                engine.dispose()


def _provisioned(settings: Settings) -> Settings:
    provision.provision(settings, recreate=True)
    os.environ.setdefault("HUIYUAN_ADMIN_USERNAME", ADMIN_USERNAME)
    os.environ.setdefault("HUIYUAN_ADMIN_PASSWORD", ADMIN_PASSWORD)
    from services.org.bootstrap import ensure_platform_admin

    ensure_platform_admin(settings)
    return settings


def admin_credentials() -> tuple[str, str]:
    """The platform admin's username and password `own_system` provisioned."""
    return os.environ["HUIYUAN_ADMIN_USERNAME"], os.environ["HUIYUAN_ADMIN_PASSWORD"]


@dataclasses.dataclass
class InProcess:
    """Every service in this process (one nameko runner) and the gateway's app on top."""

    settings: Settings
    runner: ServiceRunner
    pool: RpcPool
    client: testing.TestClient

    def admin(self) -> Api:
        return Api.sign_in(self.client, *admin_credentials())


@contextmanager
def in_process(settings: Settings) -> Iterator[InProcess]:
    runner = ServiceRunner(settings.nameko_config())
    for cls in provision.service_classes():
        runner.add_service(cls)
    runner.start()
    pool = RpcPool(settings)
    principals = Principals(settings.amqp_uri)
    try:
        app = create_app(settings, pool, principals=principals, validate_responses=True)
        yield InProcess(settings, runner, pool, testing.TestClient(app))
    finally:
        principals.close()  # its listener would retry a vhost that is about to go, forever
        pool.close()
        runner.stop()


def audit_problems(settings: Settings, settle_seconds: float = 30) -> list[str]:
    """`make audit` over this system's database: [] when the books are whole."""
    engine = admin_engine(settings)
    try:
        return audit.audit(engine, settle_seconds=settle_seconds)
    finally:
        engine.dispose()


def settled(settings: Settings, member_id: str, timeout: float = 30) -> None:
    """Wait until member's lifetime points (from `points.changed`) agree with the points
    service's for `member_id`: the last events of a run land a moment after its requests."""
    agree = """SELECT 1 FROM points.members p JOIN member.members m ON m.id = p.member_id
               WHERE p.member_id = :id AND m.lifetime_points = p.lifetime_points"""
    wait_for(lambda: raw_rows(settings, agree, id=member_id), timeout=timeout)


def queues(vhost_of: Settings) -> list[dict[str, str]]:
    """`rabbitmqctl list_queues name type durable auto_delete exclusive` of the settings' vhost."""
    import subprocess

    vhost = vhost_of.amqp_uri.rsplit("/", 1)[1]
    out = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name", "type", "durable", "auto_delete", "exclusive"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    rows = [line.split("\t") for line in out.splitlines() if line.strip()]
    header, *body = rows
    return [dict(zip(header, row, strict=True)) for row in body]
