"""The gateway's operations are declared, not hand-written: each names the RPC it forwards to
and where each argument comes from. Every declared target exists, is an RPC entrypoint, and
takes exactly those arguments, in that order."""

import importlib
import inspect

import pytest

from gateway.operations import PARAMETER_NAMES, Forward, Literal
from gateway.routes import all_operations
from gateway.routes.reporting import Export
from services.reporting.service import QUERIES

FORWARDS = [op for op in all_operations() if isinstance(op.handler, Forward)]


def _entrypoint(service: str, method: str):
    cls = importlib.import_module(f"services.{service}.service").SERVICE
    return getattr(cls, method, None)


def test_nearly_every_operation_is_a_declared_forward():
    # a report export is declared too: it names its report, and pages through reporting.export_page
    declared = (Forward, Export)
    hand_written = sorted(op.operation_id for op in all_operations() if not isinstance(op.handler, declared))
    assert hand_written == ["me"]  # answers who you are from the token alone, no RPC
    exports = [op.handler.report for op in all_operations() if isinstance(op.handler, Export)]
    assert set(exports) == set(QUERIES) and _entrypoint("reporting", "export_page").nameko_entrypoints


@pytest.mark.parametrize("op", FORWARDS, ids=lambda op: op.operation_id)
def test_the_target_exists_with_these_parameters(op):
    forward = op.handler
    method = _entrypoint(forward.service, forward.method)
    assert method is not None, f"{forward.target} does not exist"
    assert getattr(method, "nameko_entrypoints", None), f"{forward.target} is not an RPC entrypoint"
    parameters = [p for p in inspect.signature(method).parameters if p != "self"]
    assert len(parameters) >= len(forward.args), f"{forward.target} takes {parameters}"
    for position, source in enumerate(forward.args):
        if isinstance(source, Literal):
            continue  # a fixed value: its parameter may have any name
        assert parameters[position] == PARAMETER_NAMES.get(source, source), (forward.target, parameters, forward.args)
    # anything the RPC takes beyond what is sent must have a default
    missing = [
        p for p in parameters[len(forward.args) :] if inspect.signature(method).parameters[p].default is inspect._empty
    ]
    assert missing == [], f"{forward.target} also needs {missing}"


@pytest.mark.parametrize("op", FORWARDS, ids=lambda op: op.operation_id)
def test_path_parameters_sent_are_in_the_path(op):
    for source in op.handler.args:
        if isinstance(source, str) and source not in ("actor", "body", "query", "key", "token", "ip", "user_agent"):
            assert "{" + source + "}" in op.path, (op.path, source)
