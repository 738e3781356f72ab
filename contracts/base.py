"""Field types and helpers every contract uses."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from datetime import date
from functools import cache
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from contracts import fastload
from contracts.errors import ValidationFailed

# ---- what a check enforces, for the OpenAPI document -------------------------------
#
# A validator or field may carry `openapi`: the JSON Schema keywords that say what it
# enforces. The gateway's document generator (gateway/openapi.py) copies them onto the
# field's schema, so the document is made from the same objects that do the checking.
# Patterns are written in the common subset of Python's and ECMA-262's syntax and are
# checked with `fullmatch`, so "ABC\n" is refused here as it is by the document.

NUL_FREE = r"^[^\u0000]*$"  # PostgreSQL text cannot hold U+0000; `load` refuses it anywhere
NOT_BLANK = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"  # something besides spaces, and no U+0000


def documented(check: Callable, **schema: Any) -> Callable:
    """Attach the JSON Schema keywords `check` enforces."""
    check.openapi = schema  # type: ignore[attr-defined]
    return check


class Pattern(validate.Validator):
    """The whole value matches `pattern` (marshmallow's Regexp lets a trailing newline through)."""

    def __init__(self, pattern: str, error: str = "Not in the expected format.") -> None:
        self.regex = re.compile(pattern)
        self.error = error
        self.openapi = {"pattern": pattern}

    def __call__(self, value: str) -> str:
        if not isinstance(value, str) or self.regex.fullmatch(value) is None:
            raise ValidationError(self.error)
        return value


# Separators a person types between the characters of a number, which the services drop
# (services/member/card_numbers.py clean_card_no, services/member/pii.py normalise_phone): at
# most one between two digits of a card ("6200 0000 0001") and two of a phone ("+1 (415) 555-0100").
# Bounded so that every number the patterns allow fits its field's maximum length.
_CARD_SEP = r"[ -]?"
_PHONE_SEP = r"[\s().-]{0,2}"
PHONE_SEPARATOR_RUN = re.compile(r"[\s().-]{3}")
# 12 digits; the last is a Luhn check digit, which a pattern cannot express (422 when it is wrong)
CARD_NO_PATTERN = rf"^{_CARD_SEP}(?:[0-9]{_CARD_SEP}){{12}}$"
# a China mobile (11 digits from 13 to 19, optionally +86 or 0086 before it), or + (or 00) and
# 7 to 15 digits of another country's number (never 86: that is the mobile form)
_MOBILE = (
    rf"(?:(?:\+|0{_PHONE_SEP}0){_PHONE_SEP}8{_PHONE_SEP}6{_PHONE_SEP})?"
    rf"1{_PHONE_SEP}[3-9]{_PHONE_SEP}(?:[0-9]{_PHONE_SEP}){{9}}"
)
_ABROAD = (
    rf"(?:\+|0{_PHONE_SEP}0){_PHONE_SEP}(?:[1-79]{_PHONE_SEP}[0-9]|8{_PHONE_SEP}[0-57-9]){_PHONE_SEP}"
    rf"(?:[0-9]{_PHONE_SEP}){{5,13}}"
)
PHONE_PATTERN = rf"^{_PHONE_SEP}(?:{_MOBILE}|{_ABROAD})$"


def _separators_in_a_row(value: str) -> None:
    """The one rule of the phone pattern the services do not judge (they drop any run)."""
    if PHONE_SEPARATOR_RUN.search(value):
        raise ValidationError("At most two spaces, '-', '.', '(' or ')' in a row.")


def _phone_judged_by_the_service(value: str) -> None:
    """Documentation only: the service normalises and judges the number, naming what is wrong
    ("a mobile number has 11 digits, this has 10"), so the document states the pattern."""


# A phone field: 64 fits the longest number the pattern allows (15 digits and their separators)
PHONE_CHECKS = [
    validate.Length(min=1, max=64),
    _separators_in_a_row,
    documented(_phone_judged_by_the_service, pattern=PHONE_PATTERN),
]

# a resident ID-card number: 15 digits, or 17 digits and a check character (digit or X) that
# a pattern cannot check; spaces are dropped (services/member/pii.py normalise_id_number)
ID_NUMBER_PATTERN = r"^\s*(?:(?:[0-9]\s*){15}|(?:[0-9]\s*){17}[0-9Xx]\s*)$"
# a licence plate: 5 to 10 characters besides the spaces, '-', '·' and '.' that are dropped
PLATE_PATTERN = r"^[\s·.-]*(?:[^\s·.\u0000-][\s·.-]*){5,10}$"

# an e-mail address: something, one @, a domain with a dot; no spaces (a member's, a sender's)
EMAIL_PATTERN = r"^[^@\s\u0000]{1,64}@[^@\s\u0000]{1,190}\.[^@\s\u0000]{1,60}$"
EMAIL_CHECKS = [validate.Length(max=320), Pattern(EMAIL_PATTERN, "An e-mail address.")]

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_UUID = re.compile(UUID_PATTERN)


def _uuid_string(value: str) -> None:
    if not _UUID.fullmatch(value or ""):
        raise ValidationError("Not a valid id.")


documented(_uuid_string, pattern=UUID_PATTERN)


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


documented(_not_blank, pattern=NOT_BLANK)


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
            Pattern(r"^[A-Za-z0-9_-]+$", error="Use letters, digits, '-' or '_'."),
        ],
        **kwargs,
    )


# The calendar a business date may name: wide enough for any real record or
# validity, narrow enough that day arithmetic in any time zone stays in range.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2999, 12, 31)


class _InCalendar(validate.Validator):
    """Between FIRST_DAY and LAST_DAY; documented as the pattern of those years (a JSON Schema
    `minimum` is for numbers, not dates)."""

    openapi = {"pattern": r"^2[0-9]{3}-[0-9]{2}-[0-9]{2}$"}
    error = f"Must be between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}."

    def __call__(self, value: date) -> date:
        if not FIRST_DAY <= value <= LAST_DAY:
            raise ValidationError(self.error)
        return value


def Day(**kwargs: Any) -> fields.Date:  # noqa: N802
    """A calendar date (ISO `YYYY-MM-DD`) between FIRST_DAY and LAST_DAY."""
    return fields.Date(validate=_InCalendar(), **kwargs)


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


class Flag(fields.Boolean):
    """A JSON true or false, nothing else (marshmallow's Boolean also takes 1, "yes", "on" ...)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if value is True or value is False:
            return value
        raise self.make_error("invalid", input=value)


class QueryFlag(fields.Boolean):
    """A query parameter that is `true` or `false`, as the document's boolean is written in a URL."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if value in ("true", "false"):
            return value == "true"
        raise self.make_error("invalid", input=value)


class QueryInteger(fields.Integer):
    """A query parameter in decimal digits (int() would also take " 5", "+5" and full-width digits)."""

    _DIGITS = re.compile(r"-?[0-9]+")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, str) or self._DIGITS.fullmatch(value) is None or len(value) > 18:
            raise self.make_error("invalid", input=value)
        return super()._deserialize(value, attr, data, **kwargs)


# A date-time as RFC 3339 writes it (what the document's `format: date-time` means): date,
# time and an offset (hours 00 to 23).
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_EARLIEST = dt.datetime.min.replace(tzinfo=dt.UTC)
_LATEST = dt.datetime.max.replace(tzinfo=dt.UTC)


class _Timestamp(fields.DateTime):
    """An RFC 3339 date-time with its offset, handed on in UTC: PostgreSQL stores offsets only
    to ±15:59, so a valid `+16:00` is converted rather than passed through (it was a 500). The
    few instants at the ends of the calendar that fall outside Python's years 1 to 9999 in UTC
    (0001-01-01T00:00:00+01:00) are taken as the earliest or latest instant: these are bounds
    of a search, and nothing is older or newer."""

    default_error_messages = {
        "invalid": "Not a date-time: give it as 2026-01-31T09:30:00+08:00 (or ...Z for UTC).",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.datetime:
        if not isinstance(value, str) or _RFC3339.fullmatch(value) is None:
            raise self.make_error("invalid")
        hours, minutes = (0, 0) if value[-1] in "Zz" else (int(value[-5:-3]), int(value[-2:]))
        if hours > 23 or minutes > 59:
            raise self.make_error("invalid")
        try:
            parsed = dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        except ValueError:
            raise self.make_error("invalid") from None
        try:
            return parsed.astimezone(dt.UTC)
        except OverflowError:
            return _EARLIEST if parsed.year == 1 else _LATEST


def Timestamp(**kwargs: Any) -> fields.DateTime:  # noqa: N802
    return _Timestamp(format="iso", **kwargs)


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
    if not isinstance(data, (dict, list)):
        raise ValidationFailed("The body must be a JSON object.", {"_schema": ["Expected a JSON object."]})
    nul = _nul_fields(data)
    if nul:
        raise ValidationFailed(fields=_stringify_keys(nul))
    return load_nul_free(schema, data, partial=partial, many=many)


def load_nul_free(schema: Schema | type[Schema], data: Any, *, partial: bool = False, many: bool = False) -> Any:
    """`load` for data already known to hold no NUL (a part of what `load` checked whole).
    Compiled where the contract allows (contracts/fastload.py); marshmallow loads the rest
    and answers every refusal."""
    if isinstance(schema, type):
        schema = instance(schema)
    fast = None if partial else fastload.loader(schema)
    if fast is not None:
        try:
            if not many:
                return fast(data)
            if type(data) is list:
                return [fast(item) for item in data]
        except fastload.Slow:
            pass
    try:
        return schema.load(data, partial=partial, many=many)
    except ValidationError as exc:
        raise ValidationFailed(fields=_stringify_keys(exc.messages)) from None


def problems(schema: Schema | type[Schema], data: Any) -> dict:
    """What `Schema.validate` finds wrong with `data` (field: messages), empty if nothing;
    the compiled load first, so valid data costs what it costs to load."""
    if isinstance(schema, type):
        schema = instance(schema)
    fast = fastload.loader(schema)
    if fast is not None:
        try:
            fast(data)
            return {}
        except fastload.Slow:
            pass
    return schema.validate(data)


def dump(schema: Schema | type[Schema], obj: Any, *, many: bool = False) -> Any:
    if isinstance(schema, type):
        schema = instance(schema)
    return schema.dump(obj, many=many)


class Page(Contract):
    """A cursor page request: `after` is the opaque cursor a previous page returned."""

    limit = QueryInteger(load_default=50, validate=validate.Range(min=1, max=200))
    after = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


# S-3: a receipt prints on an 80 mm thermal printer or an A4 page (services/kit/receipts.py)
RECEIPT_FORMATS = ("80mm", "a4")


class ReceiptQuery(Contract):
    """The paper a printable receipt is laid out for (gift's redemptions, wallet's transactions)."""

    format = fields.String(load_default="80mm", validate=validate.OneOf(RECEIPT_FORMATS))


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
