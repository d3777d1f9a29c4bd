"""A Core SELECT compiled once per dialect and run straight on a DBAPI connection kept per thread.

For the keyed hot path (the key lookup, the contact read): the SQLAlchemy Session and
Connection machinery around one indexed SELECT costs about 100 µs of CPU (autobegin, the
execution context, result proxies, close and reset at teardown), and a pool checkout and return
about 40 µs more; the statement itself costs a few. A PreparedRead keeps the statement's SQL
text, parameter order and per-column type processors from SQLAlchemy's own compilation (so
values come back exactly as through Core) and runs it without a transaction (no BEGIN, no
ROLLBACK round trip) on a connection of its own: it reads only committed data, so use it for a
read that must not see the Session's pending changes, never inside a write's transaction.

That connection is made by the engine's pool (its connect and checkout events run: SQLite's
PRAGMAs, the idle ping) and then detached from it, one per thread and engine, in autocommit on
PostgreSQL, with one cursor that every statement reuses. So a keyed read pays no checkout, no
return and no autocommit switch. A value repeated in consecutive rows (a joined row repeats its
parent's columns) is converted once, and those rows share the converted value. An in-memory
SQLite database exists once per connection, so there each statement borrows the pool's.

A disconnect (the database restarted, an idle timeout) closes the kept connection and retries
the statement once on a fresh one; any driver error is raised as SQLAlchemy's DBAPIError, so
faults.py answers an outage with the same 503 as elsewhere.
"""
import threading
import uuid
import weakref
from dataclasses import dataclass

from sqlalchemy import Select, Uuid, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from .processid import current_pid


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    positional: tuple[str, ...] | None  # parameter names in order (qmark), None for named
    defaults: dict  # literal binds of the statement itself
    bind_processors: dict  # name → processor
    converters: tuple  # (column index, processor) for the columns that have one
    dialect: object
    borrows: bool  # in-memory SQLite: a database per connection, so the pool's one is borrowed


def _compile(statement: Select, engine: Engine) -> _Compiled:
    dialect = engine.dialect
    compiled = statement.compile(dialect=dialect)
    bind_processors = {}
    for name, bind in compiled.binds.items():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            bind_processors[name] = processor
    processors = (_result_processor(column.type, dialect) for column in statement.selected_columns)
    converters = tuple((index, processor) for index, processor in enumerate(processors)
                       if processor is not None)
    positional = tuple(compiled.positiontup) if compiled.positional else None
    defaults = {name: bind.value for name, bind in compiled.binds.items()
                if not bind.required and bind.value is not None}
    borrows = dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:")
    return _Compiled(compiled.string, positional, defaults, bind_processors, converters, dialect,
                     borrows)


def _uuid_from_hex(value: str, _new=object.__new__, _set=object.__setattr__,
                   _unknown=uuid.SafeUUID.unknown) -> uuid.UUID:
    """uuid.UUID(value) for the 32 hex digits a database without a UUID type stores, without
    UUID.__init__'s handling of every spelling (half its cost; five per keyed read on SQLite)."""
    result = _new(uuid.UUID)
    _set(result, "int", int(value, 16))
    _set(result, "is_safe", _unknown)
    return result


def _result_processor(type_, dialect):
    if isinstance(type_, Uuid) and type_.as_uuid and not (dialect.supports_native_uuid
                                                          and type_.native_uuid):
        return _uuid_from_hex  # SQLAlchemy's own: uuid.UUID(value)
    return type_.dialect_impl(dialect).result_processor(dialect, None)


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


class _Kept:
    """A DBAPI connection detached from the engine's pool for this thread's prepared reads
    (garbage collection closes it with its thread or its engine)."""

    __slots__ = ("dbapi", "cursor", "pid")

    def __init__(self, engine: Engine, dialect):
        fairy = engine.raw_connection()  # through the pool: its connect/checkout events run
        fairy.detach()  # ours from now on: the pool neither counts it nor resets it
        self.dbapi, self.pid = fairy.dbapi_connection, current_pid()
        try:
            if getattr(self.dbapi, "autocommit", None) is False:
                self.dbapi.autocommit = True  # psycopg: each SELECT on its own, no transaction
            self.cursor = self.dbapi.cursor()
        except dialect.loaded_dbapi.Error:
            self.close()
            raise

    def close(self) -> None:
        try:
            self.dbapi.close()
        except Exception:  # already broken: nothing left to close
            pass


class _PerThread(threading.local):
    def __init__(self):
        self.kept: "weakref.WeakKeyDictionary[Engine, _Kept]" = weakref.WeakKeyDictionary()


_per_thread = _PerThread()


def forget_thread_connections() -> None:
    """Close this thread's kept connections: its next prepared read connects anew, through
    the pool's connect and checkout events (tests that watch those events)."""
    kept, _per_thread.kept = _per_thread.kept, weakref.WeakKeyDictionary()
    for connection in kept.values():
        connection.close()


def _kept(engine: Engine, dialect) -> _Kept:
    kept = _per_thread.kept.get(engine)
    if kept is None or kept.pid != current_pid():  # after a fork the parent's stays the parent's
        if not event.contains(engine, "engine_disposed", _close_on_dispose):
            event.listen(engine, "engine_disposed", _close_on_dispose)
        kept = _per_thread.kept[engine] = _Kept(engine, dialect)
    return kept


def _close_on_dispose(engine: Engine) -> None:
    """engine.dispose() closes the pool's connections; the one this thread detached from it
    goes too, rather than waiting for the engine's garbage collection (tests dispose an
    engine per test: PostgreSQL ran out of connections)."""
    kept = _per_thread.kept.pop(engine, None)
    if kept is not None:
        kept.close()


def _execute(engine: Engine, compiled: _Compiled, arguments) -> list[tuple]:
    dialect = compiled.dialect
    if compiled.borrows:
        return _execute_borrowed(engine, compiled, arguments)
    try:
        kept = _kept(engine, dialect)
    except dialect.loaded_dbapi.Error as error:  # cannot connect: no retry, the same 503
        raise _wrapped(error, None, compiled, invalidated=False) from error
    try:
        kept.cursor.execute(compiled.sql, arguments)
        return kept.cursor.fetchall()
    except dialect.loaded_dbapi.Error as error:
        disconnected = dialect.is_disconnect(error, kept.dbapi, kept.cursor)
        if disconnected:
            del _per_thread.kept[engine]
            kept.close()
        raise _wrapped(error, arguments, compiled, invalidated=disconnected) from error


def _execute_borrowed(engine: Engine, compiled: _Compiled, arguments) -> list[tuple]:
    connection = engine.raw_connection()
    try:
        cursor = connection.dbapi_connection.cursor()
        try:
            cursor.execute(compiled.sql, arguments)
            return cursor.fetchall()
        finally:
            cursor.close()
    except compiled.dialect.loaded_dbapi.Error as error:
        raise _wrapped(error, arguments, compiled, invalidated=False) from error
    finally:
        connection.close()


def _wrapped(error: Exception, arguments, compiled: _Compiled, invalidated: bool) -> DBAPIError:
    """The driver's error as SQLAlchemy raises it (OperationalError, IntegrityError, …)."""
    return DBAPIError.instance(compiled.sql, arguments, error, compiled.dialect.loaded_dbapi.Error,
                               hide_parameters=True, dialect=compiled.dialect,
                               connection_invalidated=invalidated)
