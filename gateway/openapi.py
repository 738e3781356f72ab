"""The OpenAPI 3 document, generated from the operations and their contracts,
and a plain HTML reference page made from it (no CDN, works offline)."""

from __future__ import annotations

import html
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields

from contracts.base import CARD_NO_PATTERN, NUL_FREE, UUID_PATTERN, Contract
from gateway import limits
from gateway.operations import IDEMPOTENCY_KEY_PATTERN, Operation
from services.kit.idempotency import MAX_KEY_LENGTH

PARAM = re.compile(r"{(\w+)}")


class ErrorDetail(Contract):
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields = fields.Dict(metadata={"description": "field name -> list of reasons"})


class ErrorBody(Contract):
    error = fields.Nested(ErrorDetail, required=True)


INFO = f"""Membership, stored value and loyalty for franchise chains. Money is integer fen.

**Errors.** Every answer that is not a success is JSON: `{{"error": {{"code", "message", "fields"}}}}`,
`fields` naming what was wrong. 400: the request cannot be read (bad JSON, a JSON value that is not
an object, nested deeper than {limits.MAX_JSON_DEPTH} levels, a query parameter given twice, a missing
or malformed Idempotency-Key). 422: a field breaks a rule. 413: a body over {limits.MAX_BODY_BYTES}
bytes. 414: a request line (method, URL, version) over {limits.MAX_REQUEST_LINE} bytes. 431: more than
{limits.MAX_HEADER_FIELDS} headers or one over {limits.MAX_HEADER_FIELD_BYTES} bytes. The order of
checks: sign-in (401), role (403), chain (404), input (400/422), store scope (404), state (409).

**Retries and Idempotency-Key.** Every state-changing POST takes an `Idempotency-Key`. For a key, the
first definite answer (a success, or a 4xx refusal) is stored and returned for every retry with the
same key and body; the same key with another body is 409 `idempotency_mismatch`. Retry with the same
Idempotency-Key until the answer is a success or a refusal (2xx or 4xx): 503 means nothing was done;
504 means the outcome is unknown, and only a retry with the same key is safe.
"""

ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
REQUEST_ID_HEADER = {
    "X-Request-Id": {
        "description": "This request's id (yours if you sent a valid one): quote it when reporting a problem.",
        "schema": {"type": "string"},
    }
}
REQUEST_ID_PARAMETER = {
    "in": "header",
    "name": "X-Request-Id",
    "required": False,
    "schema": {"type": "string"},
    "description": "Your id for this request, kept if it is 1 to 64 of A-Z a-z 0-9 . _ - (else one is made).",
}
RETRY = "retry with the same Idempotency-Key until the answer is a success or a refusal (2xx or 4xx)"
STATUSES = {
    400: "The request cannot be read: bad JSON, not an object, too deep, a repeated query parameter, "
    "a missing or malformed Idempotency-Key",
    401: "Not signed in, or the token was revoked",
    403: "Your role may not do this",
    404: "Not found in your chain and store scope",
    409: "Conflicts with the current state, or the Idempotency-Key was used for another request",
    413: f"The body is over {limits.MAX_BODY_BYTES} bytes",
    414: f"The request line is over {limits.MAX_REQUEST_LINE} bytes",
    415: "The body is not application/json",
    422: "A field breaks a rule; `fields` names it",
    431: f"More than {limits.MAX_HEADER_FIELDS} headers, or one over {limits.MAX_HEADER_FIELD_BYTES} bytes",
    500: "An unexpected failure on our side; the message carries the request id",
    503: f"A service or its database is not available and nothing was done: {RETRY}",
    504: f"The outcome is not known (a service was too slow or the answer was lost): {RETRY}",
}
SIGN_IN_STATUSES = {401: "Wrong username or password", 403: "The account is locked (`account_locked`) or disabled"}


def _statuses(op: Operation) -> dict[int, str]:
    """Every status the operation can answer besides its success."""
    found = {400, 404, 414, 431, 500, 503, 504}  # 404 also for a path the router does not know
    if op.body is not None:
        found |= {413, 415, 422}
    if op.query is not None or any(name == "card_no" for name in PARAM.findall(op.path)):
        found.add(422)
    if not op.public:
        found |= {401, 403}
    if op.method in ("POST", "PATCH"):
        found.add(409)
    found |= set(op.refusals)
    described = {status: STATUSES[status] for status in sorted(found)}
    if op.refusals:
        described.update({s: SIGN_IN_STATUSES[s] for s in op.refusals if s in SIGN_IN_STATUSES})
    return described


def _responses(op: Operation) -> dict:
    ok: dict = {"description": "OK", "headers": REQUEST_ID_HEADER}
    if op.media_type != "application/json":
        ok["content"] = {op.media_type: {"schema": {"type": "string"}}}
    elif op.response is not None:
        schema = op.response(many=True) if op.many else op.response
        ok["content"] = {"application/json": {"schema": schema}}
    if op.produces:
        ok["content"] = {media: {"schema": {"type": "string", "format": "binary"}} for media in op.produces}
    responses = {str(op.status): ok}
    if op.accepts_pending:
        responses["202"] = {**ok, "description": "Taken on, its outcome not yet known (`status` pending or cancelling)"}
    for status, description in _statuses(op).items():
        responses[str(status)] = {"description": description, "headers": REQUEST_ID_HEADER, **ERROR}
    return responses


def _path_parameter(name: str) -> dict:
    if name == "card_no":
        schema = {"type": "string", "minLength": 12, "maxLength": 32, "pattern": CARD_NO_PATTERN}
        about = "12 digits, the last a Luhn check digit (spaces and dashes between them are ignored)"
    else:
        schema = {"type": "string", "format": "uuid", "pattern": UUID_PATTERN}
        about = "an id (lowercase UUID)"
    return {"in": "path", "name": name, "required": True, "schema": schema, "description": about}


def _enforced(self, field: fields.Field, ret: dict, **kwargs) -> dict:
    """apispec attribute function: the JSON Schema of what a field's own checks enforce
    (contracts/base.py `documented`), and, for any string without a pattern, no U+0000."""
    extra: dict = dict(getattr(field, "openapi", {}))
    for check in getattr(field, "validators", []):
        extra.update(getattr(check, "openapi", {}))
    if isinstance(field, fields.String) and "pattern" not in ret and "pattern" not in extra and "enum" not in ret:
        extra["pattern"] = NUL_FREE
    if isinstance(field, fields.Dict) and field.key_field is not None:
        # the keys' rules (JSON Schema propertyNames), so a generated key is one the contract takes
        extra["propertyNames"] = self.field2property(field.key_field)
    return extra


def build_spec(operations: list[Operation]) -> dict:
    marshmallow = MarshmallowPlugin()
    spec = APISpec(
        title="Huiyuan API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[marshmallow],
        info={"description": INFO},
    )
    marshmallow.converter.add_attribute_function(_enforced)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("ErrorBody", schema=ErrorBody)
    paths: dict[str, dict] = {}
    for op in operations:
        parameters: list = [_path_parameter(name) for name in PARAM.findall(op.path)]
        if op.query is not None:
            parameters.append({"in": "query", "schema": op.query})
        if op.needs_key:
            parameters.append(
                {
                    "in": "header",
                    "name": "Idempotency-Key",
                    "required": True,
                    "schema": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": MAX_KEY_LENGTH,
                        "pattern": IDEMPOTENCY_KEY_PATTERN,
                    },
                    "description": "A unique string per intended change (visible ASCII); a retry with it "
                    "returns the first definite answer.",
                }
            )
        parameters.append(REQUEST_ID_PARAMETER)
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
            operation["requestBody"] = {
                "required": op.body_required,
                "content": {"application/json": {"schema": op.body}},
            }
        if not op.public:
            operation["security"] = [{"bearer": []}]
        paths.setdefault(op.full_path, {})[op.method.lower()] = operation
    for path, operations_of_path in paths.items():
        spec.path(path=path, operations=operations_of_path)
    return _no_null_in_urls(spec.to_dict())


def _no_null_in_urls(document: dict) -> dict:
    """A URL cannot carry JSON null: a query parameter is given or left out."""
    for operations_of_path in document["paths"].values():
        for operation in operations_of_path.values():
            for parameter in operation["parameters"]:
                if parameter["in"] == "query":
                    parameter["schema"].pop("nullable", None)
                    if parameter["schema"].get("default", 0) is None:
                        del parameter["schema"]["default"]
    return document


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
