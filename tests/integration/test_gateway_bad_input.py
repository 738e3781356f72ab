"""Every operation with a body refuses a wrongly typed field with 422 naming it.

Walks the OpenAPI document (so operations added later are covered too) and,
for each field of each request body, sends a value of the wrong type.
Nothing may answer 5xx, and the error must name the field.
"""

import uuid

import pytest

from tests.helpers import build_chain, ok

pytestmark = pytest.mark.integration

WRONG = {
    "string": 12345,
    "integer": "twelve",
    "number": "twelve",
    "boolean": "maybe",
    "array": "not-a-list",
    "object": "not-an-object",
}


def resolve(schema, components):
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    if "allOf" in schema:
        return resolve(schema["allOf"][0], components)
    return schema


def body_operations(document):
    components = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if content:
                yield path, method, resolve(content["schema"], components)


@pytest.fixture(scope="module")
def world(admin):
    return build_chain(admin)


def test_wrongly_typed_fields_are_422_naming_the_field(client, admin, world):
    document = ok(client.simulate_get("/api/v1/openapi.json"))
    ids = {"chain_id": world.id, "store_id": world.stores["A"]["id"]}
    checked = 0
    for path, method, schema in body_operations(document):
        caller = admin if path == "/api/v1/chains" else world.hq
        url = path
        for name in [p.strip("{}") for p in path.split("/") if p.startswith("{")]:
            url = url.replace(f"{{{name}}}", ids.get(name, str(uuid.uuid4())))
        for field, spec in resolve(schema, document["components"]["schemas"]).get("properties", {}).items():
            kind = resolve(spec, document["components"]["schemas"]).get("type", "object")
            headers = {"Authorization": f"Bearer {caller.token}", "Idempotency-Key": uuid.uuid4().hex}
            answer = client.simulate_request(method.upper(), url, json={field: WRONG[kind]}, headers=headers)
            assert answer.status_code == 422, (method, url, field, answer.status_code, answer.text)
            assert field in answer.json["error"]["fields"], (method, url, field, answer.json)
            checked += 1
        not_an_object = client.simulate_request(
            method.upper(),
            url,
            json=[1, 2],
            headers={"Authorization": f"Bearer {caller.token}", "Idempotency-Key": uuid.uuid4().hex},
        )
        assert not_an_object.status_code == 400, (method, url, not_an_object.text)
    assert checked > 40  # the walk really covered the API
