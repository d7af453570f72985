"""Core statements compiled once and run on the driver's own connection, for the paths every order takes.

A statement through SQLAlchemy's async engine costs about ten times what SQLite spends on it: a greenlet
hop per driver call, an execution context, a cache-key walk over the statement. On the hot paths (the
inbox mark, the outbox rows, the relay, a service's read and update of one row) that overhead was most of
a service's CPU. A `Prepared` statement is written in SQLAlchemy Core against the service's own tables, so
names and types still come from tables.py; on SQLite it is compiled once and executed directly on the
connection of the unit of work's transaction, with the columns' own bind and result processors (the
same conversions SQLAlchemy applies). On PostgreSQL it is compiled once more for asyncpg (`$1` parameters,
the casts SQLAlchemy renders) and runs on the asyncpg connection under the unit of work, through asyncpg's
own prepared-statement cache. On both, a unique or foreign-key violation is raised as SQLAlchemy's IntegrityError.
Once a unit of work has used its ORM session, its prepared statements run through the session instead.

    PAYMENT = Prepared(select(payments).where(payments.c.order_id == bindparam("order_id")))
    row = await uow.one(PAYMENT, order_id=order_id)     # a row with attribute access, or None
    await uow.run(MOVE, order_id=order_id, status="paid")  # the number of rows changed

`for_update=True` locks the rows read on PostgreSQL (SQLite's writer already holds the database). Through
the session the parameters go to SQLAlchemy as execution parameters, so in an insert or update a parameter
may not be named after one of the table's columns unless it sets that column (name a key `saga`, not `order_id`).
"""

from __future__ import annotations

import functools
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Executable
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import ClauseElement, Select
from sqlalchemy.sql.compiler import SQLCompiler

if TYPE_CHECKING:
    import asyncpg

Processor = Callable[[Any], Any]

_SQLITE = sqlite.dialect(paramstyle="named")


@functools.cache
def _postgres() -> Dialect:
    """The asyncpg dialect, imported only by a service that runs on PostgreSQL (asyncpg costs memory)."""
    from sqlalchemy.dialects.postgresql import asyncpg as postgresql_asyncpg

    return postgresql_asyncpg.dialect()


@dataclass(frozen=True)
class PostgresForm:
    """A statement as asyncpg runs it: the text, its parameters in `$n` order and the conversions."""

    sql: str
    order: tuple[str, ...]
    binds: dict[str, Processor]
    fixed: dict[str, Any]
    results: list[tuple[int, Processor]]
    returns_rows: bool

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        values = {**self.fixed, **params} if self.fixed else params
        args = [values[name] for name in self.order]
        for index, name in enumerate(self.order):
            processor = self.binds.get(name)
            if processor is not None:
                args[index] = processor(args[index])
        return args


class Prepared:
    """One Core statement, its SQLite text and conversions worked out once."""

    def __init__(
        self, statement: Executable, *, for_update: bool = False, columns: Sequence[str] | None = None
    ) -> None:
        if for_update:
            if not isinstance(statement, Select):
                raise TypeError("for_update applies to a select")
            self.statement: Executable = statement.with_for_update()
        else:
            self.statement = statement
        assert isinstance(self.statement, ClauseElement)
        # `columns`: the columns an insert sets (without it an insert names every column of the table).
        compiled, self.binds, self.fixed, self.results = _compile(self.statement, _SQLITE, columns)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("a prepared statement takes scalar parameters only (no expanding IN)")
        self.sql = compiled.string
        self.writes = not isinstance(self.statement, Select)
        self.locks = for_update  # on PostgreSQL, within the unit of work's transaction
        # (key, name, objects, type) per result column
        results = compiled._result_columns
        self.row_type: Any = namedtuple("Row", [entry[0] for entry in results], rename=True) if results else None
        self._columns = columns

    @functools.cached_property
    def postgres(self) -> PostgresForm:
        """The asyncpg form, compiled on first use."""
        assert isinstance(self.statement, ClauseElement)
        return _postgres_form(self.statement, self._columns)

    def sqlite_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        values = {**self.fixed, **params} if self.fixed else dict(params)
        for name, processor in self.binds.items():
            if name in values:
                values[name] = processor(values[name])
        return values

    def sqlite_rows(self, cursor: sqlite3.Cursor) -> list[Any]:
        if self.row_type is None:
            return []
        rows = cursor.fetchall()
        if not self.results:
            return [self.row_type._make(row) for row in rows]
        made = []
        for row in rows:
            values = list(row)
            for index, processor in self.results:
                values[index] = processor(values[index])
            made.append(self.row_type._make(values))
        return made


def _postgres_form(statement: ClauseElement, columns: Sequence[str] | None) -> PostgresForm:
    compiled, binds, fixed, results = _compile(statement, _postgres(), columns)
    return PostgresForm(compiled.string, tuple(compiled.positiontup or ()), binds, fixed, results,
                        bool(compiled._result_columns))


def _compile(statement: ClauseElement, dialect: Dialect, columns: Sequence[str] | None) -> tuple[
        SQLCompiler, dict[str, Processor], dict[str, Any], list[tuple[int, Processor]]]:
    """The statement compiled for `dialect`, with the column types' own conversions of parameters and results,
    and the values the statement itself holds (a limit, a literal in a where clause, a None set), which are
    parameters too."""
    compiled = statement.compile(dialect=dialect, column_keys=list(columns) if columns else None)
    assert isinstance(compiled, SQLCompiler)
    binds: dict[str, Processor] = {}
    for bind, name in compiled.bind_names.items():
        processor = bind.type._cached_bind_processor(dialect)
        if processor is not None:
            binds[name] = processor
    given = compiled.construct_params(_check=False)
    fixed = {name: given.get(name) for bind, name in compiled.bind_names.items() if not bind.required}
    results: list[tuple[int, Processor]] = []
    for index, entry in enumerate(compiled._result_columns):
        processor = entry[3]._cached_result_processor(dialect, None)
        if processor is not None:
            results.append((index, processor))
    return compiled, binds, fixed, results


async def run_on_postgres(
    connection: asyncpg.Connection, prepared: Prepared, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]
) -> tuple[list[Any], int]:
    """Execute on asyncpg's own connection: the rows (processed) and the count of rows changed."""
    from asyncpg import IntegrityConstraintViolationError

    form = prepared.postgres
    try:
        if not isinstance(params, Mapping):
            await connection.executemany(form.sql, [form.args(p) for p in params])
            return [], len(params)
        args = form.args(params)
        if not form.returns_rows:
            status = await connection.execute(form.sql, *args)
            count = status.rsplit(" ", 1)[-1]
            return [], int(count) if count.isdigit() else 0
        records = await connection.fetch(form.sql, *args)
    except IntegrityConstraintViolationError as exc:
        raise IntegrityError(form.sql, None, exc) from exc
    if prepared.row_type is None:
        return [], len(records)
    made = []
    for record in records:
        values = list(record.values())
        for index, processor in form.results:
            values[index] = processor(values[index])
        made.append(prepared.row_type._make(values))
    return made, len(made)


def run_on_sqlite(
    connection: sqlite3.Connection, prepared: Prepared, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]
) -> tuple[list[Any], int]:
    """Execute on SQLite's own connection: the rows (processed) and the count of rows changed."""
    try:
        if isinstance(params, Mapping):
            cursor = connection.execute(prepared.sql, prepared.sqlite_params(params))
        else:
            cursor = connection.executemany(prepared.sql, [prepared.sqlite_params(p) for p in params])
    except sqlite3.IntegrityError as exc:
        raise IntegrityError(prepared.sql, None, exc) from exc
    try:
        return prepared.sqlite_rows(cursor), cursor.rowcount
    finally:
        cursor.close()
