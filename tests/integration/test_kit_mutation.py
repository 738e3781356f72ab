"""The kit's one flow for mutating RPCs: first answer replayed, checks, work once, refusals final,
and the request the key is bound to made of every argument of the call."""

import uuid

import pytest
from nameko.runners import ServiceRunner

from contracts.errors import IdempotencyMismatch, InvalidState
from services.kit.config import SettingsDependency
from services.kit.db import Database
from services.kit.mutation import mutation
from services.kit.rpc import rpc
from services.org.models import kit as org_kit

pytestmark = pytest.mark.integration

CHAIN = "0f0f0f0f-1111-4000-8000-000000000000"


class Probe:
    """A service with one mutation: it counts the work it did per thing."""

    name = "mutation_probe"
    db = Database()
    settings = SettingsDependency()
    kit_tables = org_kit  # org's idempotency table will do for a probe
    closed: set[str] = set()
    done: list[str] = []

    @rpc
    @mutation
    def touch(self, actor, chain_id: str, thing_id: str, data: dict, idempotency_key: str):
        if thing_id in Probe.closed:  # a check before the work
            raise InvalidState(f"{thing_id} is closed.")
        return lambda: Probe.done.append(thing_id) or {"thing_id": thing_id, "times": Probe.done.count(thing_id)}


@pytest.fixture(scope="module")
def probe(provisioned):
    config = provisioned.nameko_config()
    config["DATABASE_URLS"] = {**config["DATABASE_URLS"], "mutation_probe": provisioned.database_url("org")}
    runner = ServiceRunner(config)
    runner.add_service(Probe)
    runner.start()
    yield
    runner.stop()


def test_the_work_runs_once_per_key_and_the_key_binds_every_argument(probe, rpc_pool, admin):
    key, thing = uuid.uuid4().hex, uuid.uuid4().hex
    first = rpc_pool.call("mutation_probe", "touch", admin.principal, CHAIN, thing, {"note": "a"}, key)
    assert first == {"thing_id": thing, "times": 1}
    assert rpc_pool.call("mutation_probe", "touch", admin.principal, CHAIN, thing, {"note": "a"}, key) == first
    assert Probe.done.count(thing) == 1
    # the same key and body for another thing (an argument outside the body) is another request
    with pytest.raises(IdempotencyMismatch):
        rpc_pool.call("mutation_probe", "touch", admin.principal, CHAIN, uuid.uuid4().hex, {"note": "a"}, key)
    with pytest.raises(IdempotencyMismatch):
        rpc_pool.call("mutation_probe", "touch", admin.principal, CHAIN, thing, {"note": "b"}, key)


def test_a_refusal_from_the_checks_is_the_keys_answer(probe, rpc_pool, admin):
    key, thing = uuid.uuid4().hex, uuid.uuid4().hex
    Probe.closed.add(thing)
    with pytest.raises(InvalidState, match="closed"):
        rpc_pool.call("mutation_probe", "touch", admin.principal, CHAIN, thing, {}, key)
    Probe.closed.discard(thing)
    with pytest.raises(InvalidState, match="closed"):  # still: the key was answered with a refusal
        rpc_pool.call("mutation_probe", "touch", admin.principal, CHAIN, thing, {}, key)
    assert rpc_pool.call("mutation_probe", "touch", admin.principal, CHAIN, thing, {}, uuid.uuid4().hex)["times"] == 1
