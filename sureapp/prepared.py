"""A Core SELECT compiled once per dialect and run straight on a pooled DBAPI connection.

For the keyed hot path (the key lookup, the contact read): the SQLAlchemy Session and
Connection machinery around one indexed SELECT costs about 100 µs of CPU (autobegin, the
execution context, result proxies, close and reset at teardown); the statement itself costs a
few. A PreparedRead keeps the statement's SQL text, parameter order and per-column type
processors from SQLAlchemy's own compilation (so values come back exactly as through Core),
borrows a connection from the engine's pool only for the statement, and runs it without a
transaction (no BEGIN, no ROLLBACK round trip). It reads only committed data on a connection
of its own: use it for a read that must not see the Session's pending changes, never inside a
write's transaction.

On a request marked read-only (extensions.mark_read_only_request: an API GET) the prepared
reads share one connection: the first checks it out, the others reuse it, and `release` (the
keyed app's teardown) gives it back, so the key lookup and the contact read cost one checkout
(and on PostgreSQL one switch into autocommit and back). Any other statement borrows a
connection for itself alone. A value repeated in consecutive rows (a joined row repeats its
parent's columns) is converted once, and those rows share the converted value.

A disconnect (the database restarted) invalidates the connection and retries the statement
once on a fresh one; any driver error is raised as SQLAlchemy's DBAPIError, so faults.py answers
an outage with the same 503 as elsewhere.
"""
import weakref
from dataclasses import dataclass

from flask import g
from sqlalchemy import Select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from .extensions import READ_ONLY_REQUEST

_HELD = "prepared_connections"  # g: {engine: _Lease} of a read-only request


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    positional: tuple[str, ...] | None  # parameter names in order (qmark), None for named
    defaults: dict  # literal binds of the statement itself
    bind_processors: dict  # name → processor
    converters: tuple  # (column index, processor) for the columns that have one
    dialect: object


def _compile(statement: Select, engine: Engine) -> _Compiled:
    dialect = engine.dialect
    compiled = statement.compile(dialect=dialect)
    bind_processors = {}
    for name, bind in compiled.binds.items():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            bind_processors[name] = processor
    processors = (column.type.dialect_impl(dialect).result_processor(dialect, None)
                  for column in statement.selected_columns)
    converters = tuple((index, processor) for index, processor in enumerate(processors)
                       if processor is not None)
    positional = tuple(compiled.positiontup) if compiled.positional else None
    defaults = {name: bind.value for name, bind in compiled.binds.items()
                if not bind.required and bind.value is not None}
    return _Compiled(compiled.string, positional, defaults, bind_processors, converters, dialect)


class PreparedRead:
    """`rows(engine, **params)`: every row as a sequence of Python values; `first(...)`: one
    row or None."""

    def __init__(self, statement: Select):
        self.statement = statement
        # Per dialect instance (one per engine), weakly: tests and tools create many engines.
        self._by_dialect: "weakref.WeakKeyDictionary[object, _Compiled]" = \
            weakref.WeakKeyDictionary()

    def _compiled(self, engine: Engine) -> _Compiled:
        found = self._by_dialect.get(engine.dialect)
        if found is None:
            found = self._by_dialect[engine.dialect] = _compile(self.statement, engine)
        return found

    def rows(self, engine: Engine, **params) -> list:
        compiled = self._compiled(engine)
        values = compiled.defaults | params
        for name, processor in compiled.bind_processors.items():
            if name in values:
                values[name] = processor(values[name])
        arguments = (tuple(values[name] for name in compiled.positional)
                     if compiled.positional is not None else values)
        try:
            raw = _execute(engine, compiled, arguments)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            raw = _execute(engine, compiled, arguments)  # once, on a fresh connection
        converters = compiled.converters
        if not converters:
            return raw
        rows = []
        previous_raw = previous = None
        for row in raw:
            values = list(row)
            for index, processor in converters:
                value = values[index]
                if value is None:
                    continue
                if previous_raw is not None and previous_raw[index] == value:
                    values[index] = previous[index]  # the parent's column again: converted once
                else:
                    values[index] = processor(value)
            rows.append(values)
            previous_raw, previous = row, values
        return rows

    def first(self, engine: Engine, **params):
        rows = self.rows(engine, **params)
        return rows[0] if rows else None


@dataclass(slots=True)
class _Lease:
    """A pooled connection checked out for prepared reads, in autocommit while it is out."""

    connection: object  # the pool's proxied connection; close() gives it back
    switched: bool  # psycopg: autocommit was turned on at checkout, so it is turned off again

    def give_back(self) -> None:
        if self.switched:
            try:
                self.connection.dbapi_connection.autocommit = False
            except Exception:  # a broken connection: let the pool discard it
                self.connection.invalidate()
        self.connection.close()


def _lease(engine: Engine, compiled: _Compiled) -> _Lease:
    dialect = compiled.dialect
    try:
        connection = engine.raw_connection()  # from the pool
    except dialect.loaded_dbapi.Error as error:  # cannot connect: no retry, the same 503
        raise _wrapped(error, None, compiled, invalidated=False) from error
    dbapi = connection.dbapi_connection
    # psycopg: autocommit while leased (a flag, no round trip), so nothing is left in a
    # transaction for the pool's reset-on-return ROLLBACK. sqlite3 begins only before writes,
    # so its SELECT needs nothing.
    switched = getattr(dbapi, "autocommit", None) is False
    if switched:
        try:
            dbapi.autocommit = True
        except dialect.loaded_dbapi.Error as error:
            connection.invalidate(error)
            connection.close()
            raise _wrapped(error, None, compiled, invalidated=True) from error
    return _Lease(connection, switched)


def _execute(engine: Engine, compiled: _Compiled, arguments) -> list[tuple]:
    held = g.setdefault(_HELD, {}) if g.get(READ_ONLY_REQUEST) else None
    lease = held.get(engine) if held is not None else None
    if lease is None:
        lease = _lease(engine, compiled)
        if held is not None:
            held[engine] = lease
    dbapi = lease.connection.dbapi_connection
    try:
        cursor = dbapi.cursor()
        try:
            cursor.execute(compiled.sql, arguments)
            return cursor.fetchall()
        finally:
            cursor.close()
    except compiled.dialect.loaded_dbapi.Error as error:
        disconnected = compiled.dialect.is_disconnect(error, dbapi, None)
        if disconnected:
            lease.connection.invalidate(error)
            lease.switched = False  # nothing to restore on a discarded connection
            if held is not None:
                del held[engine]
                lease.give_back()
        raise _wrapped(error, arguments, compiled, invalidated=disconnected) from error
    finally:
        if held is None:
            lease.give_back()


def release(exc: BaseException | None = None) -> None:
    """teardown_request: give back the connection a read-only request's prepared reads shared."""
    held = g.pop(_HELD, None)
    for lease in (held or {}).values():
        lease.give_back()


def _wrapped(error: Exception, arguments, compiled: _Compiled, invalidated: bool) -> DBAPIError:
    """The driver's error as SQLAlchemy raises it (OperationalError, IntegrityError, …)."""
    return DBAPIError.instance(compiled.sql, arguments, error, compiled.dialect.loaded_dbapi.Error,
                               hide_parameters=True, dialect=compiled.dialect,
                               connection_invalidated=invalidated)
