"""A contract's load without marshmallow's per-field machinery, with marshmallow's answers.

`Schema.load` spends about 20 µs on every field, whatever its type: the consume's event
(26 fields and a line of 13) took 570 µs to load, and four services load each consume's
event, then points' two: 8 to 17 % of the py-spy samples of each service on a consume's path.

`loader(schema)` turns a schema, once, into a plain function that builds the dict
`schema.load` would build, for input in which every value is already what its field
makes of it: a `str` for a String, an `int` for an Integer, `True` or `False` for a
Boolean, a `dict` for a Nested schema or a Dict, a `list` for a List. It runs each field's
validators as marshmallow does. A field of any other type (a date, a timestamp, the
contracts' own Flag or QueryInteger ...) or a value of another type (a `"5"` for an
Integer) goes to the field's own `deserialize`, as `Schema.load` would send it.

Whenever anything is not plainly right (a required field missing, a key the contract
does not know, a None where none is allowed, a validator or the schema's own
`validates_schema` check refusing) the function raises `Slow` and the caller runs
`schema.load`, whose answer and error messages are the contract's. The fast path
therefore only ever says yes where marshmallow says yes, with the same dict. A schema
with hooks that change data or check one field (pre_load, post_load, validates), a
schema whose `many` or `partial` is set at construction, or one loaded with
`unknown=INCLUDE` is not compiled: `loader` answers None and marshmallow does all of it.
The schema's `validates_schema` checks are called as marshmallow calls them, with
`partial=False` (what `contracts.base.load` passes; no contract's check reads it).

With `HUIYUAN_FASTLOAD_CHECK=1` (the test suite sets it) every compiled load is also run
through marshmallow and must give the same dict, in the same order.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, fields
from marshmallow.decorators import VALIDATES_SCHEMA
from marshmallow.exceptions import ValidationError
from marshmallow.utils import missing


class Slow(Exception):
    """This input needs marshmallow's own load (it may be wrong, or just unusual)."""


_NOT_COMPILED = object()

Load = Callable[[Any], dict]
Convert = Callable[[Any, Any], Any]  # (value, the parent's data) -> loaded value
Converter = tuple[Convert, bool]  # and whether it is the field's own `deserialize` (None judged there)

_loaders: weakref.WeakKeyDictionary[Schema, Any] = weakref.WeakKeyDictionary()


def loader(schema: Schema) -> Load | None:
    """The schema's compiled load (cached with the schema instance), or None where there is none."""
    found = _loaders.get(schema)
    if found is None:
        found = _compile(schema, schema.unknown) or _NOT_COMPILED
        if found is not _NOT_COMPILED and os.environ.get("HUIYUAN_FASTLOAD_CHECK") == "1":
            found = _checked_against_marshmallow(schema, found)
        _loaders[schema] = found
    return None if found is _NOT_COMPILED else found


def _checked_against_marshmallow(schema: Schema, fast: Load) -> Load:
    def load(data: Any) -> dict:
        result = fast(data)
        name = type(schema).__name__
        try:
            expected = schema.load(data)
        except ValidationError as error:
            raise AssertionError(f"compiled {name} took {data!r}; marshmallow refuses: {error.messages}") from None
        if result != expected or list(result) != list(expected):
            raise AssertionError(f"compiled {name} made {result!r} of {data!r}; marshmallow {expected!r}")
        return result

    return load


def _compile(schema: Schema, unknown: str) -> Load | None:
    hooks = schema._hooks
    if any(hooks[tag] for tag in hooks if tag != VALIDATES_SCHEMA):
        return None
    if schema.many or schema.partial or schema.dict_class is not dict:
        return None
    if unknown not in (RAISE, EXCLUDE):
        return None
    steps = []
    for attr_name, field in schema.load_fields.items():
        out_key = field.attribute or attr_name
        if "." in out_key:  # marshmallow would nest the value under each part
            return None
        in_key = field.data_key if field.data_key is not None else attr_name
        steps.append((in_key, out_key, field, *_converter(field, in_key)))
    refuse_unknown = unknown == RAISE
    # the schema's own checks, in marshmallow's order: those that would take a collection first
    checks = [
        (getattr(schema, name), options.get("pass_original", False))
        for first in (True, False)
        for name, takes_many, options in hooks[VALIDATES_SCHEMA]
        if takes_many == first
    ]

    def load(data: Any) -> dict:
        if type(data) is not dict:
            raise Slow
        out: dict = {}
        present = 0
        for in_key, out_key, field, convert, delegated in steps:
            raw = data.get(in_key, missing)
            if raw is missing:
                if field.required:
                    raise Slow
                default = field.load_default
                if default is not missing:
                    out[out_key] = default() if callable(default) else default
                continue
            present += 1
            if raw is None and not delegated:  # (a delegated field judges None itself)
                if not field.allow_none:
                    raise Slow
                out[out_key] = None
                continue
            value = convert(raw, data)
            if value is not missing:
                out[out_key] = value
        if refuse_unknown and present != len(data):
            raise Slow
        for check, pass_original in checks:
            try:
                if pass_original:
                    check(out, data, partial=False, many=False, unknown=unknown)
                else:
                    check(out, partial=False, many=False, unknown=unknown)
            except ValidationError:
                raise Slow from None
        return out

    return load


def _converter(field: fields.Field, name: str | None) -> Converter:
    """What the field makes of a present value, or `Slow`. `name` is what marshmallow passes
    the field's own `deserialize`: its key in a schema, None as an item of a List."""
    delegate = _delegate(field, name)
    if field.pre_load or field.post_load:
        return delegate, True
    kind = type(field)
    if kind is fields.String:
        plain, make = str, _same
    elif kind is fields.Integer:
        plain, make = int, _same
    elif kind is fields.Boolean and True in field.truthy and False in field.falsy:
        plain, make = bool, _same
    elif kind is fields.Dict and field.key_field is None and field.value_field is None:
        plain, make = dict, dict
    elif kind is fields.Nested and not field.many and not field.schema.many:
        inner = _compile(field.schema, field.unknown or field.schema.unknown)
        if inner is None:
            return delegate, True
        plain, make = dict, inner
    elif kind is fields.List:
        item = _item(field.inner)
        plain, make = list, lambda values: [item(value) for value in values]
    else:
        return delegate, True
    validate = _validation(field)

    def convert(value: Any, data: Any) -> Any:
        if type(value) is not plain:  # another type: marshmallow's own conversion, or its refusal
            return delegate(value, data)
        loaded = make(value)
        validate(loaded)
        return loaded

    return convert, False


def _same(value: Any) -> Any:
    return value


def _item(field: fields.Field) -> Callable[[Any], Any]:
    """A List's item: its field as above (None only where allowed), or its own `deserialize`
    called as List calls it, with no name or parent data."""
    convert, delegated = _converter(field, None)

    def item(value: Any) -> Any:
        if value is None and not delegated:
            if not field.allow_none:
                raise Slow
            return None
        return convert(value, None)

    return item


def _validation(field: fields.Field) -> Callable[[Any], None]:
    """The field's validators as marshmallow's `And` runs them: a refusal is a ValidationError
    (what a validator returns counts for nothing)."""
    validators = tuple(field.validators)
    if not validators:
        return _same

    def validate(value: Any) -> None:
        for validator in validators:
            try:
                validator(value)
            except ValidationError:
                raise Slow from None

    return validate


def _delegate(field: fields.Field, name: str | None) -> Convert:
    """The field's own `deserialize` (missing and None handled there too); its refusal is `Slow`."""

    def convert(value: Any, data: Any) -> Any:
        try:
            return field.deserialize(value, name, data)
        except ValidationError:
            raise Slow from None

    return convert
