"""SQL helpers shared by every query: case-insensitive "contains" text matching with LIKE, and
row locks that work alike on PostgreSQL and SQLite.

Every search box and `search` parameter (contacts, lists, tags, API keys) matches through
`contains_text`, so user text is escaped one way and compared one way on every backend.
"""
from sqlalchemy import Boolean, ColumnElement, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import coercions, roles
from sqlalchemy.sql.visitors import InternalTraversal

from .extensions import db

LIKE_ESCAPE = "\\"


def escape_like(text: str) -> str:
    """`text` for use inside a LIKE pattern (with ESCAPE LIKE_ESCAPE): `%`, `_` and the escape
    character itself match only themselves."""
    return (text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
            .replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_"))


class _ContainsText(ColumnElement[bool]):
    """`expr` contains `text`, ignoring case: compiled per dialect (see below)."""

    type = Boolean()
    _is_implicitly_boolean = True  # a comparison: no "= 1" after it where booleans aren't native
    inherit_cache = True
    # Both parts take part in the statement cache key, so a compiled query is reused for any
    # search text (the pattern is a bound parameter, never inlined).
    _traverse_internals = [("expr", InternalTraversal.dp_clauseelement),
                           ("pattern", InternalTraversal.dp_clauseelement)]

    def __init__(self, expr, text: str):
        self.expr = coercions.expect(roles.ExpressionElementRole, expr)
        self.pattern = literal(f"%{escape_like(text)}%")


@compiles(_ContainsText)
def _contains_ilike(element, compiler, **kw):
    # PostgreSQL's ILIKE folds case for every letter, not only ASCII.
    return compiler.process(element.expr.ilike(element.pattern, escape=LIKE_ESCAPE), **kw)


@compiles(_ContainsText, "sqlite")
def _contains_sqlite(element, compiler, **kw):
    # SQLite's LIKE already ignores (ASCII) case; ilike() would wrap both sides in lower(),
    # a function call per row that folds no more letters than LIKE does.
    return compiler.process(element.expr.like(element.pattern, escape=LIKE_ESCAPE), **kw)


def contains_text(expr, text: str) -> ColumnElement[bool]:
    """SQL condition: `expr` contains `text` as typed (no wildcards), ignoring case — for every
    letter on PostgreSQL, for ASCII letters on SQLite (its LIKE's built-in folding)."""
    return _ContainsText(expr, text)


def lock_rows(model, *conditions) -> None:
    """Lock the rows of `model` matching `conditions` until the transaction ends, so concurrent
    writers of those rows take turns (any interleaving then equals some serial order).

    PostgreSQL: SELECT … FOR UPDATE (row locks). SQLite has no row locks: a no-op UPDATE of the
    rows takes the database's write lock instead (other writers wait up to busy_timeout). Read
    the rows *after* this call to see their latest committed values.
    """
    table = model.__table__
    key_column = next(iter(table.primary_key.columns))
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(key_column).where(*conditions).with_for_update())
    else:
        db.session.execute(update(table).where(*conditions).values({key_column.name: key_column}))


def insert_new(table, rows: list[dict]) -> None:
    """INSERT the rows, skipping any that would break a unique constraint (ON CONFLICT DO
    NOTHING on PostgreSQL and SQLite alike): of two racing writers of one row, one writes it."""
    if not rows:
        return
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    db.session.execute(dialect.insert(table).on_conflict_do_nothing(), rows)
