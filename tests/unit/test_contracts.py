"""Contracts, typed errors over the wire, events, cursors and idempotency fingerprints."""

import uuid

import pytest
from nameko.exceptions import deserialize, serialize

from contracts import errors, events
from contracts import org as c
from contracts.base import load
from services.kit import idempotency
from services.kit.paging import decode_cursor, encode_cursor
from services.org.models import Store


def test_money_is_integer_fen_never_a_float_or_negative():
    ok = load(c.ItemCreate, {"code": "W1", "name": "Wash", "category_code": "wash", "price": 12000})
    assert ok["price"] == 12000
    for price in (120.0, "12000", -1, True):
        with pytest.raises(errors.ValidationFailed) as failure:
            load(c.ItemCreate, {"code": "W1", "name": "Wash", "category_code": "wash", "price": price})
        assert "price" in failure.value.fields


def test_unknown_fields_are_refused_by_name():
    with pytest.raises(errors.ValidationFailed) as failure:
        load(c.CategoryCreate, {"code": "a", "name": "A", "colour": "red"})
    assert failure.value.fields == {"colour": ["Unknown field."]}


def test_typed_errors_survive_the_rpc_round_trip():
    original = errors.InsufficientFunds("Balance 100 fen, due 200 fen.", {"amount": ["Exceeds the balance."]})
    again = deserialize(serialize(original))
    assert type(again) is errors.InsufficientFunds
    assert (again.status, again.error_code, again.message, again.fields) == (
        409,
        "insufficient_funds",
        "Balance 100 fen, due 200 fen.",
        {"amount": ["Exceeds the balance."]},
    )
    assert again.to_dict() == {
        "code": "insufficient_funds",
        "message": "Balance 100 fen, due 200 fen.",
        "fields": {"amount": ["Exceeds the balance."]},
    }


def test_event_envelope_is_validated_both_ways():
    data = {
        "chain_id": "0b0e1a52-93b8-4f5e-9a7e-3d0f6f0a8f11",
        "code": "C",
        "name": "N",
        "currency": "CNY",
        "time_zone": "Asia/Shanghai",
    }
    envelope = events.envelope("org", "chain_created", data, chain_id=data["chain_id"], correlation_id="r1")
    parsed = events.parse(envelope, "org", "chain_created")
    assert parsed.data == data and parsed.correlation_id == "r1" and parsed.version == 1
    with pytest.raises(ValueError, match="breaks its contract"):
        events.envelope("org", "chain_created", {"chain_id": "x"}, chain_id=None, correlation_id=None)
    with pytest.raises(ValueError, match="expected org.store_changed"):
        events.parse(envelope, "org", "store_changed")


def test_cursor_round_trip_and_garbage():
    assert decode_cursor(encode_cursor(["S-01"]), [Store.code]) == ["S-01"]
    with pytest.raises(errors.ValidationFailed) as failure:
        decode_cursor("!!!", [Store.code])
    assert "after" in failure.value.fields


def test_fingerprint_depends_on_operation_and_body_not_key_order():
    a = idempotency.fingerprint("org.create_store", {"code": "A", "name": "N"})
    assert a == idempotency.fingerprint("org.create_store", {"name": "N", "code": "A"})
    assert a != idempotency.fingerprint("org.create_store", {"code": "B", "name": "N"})
    assert a != idempotency.fingerprint("org.create_staff", {"code": "A", "name": "N"})
    # keyed: a body holding a password cannot be guessed offline from its digest
    keyed = idempotency.fingerprint("org.create_store", {"code": "A", "name": "N"}, b"k" * 32)
    assert keyed != a and keyed != idempotency.fingerprint("org.create_store", {"code": "A", "name": "N"}, b"j" * 32)
    with pytest.raises(errors.ValidationFailed):
        idempotency.check_key("")
    with pytest.raises(errors.ValidationFailed):
        idempotency.check_key("k" * 201)


def test_required_text_must_say_something():
    with pytest.raises(errors.ValidationFailed) as failure:
        load(c.CategoryCreate, {"code": "a", "name": "   "})
    assert failure.value.fields == {"name": ["Must not be blank."]}
    assert load(c.CategoryCreate, {"code": "a", "name": " 洗车 "})["name"] == " 洗车 "


def test_a_points_reminder_written_before_it_carried_the_balance_still_loads():
    import contracts.points  # noqa: F401 - registers the points events

    old = events.envelope(
        "points",
        "expiring_soon",
        {"chain_id": str(uuid.uuid4()), "member_id": str(uuid.uuid4()), "points": 40, "expires_on": "2026-12-01"},
        chain_id=None,
        correlation_id=None,
    )
    assert events.parse(old, "points", "expiring_soon").data["balance"] is None
