"""What a bench run measures and against what, from HUIYUAN_BENCH_* and HUIYUAN_* variables.

The bench never recreates a database: it provisions (idempotently) and seeds a new
chain in the database the environment names, or in its own `huiyuan_bench` when
none is named, and refuses `make run`'s `huiyuan`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

MAKE_RUN_DB = "huiyuan"
DEFAULT_DB = "huiyuan_bench"
DEFAULT_VHOST = "huiyuan_bench"
DEFAULT_AMQP = "pyamqp://guest:guest@127.0.0.1:5672/"
CARDS_PER_CLIENT = 16  # members served in turn by each client (bench.seed says why)

# every scenario, in the order of one round; `.onestore` is skipped at 1 client (it is `.stores` then)
SCENARIOS = (
    "pgbench",
    "floor",
    "consume.stores",
    "consume.onestore",
    "recharge.stores",
    "recharge.onestore",
    "refund.stores",
    "refund.onestore",
)


@dataclass(frozen=True)
class Options:
    clients: tuple[int, ...]
    seconds: float
    rounds: int
    only: tuple[str, ...]
    port: int
    floor_port: int
    wallets: int
    cards: int  # per client
    db_name: str
    db_named_by: str
    amqp_uri: str
    vhost: str
    vhost_made_here: bool
    pgbench_db: str
    pgbench_scale: int
    lag_every: float
    log_level: str

    def scenarios_at(self, clients: int) -> list[str]:
        chosen = [s for s in SCENARIOS if selected(s, self.only)]
        return [s for s in chosen if not (clients == 1 and s.endswith(".onestore"))]


def selected(scenario: str, only: tuple[str, ...]) -> bool:
    """Every scenario when `only` is empty; else those named, or named by their first part
    (`consume` picks `consume.stores` and `consume.onestore`)."""
    return not only or any(scenario == o or scenario.split(".")[0] == o for o in only)


def split_vhost(uri: str) -> tuple[str, str]:
    """(the URI without its vhost, the vhost; '' for the broker's root vhost '/')."""
    parts = urlsplit(uri)
    vhost = unquote(parts.path[1:]) if parts.path.startswith("/") else unquote(parts.path)
    base = urlunsplit((parts.scheme, parts.netloc, "/", "", ""))
    return base, "" if vhost == "/" else vhost


def with_vhost(base: str, vhost: str) -> str:
    return base.rstrip("/") + "/" + vhost


def choose_database(env: Mapping[str, str]) -> tuple[str, str]:
    """(database, which variable named it): HUIYUAN_BENCH_DB_NAME, else HUIYUAN_DB_NAME,
    else the bench's own. `make run`'s database is refused."""
    for variable in ("HUIYUAN_BENCH_DB_NAME", "HUIYUAN_DB_NAME"):
        if env.get(variable):
            name = env[variable]
            if name == MAKE_RUN_DB:
                raise SystemExit(
                    f"{variable}={name} is the database of `make run`: the bench writes a chain and its load "
                    f"into the database it runs on; name another (or leave both unset for {DEFAULT_DB})"
                )
            return name, variable
    return DEFAULT_DB, "default"


def choose_broker(env: Mapping[str, str]) -> tuple[str, str, bool]:
    """(AMQP URI with vhost, vhost, whether the bench makes the vhost): the vhost of
    HUIYUAN_BENCH_AMQP_URI or HUIYUAN_AMQP_URI; the root vhost (where `make run` lives)
    or none named means the bench's own `huiyuan_bench`."""
    uri = env.get("HUIYUAN_BENCH_AMQP_URI") or env.get("HUIYUAN_AMQP_URI") or DEFAULT_AMQP
    base, vhost = split_vhost(uri)
    if vhost:
        return uri, vhost, False
    return with_vhost(base, DEFAULT_VHOST), DEFAULT_VHOST, True


def int_list(text: str) -> tuple[int, ...]:
    values = tuple(int(v) for v in text.replace(" ", "").split(",") if v)
    if not values or min(values) < 1:
        raise SystemExit(f"HUIYUAN_BENCH_CLIENTS must be positive integers separated by commas, not {text!r}")
    return values


def load(env: Mapping[str, str]) -> Options:
    db_name, named_by = choose_database(env)
    amqp_uri, vhost, made = choose_broker(env)
    port = int(env.get("HUIYUAN_BENCH_PORT") or 18765)
    only = tuple(o for o in (env.get("HUIYUAN_BENCH_ONLY") or "").replace(" ", "").split(",") if o)
    unknown = [o for o in only if not any(selected(s, (o,)) for s in SCENARIOS)]
    if unknown:
        raise SystemExit(f"HUIYUAN_BENCH_ONLY: unknown scenario(s) {unknown}; known: {', '.join(SCENARIOS)}")
    cards = int(env.get("HUIYUAN_BENCH_CARDS") or CARDS_PER_CLIENT)
    if cards < 1:
        raise SystemExit(f"HUIYUAN_BENCH_CARDS must be at least 1, not {cards}")
    return Options(
        clients=int_list(env.get("HUIYUAN_BENCH_CLIENTS") or "1,8,32"),
        seconds=float(env.get("HUIYUAN_BENCH_SECONDS") or 8),
        rounds=int(env.get("HUIYUAN_BENCH_ROUNDS") or 3),
        only=only,
        port=port,
        floor_port=int(env.get("HUIYUAN_BENCH_FLOOR_PORT") or port + 1),
        wallets=int(env.get("HUIYUAN_BENCH_WALLETS") or 1),
        cards=cards,
        db_name=db_name,
        db_named_by=named_by,
        amqp_uri=amqp_uri,
        vhost=vhost,
        vhost_made_here=made,
        pgbench_db=env.get("HUIYUAN_BENCH_PGBENCH_DB") or f"{db_name}_pgbench",
        pgbench_scale=int(env.get("HUIYUAN_BENCH_PGBENCH_SCALE") or 10),
        lag_every=float(env.get("HUIYUAN_BENCH_LAG_EVERY") or 0.5),
        log_level=env.get("HUIYUAN_BENCH_LOG_LEVEL") or "WARNING",
    )
