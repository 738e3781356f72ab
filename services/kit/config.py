"""Settings from the environment, with defaults that work on a developer machine.

Every process (services, gateway, bootstrap, tests) reads the same variables,
so one `.env`-style export configures the whole system.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import quote

from nameko.extensions import DependencyProvider

from services.kit.queues import CLASSIC, QUEUE_TYPE_VARIABLE, parse_queue_type

SERVICES = ("org", "member", "wallet", "points", "gift", "reporting", "notification")

# where a service process serves /metrics, /health and /ready (services.kit.metrics)
METRICS_PORT_VARIABLE = "HUIYUAN_METRICS_PORT"
METRICS_HOST_VARIABLE = "HUIYUAN_METRICS_HOST"
DEFAULT_METRICS_PORT = 9100  # a service process's port when the variable is unset (the manifests probe it)
DEFAULT_METRICS_HOST = "0.0.0.0"  # a pod is probed and scraped on its own address


def password_variable(service: str) -> str:
    """The variable holding `service`'s database role password."""
    return f"HUIYUAN_DB_PASSWORD_{service.upper()}"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    db_host: str = "127.0.0.1"
    db_port: int = 5432
    db_name: str = "huiyuan"
    # a superuser connection, used only by bootstrap to create the database,
    # the per-service roles and their schemas
    db_admin_url: str = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
    db_password: str = "huiyuan-dev"  # the roles' password where no per-service one is set
    # per-service role passwords (HUIYUAN_DB_PASSWORD_<SERVICE>), generated into var/huiyuan.env
    db_passwords: dict = field(default_factory=dict)
    amqp_uri: str = "pyamqp://guest:guest@127.0.0.1:5672/"
    # the type of every durable queue the services consume (services.kit.queues: why classic)
    queue_type: str = CLASSIC
    max_workers: int = 10
    rpc_timeout: float = 10.0
    # personal-data keys (base64 of 32 bytes); dev defaults are set by `make run`
    pii_key: str = ""
    pii_index_key: str = ""
    token_ttl_hours: int = 12
    # proxies in front of the gateway whose X-Forwarded-For may be believed (0: none)
    trusted_proxies: int = 0
    log_level: str = "INFO"
    log_json: bool = True
    # how long a consume's message waits for the points service's figures before it goes
    # without them (N-3); points answers in well under a second when it is up
    points_wait_seconds: float = 60.0
    # None: no metrics server (the test suite, which hosts every service in one process)
    metrics_port: int | None = None
    metrics_host: str = DEFAULT_METRICS_HOST
    # statements run again and again are prepared on the server (services.kit.prepared);
    # off behind a pooler in transaction mode (PgBouncer), where a session's statements are lost
    db_prepared: bool = True
    extra: dict = field(default_factory=dict)

    def role(self, service: str) -> str:
        return f"huiyuan_{service}"

    def password(self, service: str) -> str:
        return self.db_passwords.get(service) or self.db_password

    def database_url(self, service: str) -> str:
        password = quote(self.password(service), safe="")
        return f"postgresql+psycopg2://{self.role(service)}:{password}@{self.db_host}:{self.db_port}/{self.db_name}"

    def admin_url(self, database: str | None = None) -> str:
        """The admin URL pointed at `database` (default: the admin URL's own)."""
        if database is None:
            return self.db_admin_url
        base, _, _ = self.db_admin_url.rpartition("/")
        return f"{base}/{database}"

    def nameko_config(self, services: tuple[str, ...] | list[str] = SERVICES) -> dict:
        """Config for a process hosting `services`: it is given their database URLs only."""
        return {
            "AMQP_URI": self.amqp_uri,
            "max_workers": self.max_workers,
            "parent_calls_tracked": 10,
            "serializer": "json",
            "DATABASE_URLS": {s: self.database_url(s) for s in services},
            "HUIYUAN": self,
        }


def load() -> Settings:
    """Read settings from `HUIYUAN_*` environment variables."""
    return Settings(
        db_host=_env("HUIYUAN_DB_HOST", Settings.db_host),
        db_port=int(_env("HUIYUAN_DB_PORT", str(Settings.db_port))),
        db_name=_env("HUIYUAN_DB_NAME", Settings.db_name),
        db_admin_url=_env("HUIYUAN_DB_ADMIN_URL", Settings.db_admin_url),
        db_password=_env("HUIYUAN_DB_PASSWORD", Settings.db_password),
        db_passwords={s: os.environ[password_variable(s)] for s in SERVICES if os.environ.get(password_variable(s))},
        amqp_uri=_env("HUIYUAN_AMQP_URI", Settings.amqp_uri),
        queue_type=parse_queue_type(_env(QUEUE_TYPE_VARIABLE, Settings.queue_type)),
        max_workers=int(_env("HUIYUAN_MAX_WORKERS", str(Settings.max_workers))),
        rpc_timeout=float(_env("HUIYUAN_RPC_TIMEOUT", str(Settings.rpc_timeout))),
        pii_key=_env("HUIYUAN_PII_KEY", ""),
        pii_index_key=_env("HUIYUAN_PII_INDEX_KEY", ""),
        token_ttl_hours=int(_env("HUIYUAN_TOKEN_TTL_HOURS", str(Settings.token_ttl_hours))),
        trusted_proxies=int(_env("HUIYUAN_TRUSTED_PROXIES", str(Settings.trusted_proxies))),
        log_level=_env("HUIYUAN_LOG_LEVEL", Settings.log_level),
        log_json=_env("HUIYUAN_LOG_JSON", "1") not in ("0", "false", "no"),
        db_prepared=_env("HUIYUAN_DB_PREPARED", "1") not in ("0", "false", "no"),
        points_wait_seconds=float(_env("HUIYUAN_POINTS_WAIT_SECONDS", str(Settings.points_wait_seconds))),
        metrics_port=metrics_port(os.environ.get(METRICS_PORT_VARIABLE), default=None),
        metrics_host=_env(METRICS_HOST_VARIABLE, DEFAULT_METRICS_HOST),
    )


def metrics_port(value: str | None, default: int | None = DEFAULT_METRICS_PORT) -> int | None:
    """The port `HUIYUAN_METRICS_PORT`'s value names: `default` when unset, None (off) for 0."""
    if value is None or value.strip() == "":
        return default
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise ValueError(f"{METRICS_PORT_VARIABLE} must be a port number, 0 for none; not {value!r}")
    return port or None


class SettingsDependency(DependencyProvider):
    """Injects the `Settings` the service was started with."""

    def get_dependency(self, worker_ctx) -> Settings:
        return self.container.config["HUIYUAN"]
