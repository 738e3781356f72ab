"""Calls between services have a deadline and name the service that failed."""

import eventlet
import pytest
from nameko.exceptions import UnknownService

from contracts.errors import NotFound, ServiceTimeout, ServiceUnavailable
from services.kit.rpc import _Deadline


class SlowMember:
    def resolve_card(self, chain_id, card_no):
        eventlet.sleep(0.5)
        return {"card_no": card_no}

    def absent(self):
        raise UnknownService("member")

    def refuses(self):
        raise NotFound("No such card.")

    def quick(self, x):
        return x * 2


def test_a_call_past_its_deadline_is_a_timeout_naming_the_service():
    proxy = _Deadline(SlowMember(), "member", timeout=0.05)
    with pytest.raises(ServiceTimeout, match="member service did not answer"):
        proxy.resolve_card("c", "1")
    assert _Deadline(SlowMember(), "member", timeout=2).resolve_card("c", "1") == {"card_no": "1"}


def test_a_missing_service_is_unavailable_and_typed_errors_pass_through():
    proxy = _Deadline(SlowMember(), "member", timeout=1)
    with pytest.raises(ServiceUnavailable, match="member service is not running"):
        proxy.absent()
    with pytest.raises(NotFound):
        proxy.refuses()
    assert proxy.quick(21) == 42
