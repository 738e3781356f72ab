"""Server-side prepared statements for the SQL a service runs again and again (issue 11).

psycopg2 sends every statement as text, so PostgreSQL parses, analyses and plans it on
every call. Measured on the bench machine: 156-178 us of a backend's CPU per statement of a
consume sent as text, 78-106 us prepared; in the bench, PostgreSQL's CPU per consume fell
from 8.7-9.0 to 6.4-7.1 ms. This module makes the driver's text into `PREPARE` once per
connection and `EXECUTE` ever after, below SQLAlchemy (a `before_cursor_execute` hook), so
no caller changes and every statement built once (services.kit.built) is prepared once per
connection.

What is prepared: a single SELECT, INSERT, UPDATE, DELETE or WITH statement whose text
this process has run before (a text seen once is often one of a kind), run with named
parameters (not executemany). Each parameter's type is what PostgreSQL infers from where
it stands; where it cannot (`jsonb_build_object('k', $1)`), or where it would read a
value otherwise than the literal did (a number where it infers text), the text is never
prepared and runs as before. A statement is prepared inside a savepoint, so a refusal
leaves the caller's transaction as it was.

Not behind a pooler in transaction mode (PgBouncer): a prepared statement belongs to one
server connection. `HUIYUAN_DB_PREPARED=0` turns it off there.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import psycopg2
from psycopg2 import extensions
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

SEEN_BEFORE_PREPARING = 1  # a text is prepared the second time this process runs it
MAX_PER_CONNECTION = 500  # enough for every statement of a service; past it, texts run as before
MAX_TRACKED = 20_000  # distinct texts remembered per process (a text built with its values in it is never seen again)

_KINDS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")
_PARAMETER = re.compile(r"%\((\w+)\)s")
_INFO_KEY = "huiyuan_prepared"

# per process: how often a text was seen, how it is executed once prepared, which texts never are
_seen: dict[str, int] = {}
_forms: dict[str, tuple[str, str, str]] = {}  # text -> (name, PREPARE statement, EXECUTE statement)
_refused: set[str] = set()
_type_checked: set[str] = set()


def install(engine: Engine) -> None:
    """Prepare the statements `engine` runs again and again (see the module's notes)."""
    event.listen(engine, "before_cursor_execute", _prepared, retval=True)


def _prepared(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> tuple[str, Any]:
    if executemany or not isinstance(parameters, dict) or statement in _refused:
        return statement, parameters
    form = _forms.get(statement)
    if form is None:
        form = _form_of(statement)
        if form is None:
            return statement, parameters
    name, prepare, execute = form
    done = conn.connection.info.setdefault(_INFO_KEY, set())
    if name not in done:
        if len(done) >= MAX_PER_CONNECTION or not _prepare(conn, cursor, statement, prepare, name, parameters):
            return statement, parameters
        done.add(name)
    return execute, parameters


def _form_of(statement: str) -> tuple[str, str, str] | None:
    """How `statement` is prepared and executed; None while it has not been seen often enough,
    or if it is not a kind that is."""
    seen = _seen.get(statement, 0)
    if seen < SEEN_BEFORE_PREPARING:
        if len(_seen) < MAX_TRACKED:
            _seen[statement] = seen + 1
        return None
    head = statement.lstrip()[:6].upper()
    # one statement, no literal percent sign (the driver's escape) and no `$` of its own
    if not head.startswith(_KINDS) or "%%" in statement or ";" in statement or "$" in statement:
        _refused.add(statement)
        return None
    names = _parameter_names(statement)
    body = _PARAMETER.sub(lambda m: f"${names.index(m.group(1)) + 1}", statement)
    name = "hy_" + hashlib.sha1(statement.encode()).hexdigest()[:20]
    arguments = f"({', '.join(f'%({n})s' for n in names)})" if names else ""
    form = (name, f"PREPARE {name} AS {body}", f"EXECUTE {name}{arguments}")
    _forms[statement] = form
    _seen.pop(statement, None)
    return form


def _parameter_names(statement: str) -> list[str]:
    """The statement's named parameters in the order of their first place: `$1`, `$2`, ..."""
    return list(dict.fromkeys(_PARAMETER.findall(statement)))


def _prepare(conn: Connection, cursor: Any, statement: str, prepare: str, name: str, parameters: dict) -> bool:
    """PREPARE on this connection, in a savepoint inside a transaction; whether it is prepared.
    A refusal is remembered for the process; a lost connection is left to the statement itself
    (it fails as it would have, through SQLAlchemy's handling)."""
    raw = conn.connection.dbapi_connection
    status = raw.info.transaction_status
    if status == extensions.TRANSACTION_STATUS_INERROR:
        return False  # the transaction is failing already: the statement fails on its own
    guarded = not raw.autocommit
    try:
        cursor.execute(f"SAVEPOINT hy_prepare; {prepare}; RELEASE SAVEPOINT hy_prepare" if guarded else prepare)
        if statement not in _type_checked:
            cursor.execute("SELECT parameter_types::text[] FROM pg_prepared_statements WHERE name = %s", (name,))
            row = cursor.fetchone()
            problem = _type_problem(row[0] if row else None, statement, parameters)
            if problem:
                cursor.execute(f"DEALLOCATE {name}")
                _refuse(statement, problem)
                return False
            if all(value is not None for value in parameters.values()):  # every parameter's type seen
                _type_checked.add(statement)
        return True
    except (psycopg2.OperationalError, psycopg2.InterfaceError):
        return False
    except psycopg2.Error as exc:
        if guarded:
            cursor.execute("ROLLBACK TO SAVEPOINT hy_prepare; RELEASE SAVEPOINT hy_prepare")
        _refuse(statement, str(exc).strip())
        return False


def _refuse(statement: str, reason: str) -> None:
    _refused.add(statement)
    _forms.pop(statement, None)
    log.info("statement not prepared (%s): %.200s", reason, " ".join(statement.split()))


# PostgreSQL's inferred parameter types that read a Python value as its literal would be read
_NUMBERS = {"smallint", "integer", "bigint", "numeric", "real", "double precision"}
_ACCEPTED: dict[type, set[str] | None] = {
    bool: {"boolean"},
    int: _NUMBERS,
    float: _NUMBERS,
    Decimal: _NUMBERS,
    datetime: {"timestamp with time zone", "timestamp without time zone"},
    date: {"date", "timestamp with time zone", "timestamp without time zone"},
    time: {"time without time zone", "time with time zone"},
    timedelta: {"interval"},
}


def _type_problem(types: list[str] | None, statement: str, parameters: dict) -> str | None:
    """Why the prepared statement would read a parameter otherwise than its literal (None: it would not)."""
    if types is None:
        return "not found after PREPARE"
    for index, (name, inferred) in enumerate(zip(_parameter_names(statement), types, strict=True)):
        value = parameters.get(name)
        if value is None or isinstance(value, str):  # a quoted literal takes the type its place gives it either way
            continue
        accepted = _ACCEPTED.get(type(value))
        if isinstance(value, list | tuple):
            accepted = None if inferred.endswith("[]") else set()
        if accepted is not None and inferred not in accepted:
            return f"${index + 1} ({type(value).__name__}) would be read as {inferred}"
    return None
