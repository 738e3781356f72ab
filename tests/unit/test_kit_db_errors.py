"""Which database failures are 503 (nothing done) and which 504 (outcome unknown)."""

from sqlalchemy import exc as sa_exc

from contracts.errors import DependencyUnavailable, ServiceTimeout
from services.kit.db import outage_answer, pool_budget


class PgError(Exception):
    def __init__(self, pgcode):
        super().__init__(f"pgcode {pgcode}")
        self.pgcode = pgcode


def operational(pgcode=None, during_commit=False):
    error = sa_exc.OperationalError("SELECT 1", {}, PgError(pgcode))
    if during_commit:
        error.during_commit = True
    return error


def test_unreachable_busy_and_committing_databases_get_their_answers():
    refused = outage_answer(operational())
    assert type(refused) is DependencyUnavailable and refused.status == 503
    assert "cannot reach its database" in refused.message
    for busy in ("55P03", "40P01", "40001", "57014"):
        assert "busy" in outage_answer(operational(busy)).message
    pool = outage_answer(sa_exc.TimeoutError("QueuePool limit reached"))
    assert type(pool) is DependencyUnavailable and "busy" in pool.message
    closed = outage_answer(sa_exc.InterfaceError("SELECT 1", {}, PgError(None)))
    assert type(closed) is DependencyUnavailable
    unknown = outage_answer(operational("08006", during_commit=True))
    assert type(unknown) is ServiceTimeout and (unknown.status, unknown.error_code) == (504, "outcome_unknown")


def test_other_database_errors_are_not_outages():
    assert outage_answer(sa_exc.IntegrityError("INSERT", {}, PgError("23505"))) is None
    assert outage_answer(ValueError("x")) is None


def test_the_connection_budget_is_one_per_worker_and_one_for_the_relay():
    assert pool_budget(10) == {"workers": 10, "relay": 1, "total": 11}
    assert pool_budget(4)["total"] == 5
