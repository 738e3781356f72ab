"""Field types and helpers every contract uses."""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from contracts.errors import ValidationFailed

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _uuid_string(value: str) -> None:
    if not _UUID.match(value or ""):
        raise ValidationError("Not a valid id.")


class Contract(Schema):
    """Base of every contract: unknown fields are refused, not ignored."""

    class Meta:
        unknown = RAISE
        ordered = True


def Id(**kwargs: Any) -> fields.String:  # noqa: N802 - reads like a field class
    """An object id: a lowercase UUID string."""
    return fields.String(validate=_uuid_string, **kwargs)


# The largest amount one balance, fee or figure of one operation may hold (10 billion yuan).
MONEY_MAX = 10**12
# The largest one counter operation may move (100 million yuan): a recharge, a
# purchase, a package. Far below MONEY_MAX, so what a request passes can never
# break the contract of the event or answer that reports it.
OPERATION_MAX = 10**10
# A running total or a sum over many members (cumulative spend, liability):
# bounded only by the BIGINT column that keeps it.
TOTAL_MAX = 2**63 - 1


def Money(**kwargs: Any) -> fields.Integer:  # noqa: N802
    """An amount of money in integer fen (W-1); never negative, never a float."""
    kwargs.setdefault("validate", validate.Range(min=0, max=MONEY_MAX))
    return fields.Integer(strict=True, **kwargs)


def SignedMoney(**kwargs: Any) -> fields.Integer:  # noqa: N802
    """A signed amount in fen, for postings and adjustments."""
    return fields.Integer(strict=True, validate=validate.Range(min=-MONEY_MAX, max=MONEY_MAX), **kwargs)


def Total(signed: bool = False, **kwargs: Any) -> fields.Integer:  # noqa: N802
    """A sum of many amounts in fen: what a BIGINT holds."""
    return fields.Integer(
        strict=True, validate=validate.Range(min=-TOTAL_MAX if signed else 0, max=TOTAL_MAX), **kwargs
    )


def Count(**kwargs: Any) -> fields.Integer:  # noqa: N802
    kwargs.setdefault("validate", validate.Range(min=0, max=10**9))
    return fields.Integer(strict=True, **kwargs)


def BasisPoints(max_value: int = 10000, **kwargs: Any) -> fields.Integer:  # noqa: N802
    """A rate in basis points: 10000 is 100 %, 1000 is 10 %. Integers, so no float rounding."""
    return fields.Integer(strict=True, validate=validate.Range(min=0, max=max_value), **kwargs)


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


def Text(max_length: int = 200, required: bool = False, **kwargs: Any) -> fields.String:  # noqa: N802
    """Free text; a required one must say something (not only spaces)."""
    checks = [validate.Length(min=1 if required else 0, max=max_length)]
    if required:
        checks.append(_not_blank)
    return fields.String(required=required, validate=checks, **kwargs)


def Code(**kwargs: Any) -> fields.String:  # noqa: N802
    """A short machine code chosen by people: letters, digits, '-' and '_'."""
    return fields.String(
        validate=[
            validate.Length(min=1, max=40),
            validate.Regexp(r"^[A-Za-z0-9_-]+$", error="Use letters, digits, '-' or '_'."),
        ],
        **kwargs,
    )


# The calendar a business date may name: wide enough for any real record or
# validity, narrow enough that day arithmetic in any time zone stays in range.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2999, 12, 31)


def Day(**kwargs: Any) -> fields.Date:  # noqa: N802
    """A calendar date (ISO `YYYY-MM-DD`) between FIRST_DAY and LAST_DAY."""
    bound = validate.Range(
        min=FIRST_DAY, max=LAST_DAY, error=f"Must be between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}."
    )
    return fields.Date(validate=bound, **kwargs)


def not_before(first: str, last: str, reason: str = "Must not be before `{first}`."):
    """A schema check: `last` is not earlier than `first` (either may be absent)."""

    @validates_schema
    def check(self, data: dict, **kwargs) -> None:
        start, end = data.get(first), data.get(last)
        if start is None or end is None:
            return
        try:
            backwards = end < start
        except TypeError:  # a time with an offset and one without: not comparable, left to the service
            return
        if backwards:
            raise ValidationError(reason.format(first=first), last)

    return check


def Timestamp(**kwargs: Any) -> fields.DateTime:  # noqa: N802
    return fields.DateTime(format="iso", **kwargs)


def _stringify_keys(messages: Any) -> Any:
    if isinstance(messages, dict):
        return {str(k): _stringify_keys(v) for k, v in messages.items()}
    if isinstance(messages, list):
        return [_stringify_keys(m) for m in messages]
    return messages


@cache
def instance(schema: type[Schema]) -> Schema:
    # building a schema deep-copies its fields; one instance per contract serves every call
    return schema()


NUL_MESSAGE = "Must not contain the NUL character."


def _nul_fields(data: Any) -> Any:
    """Where `data` holds a string with U+0000 (which PostgreSQL text cannot
    store), as marshmallow-shaped error messages; None if nowhere."""
    if isinstance(data, str):
        return [NUL_MESSAGE] if "\x00" in data else None
    if isinstance(data, dict):
        found = {}
        for key, value in data.items():
            inner = _nul_fields(value) or ([NUL_MESSAGE] if isinstance(key, str) and "\x00" in key else None)
            if inner:
                found[str(key).replace("\x00", "")] = inner
        return found or None
    if isinstance(data, list):
        found = {i: inner for i, item in enumerate(data) if (inner := _nul_fields(item))}
        return found or None
    return None


def load(schema: Schema | type[Schema], data: Any, *, partial: bool = False, many: bool = False) -> Any:
    """Validate `data` against `schema`; a bad field becomes `ValidationFailed` naming it."""
    if isinstance(schema, type):
        schema = instance(schema)
    if not isinstance(data, (dict, list)):
        raise ValidationFailed("The body must be a JSON object.", {"_schema": ["Expected a JSON object."]})
    nul = _nul_fields(data)
    if nul:
        raise ValidationFailed(fields=_stringify_keys(nul))
    try:
        return schema.load(data, partial=partial, many=many)
    except ValidationError as exc:
        raise ValidationFailed(fields=_stringify_keys(exc.messages)) from None


def dump(schema: Schema | type[Schema], obj: Any, *, many: bool = False) -> Any:
    if isinstance(schema, type):
        schema = instance(schema)
    return schema.dump(obj, many=many)


class Page(Contract):
    """A cursor page request: `after` is the opaque cursor a previous page returned."""

    limit = fields.Integer(strict=False, load_default=50, validate=validate.Range(min=1, max=200))
    after = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


@cache
def page_of(item_schema: type[Schema]) -> type[Schema]:
    """A response page schema: items plus the cursor of the next page (null at the end)."""
    return Contract.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "next_cursor": fields.String(required=True, allow_none=True),
        },
        name=f"{item_schema.__name__.removesuffix('Schema')}Page",
    )
