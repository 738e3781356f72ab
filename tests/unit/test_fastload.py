"""The compiled contract load (contracts/fastload.py): where it answers, it answers what
marshmallow answers; where it cannot, marshmallow does."""

from __future__ import annotations

import copy
import importlib
import pkgutil
import random
import uuid

import pytest
from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates,
    validates_schema,
)

import contracts
from contracts import fastload
from contracts.base import Contract, Id, _stringify_keys, instance, load, problems
from contracts.errors import ValidationFailed
from contracts.events import envelope, parse, spec


@pytest.fixture(autouse=True)
def _uncached_loaders(monkeypatch):
    """The loaders made here are the plain ones (the suite checks every load it runs against
    marshmallow's; these tests do that comparison themselves)."""
    monkeypatch.delenv("HUIYUAN_FASTLOAD_CHECK", raising=False)
    monkeypatch.setattr(fastload, "_loaders", type(fastload._loaders)())


def _fresh(schema_class: type[Schema]) -> Schema:
    return schema_class()


class Line(Contract):
    code = fields.String(required=True, validate=validate.Length(min=1, max=8))
    quantity = fields.Integer(required=True, validate=validate.Range(min=1, max=99))
    note = fields.String(load_default=None, allow_none=True)


class Order(Contract):
    id = Id(required=True)
    paid = fields.Boolean(required=True)
    lines = fields.List(fields.Nested(Line), required=True, validate=validate.Length(min=1))
    first = fields.Nested(Line, load_default=None, allow_none=True)
    extra = fields.Dict(load_default=dict)
    kind = fields.String(load_default="sale", validate=validate.OneOf(["sale", "refund"]))
    shown_as = fields.String(data_key="label", attribute="display", load_default="")
    tags = fields.List(fields.String(), load_default=list)


ORDER = {
    "id": "0a7f108f-7bc8-4fd4-9403-b652d9f7645c",
    "paid": True,
    "lines": [{"code": "W01", "quantity": 2}, {"code": "W02", "quantity": 1, "note": "mud"}],
    "first": {"code": "W01", "quantity": 2, "note": None},
    "label": "front desk",
}


def _marshmallow(schema: Schema, data: object) -> object:
    try:
        return ("loaded", schema.load(data))
    except ValidationError as error:
        return ("refused", error.messages)


def _fast(schema: Schema, data: object) -> object:
    compiled = fastload.loader(schema)
    assert compiled is not None
    try:
        return ("loaded", compiled(data))
    except fastload.Slow:
        return ("slow", None)


def test_a_valid_order_is_loaded_fast_into_what_marshmallow_makes():
    schema = _fresh(Order)
    outcome, fast = _fast(schema, copy.deepcopy(ORDER))
    assert outcome == "loaded"
    expected = schema.load(copy.deepcopy(ORDER))
    assert fast == expected and list(fast) == list(expected)
    # defaults filled as marshmallow fills them: a fresh dict and list each time, the kind's value
    assert fast["extra"] == {} and fast["tags"] == [] and fast["kind"] == "sale"
    assert fast["display"] == "front desk" and "label" not in fast
    assert fast["lines"][0] == {"code": "W01", "quantity": 2, "note": None}
    again = fastload.loader(schema)(copy.deepcopy(ORDER))
    assert again["extra"] is not fast["extra"]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"id": "not-an-id"}, "a validator refuses"),
        ({"paid": None}, "None where none is allowed"),
        ({"paid": 1}, "a 1 for a Boolean: marshmallow's own rule decides"),
        ({"lines": []}, "the list's own validator"),
        ({"lines": [{"code": "W01", "quantity": 0}]}, "an item's range"),
        ({"lines": [{"code": "W01", "quantity": 2, "colour": "red"}]}, "an unknown key in a nested item"),
        ({"lines": [None]}, "None as an item"),
        ({"lines": [{"code": "W01", "quantity": "2"}]}, "a string for an Integer"),
        ({"lines": [{"code": "W01", "quantity": True}]}, "a bool for an Integer"),
        ({"lines": [{"code": "W01", "quantity": 2.0}]}, "a float for an Integer"),
        ({"first": []}, "a list for a Nested"),
        ({"kind": "gift"}, "OneOf"),
        ({"colour": "red"}, "an unknown key"),
        ({"display": "front desk"}, "the attribute name is not the key"),
        ({"extra": []}, "a list for a Dict"),
        ({"tags": "a"}, "a string for a List"),
        ({"tags": ("a",)}, "a tuple for a List"),
    ],
)
def test_what_is_not_plainly_right_is_marshmallows_to_judge(change, why):
    """Refused by marshmallow: never loaded fast. Converted by a field (a 1 for a Boolean, a
    "2" for an Integer): converted by that field's own code, the same."""
    schema = _fresh(Order)
    data = {**copy.deepcopy(ORDER), **change}
    fast = _fast(schema, copy.deepcopy(data))
    expected = _marshmallow(schema, copy.deepcopy(data))
    assert fast[0] == "slow" if expected[0] == "refused" else fast in (("slow", None), expected), why
    try:
        answer = ("loaded", load(schema, copy.deepcopy(data)))
    except ValidationFailed as failure:
        answer = ("refused", failure.fields)
    assert answer == (expected[0], _stringify_keys(expected[1])), why


@pytest.mark.parametrize("missing", ["id", "paid", "lines"])
def test_a_required_field_missing_is_marshmallows_to_refuse(missing):
    schema = _fresh(Order)
    data = {k: v for k, v in copy.deepcopy(ORDER).items() if k != missing}
    assert _fast(schema, data)[0] == "slow"
    with pytest.raises(ValidationFailed) as refused:
        load(schema, data)
    assert refused.value.fields == {missing: ["Missing data for required field."]}


def test_a_value_of_another_type_that_marshmallow_converts_is_converted_the_same():
    class Loose(Contract):
        count = fields.Integer(required=True)
        when = fields.Date(required=True)

    schema = _fresh(Loose)
    data = {"count": "5", "when": "2026-01-31"}
    outcome, fast = _fast(schema, dict(data))
    assert outcome == "loaded"
    assert fast == schema.load(dict(data)) == {"count": 5, "when": __import__("datetime").date(2026, 1, 31)}


def test_unknown_keys_are_dropped_where_the_contract_excludes_them():
    class Lenient(Schema):
        class Meta:
            unknown = EXCLUDE

        name = fields.String(required=True)

    schema = _fresh(Lenient)
    assert (
        _fast(schema, {"name": "a", "other": 1}) == ("loaded", {"name": "a"}) == ("loaded", schema.load({"name": "a"}))
    )


def test_a_validator_refuses_by_raising_alone_as_in_marshmallow():
    class Checked(Contract):
        flag = fields.Boolean(required=True, validate=lambda value: value)
        same = fields.Boolean(required=True, validate=validate.OneOf([True]))

    schema = _fresh(Checked)
    returns_false = {"flag": False, "same": True}
    assert _fast(schema, dict(returns_false)) == _marshmallow(schema, dict(returns_false)) == ("loaded", returns_false)
    assert _fast(schema, {"flag": True, "same": False})[0] == "slow"
    assert _marshmallow(schema, {"flag": True, "same": False})[0] == "refused"


def test_the_schemas_own_checks_run_after_its_fields_with_the_original_where_asked():
    seen = []

    class Totalled(Contract):
        parts = fields.List(fields.Integer(), required=True)
        total = fields.Integer(required=True)

        @validates_schema
        def _sums(self, data, **kwargs):
            seen.append(("loaded", dict(data), kwargs["partial"]))
            if sum(data["parts"]) != data["total"]:
                raise ValidationError("The parts must add up to the total.", "total")

        @validates_schema(pass_original=True)
        def _raw(self, data, original, **kwargs):
            seen.append(("original", original is not data))

    schema = _fresh(Totalled)
    assert _fast(schema, {"parts": [1, 2], "total": 3}) == ("loaded", {"parts": [1, 2], "total": 3})
    fast_calls = list(seen)
    seen.clear()
    schema.load({"parts": [1, 2], "total": 3})
    assert sorted(fast_calls, key=str) == [("loaded", {"parts": [1, 2], "total": 3}, False), ("original", True)]
    assert [call[0] for call in fast_calls] == [call[0] for call in seen]  # in marshmallow's order
    assert _fast(schema, {"parts": [1, 2], "total": 4})[0] == "slow"
    with pytest.raises(ValidationFailed) as refused:
        load(schema, {"parts": [1, 2], "total": 4})
    assert refused.value.fields == {"total": ["The parts must add up to the total."]}


def test_a_schema_with_hooks_that_change_data_or_check_a_field_is_left_to_marshmallow():
    class Hooked(Contract):
        a = fields.Integer()

        @validates("a")
        def check(self, value, **kwargs):
            pass

    class Processed(Contract):
        a = fields.Integer()

        @pre_load
        def before(self, data, **kwargs):
            return data

    class After(Contract):
        a = fields.Integer()

        @post_load
        def after(self, data, **kwargs):
            return data

    for schema_class in (Hooked, Processed, After):
        assert fastload.loader(_fresh(schema_class)) is None
    # and a partial or many schema
    assert fastload.loader(Order(partial=True)) is None
    assert fastload.loader(Order(many=True)) is None


def test_load_of_many_and_partial():
    orders = [copy.deepcopy(ORDER), copy.deepcopy(ORDER)]
    assert load(Order, copy.deepcopy(orders), many=True) == instance(Order).load(orders, many=True)
    assert load(Order, {"paid": False}, partial=True) == {"paid": False}


def test_problems_says_what_validate_says():
    assert problems(Order, copy.deepcopy(ORDER)) == {}
    bad = {**copy.deepcopy(ORDER), "id": "x", "colour": 1}
    assert problems(Order, bad) == instance(Order).validate(bad) != {}


CONSUMED = {
    "lots": [{"kind": "cash", "amount": -95, "lot_store_id": "27f9ce9e-fe47-44db-bf3f-0007abe89d8a"}],
    "paid": {"cash": 95, "bonus": 0, "credit": 0, "external": 0},
    "gross": 100,
    "lines": [
        {
            "net": 95,
            "name": "Wash",
            "gross": 100,
            "line_no": 1,
            "category": "wash",
            "discount": 5,
            "quantity": 1,
            "item_code": "W01",
            "unit_price": 100,
            "counts_used": 0,
            "discount_bp": 500,
            "entitlement_id": None,
            "refunded_quantity": 0,
        }
    ],
    "card_id": "0a7f108f-7bc8-4fd4-9403-b652d9f7645c",
    "card_no": "800000000011",
    "balances": {"cash": 99891530, "bonus": 3000, "credit_used": 0, "credit_limit": 0, "credit_available": 0},
    "chain_id": "1b03a40f-0369-46c6-8d53-3a1b05e67435",
    "discount": 5,
    "store_id": "27f9ce9e-fe47-44db-bf3f-0007abe89d8a",
    "member_id": "c8af4e49-5a2e-4d68-94c2-191615fe91e4",
    "tier_code": "SILVER",
    "amount_due": 95,
    "operator_id": "fce1628c-df3c-470c-83aa-56a3e66e4824",
    "spend_as_of": "2026-11-26T11:47:39.960406+00:00",
    "transaction_id": "df7fc6e3-abf9-4f48-a9b8-0857b3d2b4df",
    "cumulative_spend": 108470,
    "serving_employee_id": None,
    "external_payment_method": None,
}


def test_the_consume_event_is_made_and_parsed_on_the_fast_path():
    schema = instance(spec("wallet", "consumed").schema)
    assert _fast(schema, copy.deepcopy(CONSUMED)) == ("loaded", schema.load(copy.deepcopy(CONSUMED)))
    made = envelope("wallet", "consumed", copy.deepcopy(CONSUMED), chain_id=CONSUMED["chain_id"], correlation_id=None)
    event = parse(made, "wallet", "consumed")
    assert event.data == schema.load(copy.deepcopy(CONSUMED))
    broken = {**copy.deepcopy(CONSUMED), "gross": "a hundred"}
    with pytest.raises(ValueError, match="breaks its contract"):
        envelope("wallet", "consumed", broken, chain_id=CONSUMED["chain_id"], correlation_id=None)
    with pytest.raises(ValidationFailed) as refused:
        parse({**made, "data": broken}, "wallet", "consumed")
    assert refused.value.fields == {"gross": ["Not a valid integer."]}


def test_a_nul_anywhere_in_an_event_is_refused_once_for_all():
    made = envelope("wallet", "consumed", copy.deepcopy(CONSUMED), chain_id=CONSUMED["chain_id"], correlation_id=None)
    made["data"]["lines"][0]["name"] = "Wa\x00sh"
    with pytest.raises(ValidationFailed) as refused:
        parse(made, "wallet", "consumed")
    assert refused.value.fields == {"data": {"lines": {"0": {"name": ["Must not contain the NUL character."]}}}}


# ---- every contract, on made-up input: the fast path never says yes where marshmallow says no ----


def _contracts() -> list[type[Schema]]:
    for module in pkgutil.iter_modules(contracts.__path__):
        importlib.import_module(f"contracts.{module.name}")
    found, todo = [], [Contract]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("contracts."):
            found.append(cls)
    return sorted(set(found), key=lambda c: (c.__module__, c.__qualname__))


def _value(field: fields.Field, rng: random.Random, depth: int) -> object:
    choices = [v for check in field.validators if isinstance(check, validate.OneOf) for v in check.choices]
    ranges = [check for check in field.validators if isinstance(check, validate.Range)]
    wrong = [None, 5, "5", True, [], {}, "x" * 300, 2.5]
    if rng.random() < 0.15:
        return rng.choice(wrong)
    if choices:
        return rng.choice(choices)
    if isinstance(field, fields.Nested):
        return _document(field.schema, rng, depth + 1) if depth < 4 else {}
    if isinstance(field, fields.List):
        return [_value(field.inner, rng, depth + 1) for _ in range(rng.randint(0, 2))]
    if isinstance(field, fields.Dict):
        return rng.choice([{}, {"a": 1}, {"time_zone": "Asia/Shanghai"}])
    if isinstance(field, fields.Boolean):
        return rng.choice([True, False])
    if isinstance(field, fields.Integer):
        bounds = [b for r in ranges for b in (r.min, r.max) if b is not None]
        return rng.choice([0, 1, 100, 5000, 10**12, -1, *bounds])
    if isinstance(field, (fields.DateTime, fields.Date)):
        return rng.choice(["2026-01-31", "2026-01-31T09:30:00+08:00", "2026-01-31T01:30:00Z"])
    return rng.choice(
        [str(uuid.UUID(int=rng.getrandbits(128))), "W01", "a", "", "13800138000", "800000000011", "Asia/Shanghai", "HQ"]
    )


def _document(schema: Schema, rng: random.Random, depth: int = 0) -> dict:
    doc = {}
    for name, field in schema.load_fields.items():
        if rng.random() < 0.1:
            continue
        doc[field.data_key or name] = _value(field, rng, depth)
    if rng.random() < 0.05:
        doc["unexpected"] = 1
    return doc


def test_on_every_contract_what_the_fast_path_loads_marshmallow_loads_the_same():
    rng = random.Random(20261126)
    compiled = fast_answers = 0
    every = _contracts()
    for schema_class in every:
        schema = _fresh(schema_class)
        if fastload.loader(schema) is None:
            continue
        compiled += 1
        for _ in range(60):
            data = _document(schema, rng)
            outcome, fast = _fast(schema, copy.deepcopy(data))
            if outcome == "slow":
                continue
            fast_answers += 1
            expected = _marshmallow(schema, copy.deepcopy(data))
            assert expected == ("loaded", fast), (schema_class, data)
            assert list(fast) == list(expected[1])
    # not a test that passes by never answering: most contracts compile and many inputs are loaded fast
    assert compiled >= 0.9 * len(every) and len(every) > 200
    assert fast_answers > 1000
