"""Keyset (cursor) pagination: stable under inserts, cheap at any depth."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Integer, Select, tuple_
from sqlalchemy.orm import Session

from contracts.errors import ValidationFailed


def encode_cursor(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def _typed(value: Any, column: Any) -> Any:
    """A cursor value as its column's type; a cursor is client input, so every
    value is checked, never passed to the database as it came."""
    if isinstance(column.type, DateTime):
        if not isinstance(value, str):
            raise ValueError
        return datetime.fromisoformat(value)
    if isinstance(column.type, Integer):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError
        return value
    if not isinstance(value, str) or "\x00" in value:
        raise ValueError
    return value


def decode_cursor(cursor: str, columns: Sequence[Any]) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != len(columns):
            raise ValueError
        return [_typed(v, col) for v, col in zip(values, columns, strict=True)]
    except (ValueError, TypeError, UnicodeDecodeError):
        raise ValidationFailed("The cursor is not valid.", {"after": ["Not a cursor this list returned."]}) from None


def keyset_page(
    session: Session,
    stmt: Select,
    columns: Sequence[Any],
    *,
    limit: int,
    after: str | None,
    descending: bool = False,
) -> tuple[list[Any], str | None]:
    """Rows of `stmt` ordered by `columns` (unique together), after `after`."""
    if after:
        values = decode_cursor(after, columns)
        key = tuple_(*columns)
        stmt = stmt.where(key < tuple_(*values) if descending else key > tuple_(*values))
    order = [c.desc() for c in columns] if descending else list(columns)
    rows = session.execute(stmt.order_by(*order).limit(limit + 1)).scalars().all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor([getattr(last, c.key) for c in columns])
    return list(rows), next_cursor
