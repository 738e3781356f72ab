"""The OpenAPI 3 document, generated from the operations and their contracts,
and a plain HTML reference page made from it (no CDN, works offline)."""

from __future__ import annotations

import html
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields

from contracts.base import Contract
from gateway.operations import Operation

PARAM = re.compile(r"{(\w+)}")


class ErrorDetail(Contract):
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields = fields.Dict(metadata={"description": "field name -> list of reasons"})


class ErrorBody(Contract):
    error = fields.Nested(ErrorDetail, required=True)


def _responses(op: Operation) -> dict:
    ok: dict = {"description": "OK"}
    if op.response is not None:
        schema = op.response(many=True) if op.many else op.response
        ok["content"] = {"application/json": {"schema": schema}}
    responses = {str(op.status): ok}
    error = {"content": {"application/json": {"schema": "ErrorBody"}}}
    if op.body is not None or op.query is not None or op.needs_key:
        responses["400"] = {"description": "Malformed request", **error}
        responses["422"] = {"description": "A field breaks a rule; `fields` names it", **error}
    if not op.public:
        responses["401"] = {"description": "Not signed in, or the token was revoked", **error}
        responses["403"] = {"description": "Your role may not do this", **error}
    if PARAM.search(op.path):
        responses["404"] = {"description": "Not found in your chain and store scope", **error}
    if op.method in ("POST", "PATCH"):
        responses["409"] = {"description": "Conflicts with the current state or a used Idempotency-Key", **error}
    responses["503"] = {"description": "A service is down; retry with the same Idempotency-Key", **error}
    return responses


def build_spec(operations: list[Operation]) -> dict:
    spec = APISpec(
        title="Huiyuan API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "Membership, stored value and loyalty for franchise chains. Money is integer fen."},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("ErrorBody", schema=ErrorBody)
    paths: dict[str, dict] = {}
    for op in operations:
        parameters: list = [
            {"in": "path", "name": name, "required": True, "schema": {"type": "string", "format": "uuid"}}
            for name in PARAM.findall(op.path)
        ]
        if op.query is not None:
            parameters.append({"in": "query", "schema": op.query})
        if op.needs_key:
            parameters.append(
                {
                    "in": "header",
                    "name": "Idempotency-Key",
                    "required": True,
                    "schema": {"type": "string", "maxLength": 200},
                    "description": "A unique string per intended change; a retry with it returns the first answer.",
                }
            )
        operation = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "tags": [op.tag],
            "parameters": parameters,
            "responses": _responses(op),
        }
        if op.description:
            operation["description"] = op.description
        if op.roles:
            operation["x-roles"] = list(op.roles)
        if op.body is not None:
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.body}}}
        if not op.public:
            operation["security"] = [{"bearer": []}]
        paths.setdefault(op.full_path, {})[op.method.lower()] = operation
    for path, operations_of_path in paths.items():
        spec.path(path=path, operations=operations_of_path)
    return spec.to_dict()


def _fields_table(schema: dict | None, components: dict) -> str:
    if not schema:
        return ""
    if "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    props = schema.get("properties", {})
    if not props:
        return ""
    required = set(schema.get("required", []))
    rows = "".join(
        f"<tr><td><code>{html.escape(name)}</code>{' *' if name in required else ''}</td>"
        f"<td>{html.escape(str(p.get('type', p.get('$ref', 'object').rsplit('/', 1)[-1])))}</td>"
        f"<td>{html.escape(', '.join(str(v) for v in p.get('enum', [])))}</td></tr>"
        for name, p in props.items()
    )
    return f"<table><tr><th>field</th><th>type</th><th>one of</th></tr>{rows}</table>"


def reference_page(document: dict) -> str:
    """A readable API reference: every operation, who may call it, its fields."""
    components = document.get("components", {}).get("schemas", {})
    sections = []
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            roles = ", ".join(op.get("x-roles", [])) or ("anyone" if "security" not in op else "anyone signed in")
            key = (
                " · Idempotency-Key required"
                if any(p.get("name") == "Idempotency-Key" for p in op["parameters"])
                else ""
            )
            sections.append(
                f"<section><h3><span class='m'>{method.upper()}</span> <code>{html.escape(path)}</code></h3>"
                f"<p>{html.escape(op['summary'])}. <em>Who: {html.escape(roles)}{key}</em></p>"
                f"{_fields_table(body, components)}</section>"
            )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Huiyuan API</title><style>"
        "body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}"
        ".m{display:inline-block;min-width:4em;font-weight:bold}</style></head><body>"
        "<h1>Huiyuan API</h1><p>Amounts are integer fen. Errors are "
        '<code>{"error": {"code", "message", "fields"}}</code>. Machine-readable: '
        "<a href='/api/v1/openapi.json'>openapi.json</a>.</p>" + "".join(sections) + "</body></html>"
    )
