"""Statements built once, run on the driver's cursor (issue 11: the CPU of a consume).

`Session.execute` costs about 130 us of CPU per statement on top of the driver's own work
(measured on the bench machine: 330-390 us against 200-260 for one INSERT of a message),
and a consume runs about 50 statements across the services. Most of it is per-call work
that a statement built once does not need: the session's bind and plugin lookup, the
compiled cache's key, an execution context, a `CursorResult` and its metadata. `run` does
what remains: the parameters as SQLAlchemy would make them (`construct_params`, the columns'
Python defaults, the types' bind processors), the engine's cursor events (so prepared
statements, services.kit.prepared, and statement counters see it), the driver's execute,
and rows with the types' result processors. A failure goes through SQLAlchemy's own
handling (`Connection._handle_dbapi_exception`): the same exception classes, and a lost
connection invalidated.

What it does not take, and leaves to `Session.execute`: parameters as a list
(executemany), statements of mapped classes (they need the ORM), IN lists expanded at run
time, bind names SQLAlchemy escapes, and Python defaults that are neither a value nor a
function. The answer (`Rows`) has the part of SQLAlchemy's `Result` the services use.
"""

from __future__ import annotations

import weakref
from collections import namedtuple
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Dialect, Result
from sqlalchemy.exc import MultipleResultsFound, NoResultFound, ResourceClosedError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement

_REFUSED = object()  # a shape `run` leaves to SQLAlchemy


@dataclass
class _Form:
    """A statement compiled once for one set of parameter names."""

    compiled: Any
    sql: str
    defaults: tuple[tuple[str, bool, Any, Any], ...]  # (key, is_scalar, arg, column) of Python defaults
    processors: tuple[tuple[str, Callable], ...]
    keys: tuple[str, ...] | None  # the rows' names, from the statement (None: from the cursor)
    row: type | None = None  # a named tuple, made at the first row
    results: tuple[Callable | None, ...] | None = None  # per column, made at the first row


# per statement object (built once, so kept) and parameter names: its form, or _REFUSED
_forms: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def run(target: Session | Connection, statement: ClauseElement, params: dict | None = None) -> Rows | Result:
    """Execute `statement` with `params` in `target`'s transaction, as `target.execute` would."""
    params = params or {}
    if not isinstance(params, dict):
        return target.execute(statement, params)
    conn = target.connection() if isinstance(target, Session) else target
    form = _form(statement, conn.dialect, params)
    if form is _REFUSED:
        return target.execute(statement, params)
    return _execute(conn, form, params)


def _form(statement: ClauseElement, dialect: Dialect, params: dict) -> _Form | object:
    shapes = _forms.get(statement)
    if shapes is None:
        shapes = _forms[statement] = {}
    names = tuple(sorted(params))
    form = shapes.get((dialect, names))
    if form is None:
        form = shapes[(dialect, names)] = _compile(statement, dialect, names)
    return form


def _compile(statement: ClauseElement, dialect: Dialect, names: tuple[str, ...]) -> _Form | object:
    if statement._propagate_attrs.get("compile_state_plugin") == "orm":
        return _REFUSED  # the ORM's own execution (loading, bulk DML) is what such a statement means
    compiled = statement.compile(dialect=dialect, column_keys=list(names))
    if (
        compiled.positional
        or compiled.escaped_bind_names
        or compiled.literal_execute_params
        or compiled.post_compile_params
        or (compiled.insert_prefetch and compiled.update_prefetch)
    ):
        return _REFUSED
    defaults = []
    for column in compiled.insert_prefetch or compiled.update_prefetch:
        key_of = compiled._within_exec_param_key_getter  # a DML compiler's alone
        default = column.default if compiled.insert_prefetch else column.onupdate
        if default is None or not (default.is_scalar or default.is_callable) or getattr(default, "is_sentinel", False):
            return _REFUSED
        defaults.append((key_of(column), default.is_scalar, default.arg, column))
    columns = compiled._result_columns
    keys = tuple(c.keyname for c in columns) if columns else None
    return _Form(compiled, compiled.string, tuple(defaults), tuple(compiled._bind_processors.items()), keys)


class _DefaultContext:
    """What a Python default that is a function of the execution sees of it."""

    def __init__(self, parameters: dict, column: Any) -> None:
        self.current_parameters = parameters
        self.current_column = column

    def get_current_parameters(self, isolate_multiinsert_groups: bool = True) -> dict:
        return self.current_parameters


def _execute(conn: Connection, form: _Form, params: dict) -> Rows:
    values = form.compiled.construct_params(params)
    for key, is_scalar, arg, column in form.defaults:
        values[key] = arg if is_scalar else arg(_DefaultContext(values, column))
    for key, process in form.processors:
        if key in values:
            values[key] = process(values[key])
    sql = form.sql
    cursor = None
    try:
        cursor = conn.connection.dbapi_connection.cursor()
        events = conn._has_events or conn.engine._has_events
        if events:
            for listener in conn.dispatch.before_cursor_execute:
                sql, values = listener(conn, cursor, sql, values, None, False)
        cursor.execute(sql, values)
        if events:
            conn.dispatch.after_cursor_execute(conn, cursor, sql, values, None, False)
        description = cursor.description
        rows = cursor.fetchall() if description is not None else None
        count = cursor.rowcount
        cursor.close()
    except BaseException as exc:  # noqa: BLE001 - SQLAlchemy's handling raises it, wrapped as it would be
        conn._handle_dbapi_exception(exc, sql, values, cursor, None)
        raise  # not reached: the handling above raises
    if rows is None:
        return Rows(None, [], count)
    if form.row is None:
        _shape_rows(form, conn.dialect, description)
    results = form.results
    if any(results):
        rows = [tuple(p(v) if p else v for p, v in zip(results, row, strict=True)) for row in rows]
    make = form.row._make
    return Rows(form.row, [make(row) for row in rows], count)


def _shape_rows(form: _Form, dialect: Dialect, description: Any) -> None:
    names = form.keys or tuple(d[0] for d in description)
    form.row = _row_class(names)
    if form.keys:
        columns = form.compiled._result_columns
        form.results = tuple(
            c.type._cached_result_processor(dialect, d[1]) for c, d in zip(columns, description, strict=True)
        )
    else:
        form.results = (None,) * len(description)


def _row_class(names: tuple[str, ...]) -> type:
    base = namedtuple("Row", names, rename=True)  # noqa: PYI024 - names known only at run time

    class Row(base):
        """A row as SQLAlchemy's `Row` is used here: a tuple, its columns by name, `_mapping`."""

        __slots__ = ()

        @property
        def _mapping(self) -> dict:
            return dict(zip(names, self, strict=True))

        def _asdict(self) -> dict:
            return self._mapping

    return Row


class Rows:
    """The rows a statement returned, all read (the part of SQLAlchemy's `Result` used here)."""

    def __init__(self, row: type | None, rows: list, rowcount: int) -> None:
        self._returns = row is not None
        self._rows = rows
        self.rowcount = rowcount

    def _all(self) -> list:
        if not self._returns:
            raise ResourceClosedError("This result object does not return rows.")
        return self._rows

    def __iter__(self) -> Iterator:
        return iter(self._all())

    def all(self) -> list:
        return list(self._all())

    fetchall = all

    def first(self) -> Any:
        rows = self._all()
        return rows[0] if rows else None

    fetchone = first

    def one_or_none(self) -> Any:
        rows = self._all()
        if len(rows) > 1:
            raise MultipleResultsFound("Multiple rows were found when one or none was required")
        return rows[0] if rows else None

    def one(self) -> Any:
        row = self.one_or_none()
        if row is None:
            raise NoResultFound("No row was found when one was required")
        return row

    def scalar(self) -> Any:
        row = self.first()
        return row[0] if row is not None else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar_one_or_none(self) -> Any:
        row = self.one_or_none()
        return row[0] if row is not None else None

    def scalars(self) -> Rows:
        """The first column of each row, as the rows."""
        return Rows(tuple, [row[0] for row in self._all()], self.rowcount)

    def mappings(self) -> Rows:
        """Each row as a dict of its columns by name."""
        return Rows(dict, [row._mapping for row in self._all()], self.rowcount)

    def tuples(self) -> Rows:
        return self
