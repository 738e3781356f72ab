"""The lane of an event delivery: by its member, so one member's events keep their order."""

import uuid

import pytest

from services.kit.handlers import handles, lane_of


def test_members_spread_over_the_lanes_and_an_event_of_no_member_takes_the_first():
    members = [str(uuid.uuid4()) for _ in range(200)]
    assert {lane_of({"data": {"member_id": m}}, 4) for m in members} == {0, 1, 2, 3}
    assert lane_of({"data": {"store_id": "s"}}, 4) == 0
    assert lane_of({"data": {"member_id": None}}, 4) == 0
    assert lane_of("not an event", 4) == 0
    assert lane_of({"data": {"member_id": members[0]}}, 1) == 0


def test_a_handler_has_at_least_one_lane():
    with pytest.raises(ValueError, match="lanes must be at least 1, not 0"):
        handles("member", "enrolled", lanes=0)
