"""The OpenAPI document carries every constraint the contracts enforce, field by field.

Walks the request contracts of every operation (bodies and queries) and, for each field,
works out from its validators what the document must say; the document is built by the
gateway from the same objects, so this fails the moment the two drift apart.
"""

from __future__ import annotations

import re

import pytest
from marshmallow import ValidationError, fields, validate

from contracts.base import CARD_NO_PATTERN, NUL_FREE, PHONE_PATTERN, UUID_PATTERN, Flag, QueryFlag
from contracts.member import MemberCreate
from gateway.openapi import build_spec
from gateway.routes import all_operations

OPERATIONS = all_operations()
DOCUMENT = build_spec(OPERATIONS)
SCHEMAS = DOCUMENT["components"]["schemas"]


def resolve(schema: dict) -> dict:
    while True:
        if "$ref" in schema:
            schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]]
        elif "allOf" in schema or "anyOf" in schema:  # a nullable nested object
            schema = (schema.get("allOf") or schema["anyOf"])[0]
        else:
            return schema


def expected(field: fields.Field) -> dict:
    """The JSON Schema keywords a field's own checks call for."""
    want: dict = {}
    for check in field.validators:
        if isinstance(check, validate.Length):
            if check.min is not None:
                want["minLength" if not isinstance(field, fields.List) else "minItems"] = check.min
            if check.max is not None:
                want["maxLength" if not isinstance(field, fields.List) else "maxItems"] = check.max
        elif isinstance(check, validate.Range):
            if check.min is not None:
                want["minimum"] = check.min
            if check.max is not None:
                want["maximum"] = check.max
        elif isinstance(check, validate.OneOf):
            want["enum"] = list(check.choices)
        want.update(getattr(check, "openapi", {}))
    want.update(getattr(field, "openapi", {}))
    if isinstance(field, fields.String) and "pattern" not in want and "enum" not in want:
        want["pattern"] = NUL_FREE
    if isinstance(field, (Flag, QueryFlag)):
        want["type"] = "boolean"
    return want


def request_fields():
    for op in OPERATIONS:
        entry = DOCUMENT["paths"][op.full_path][op.method.lower()]
        if op.body is not None:
            schema = resolve(entry["requestBody"]["content"]["application/json"]["schema"])
            yield from _walk(op.body(), schema, f"{op.method} {op.path} body")
        if op.query is not None:
            params = {p["name"]: p["schema"] for p in entry["parameters"] if p["in"] == "query"}
            for name, field in op.query().fields.items():
                yield f"{op.method} {op.path} ?{name}", field, params[name]


def _walk(contract, schema: dict, where: str):
    for name, field in contract.fields.items():
        prop = resolve(schema["properties"][name])
        yield f"{where}.{name}", field, prop
        if isinstance(field, fields.Nested):
            yield from _walk(field.schema, prop, f"{where}.{name}")
        if isinstance(field, fields.List):
            item = resolve(prop["items"])
            yield f"{where}.{name}[]", field.inner, item
            if isinstance(field.inner, fields.Nested):
                yield from _walk(field.inner.schema, item, f"{where}.{name}[]")


CASES = list(request_fields())


def test_the_walk_covers_the_api():
    assert len(CASES) > 200


@pytest.mark.parametrize(("where", "field", "prop"), CASES, ids=[c[0] for c in CASES])
def test_each_request_field_documents_what_it_enforces(where, field, prop):
    for keyword, value in expected(field).items():
        assert prop.get(keyword) == value, (where, keyword, prop)
    if field.required is False and where.split(" ")[-1].startswith("?"):
        assert "nullable" not in prop  # a URL has no null


def test_patterns_agree_with_the_checks():
    # a pattern the document gives is the one the contract checks with fullmatch, so a
    # trailing newline or a U+0000 is refused by both
    assert re.fullmatch(NUL_FREE, "a\x00b") is None
    assert re.fullmatch(CARD_NO_PATTERN, "800000000011\n") is None
    assert re.fullmatch(UUID_PATTERN.rstrip("$") + "$", "0" * 36) is None


def _string_schemas(node):
    if isinstance(node, dict):
        if node.get("type") == "string" and "pattern" in node:
            yield node
        for value in node.values():
            yield from _string_schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _string_schemas(value)


def test_every_string_a_number_pattern_allows_fits_its_length():
    # A fuzzer draws strings from the pattern and drops those over maxLength; a pattern with
    # unbounded separators between digits made most of them too long (Schemathesis' health
    # check "filter_too_much"). The separators are bounded, so the longest match fits.
    checked = 0
    for schema in _string_schemas(DOCUMENT):
        low, high = re._parser.parse(schema["pattern"]).getwidth()
        if high >= re._constants.MAXREPEAT:
            continue  # one open-ended run (free text): generators bound it by maxLength themselves
        assert high <= schema.get("maxLength", high), schema
        assert low >= schema.get("minLength", 0), schema
        checked += 1
    assert checked > 10  # card numbers in paths and bodies, phones, ID numbers, ...


def test_separators_between_digits():
    phone = MemberCreate().fields["phone"]
    for typed in ("+1 (415) 555-0100", "138 0013 8000", "(0086) 138-0013-8000"):
        assert re.fullmatch(PHONE_PATTERN, typed)
        phone.deserialize(typed)
    with pytest.raises(ValidationError, match="At most two"):
        phone.deserialize("138   0013 8000")
    assert re.fullmatch(PHONE_PATTERN, "138   0013 8000") is None
    assert re.fullmatch(CARD_NO_PATTERN, "6200-0000-0001") and re.fullmatch(CARD_NO_PATTERN, " 620000000001 ")
    assert re.fullmatch(CARD_NO_PATTERN, "6200  0000 0001") is None


def test_path_parameters_say_what_they_are():
    for path, operations in DOCUMENT["paths"].items():
        for operation in operations.values():
            for parameter in operation["parameters"]:
                if parameter["in"] != "path":
                    continue
                pattern = parameter["schema"]["pattern"]
                assert pattern == (CARD_NO_PATTERN if parameter["name"] == "card_no" else UUID_PATTERN), path


def test_every_operation_documents_its_refusals_as_json():
    for path, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert {"400", "404", "414", "431", "500", "503", "504"} <= statuses, (method, path)
            if "security" in operation:
                assert {"401", "403"} <= statuses, (method, path)
            if "requestBody" in operation:
                assert {"413", "415", "422"} <= statuses, (method, path)
            for status, answer in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    sign_in = DOCUMENT["paths"]["/api/v1/auth/sign-in"]["post"]["responses"]
    assert {"401", "403"} <= set(sign_in)


def test_idempotency_key_is_declared_exactly_where_it_is_required():
    for op in OPERATIONS:
        entry = DOCUMENT["paths"][op.full_path][op.method.lower()]
        keys = [p for p in entry["parameters"] if p["name"] == "Idempotency-Key"]
        assert bool(keys) == op.needs_key, op.operation_id
        if keys:
            assert keys[0]["schema"]["minLength"] == 1 and keys[0]["required"]
