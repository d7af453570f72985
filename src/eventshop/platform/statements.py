"""Core statements compiled once and run on SQLite's own connection, for the paths every order takes.

A statement through SQLAlchemy's async engine costs about ten times what SQLite spends on it: a greenlet
hop per driver call, an execution context, a cache-key walk over the statement. On the hot paths (the
inbox mark, the outbox rows, the relay, a service's read and update of one row) that overhead was most of
a service's CPU. A `Prepared` statement is written in SQLAlchemy Core against the service's own tables, so
names and types still come from tables.py; on SQLite it is compiled once and executed directly on the
connection of the unit of work's transaction, with the columns' own bind and result processors (the
same conversions SQLAlchemy applies). On PostgreSQL it runs through SQLAlchemy as any statement does.

    PAYMENT = Prepared(select(payments).where(payments.c.order_id == bindparam("order_id")))
    row = await uow.one(PAYMENT, order_id=order_id)     # a row with attribute access, or None
    await uow.run(MOVE, order_id=order_id, status="paid")  # the number of rows changed

`for_update=True` locks the rows read on PostgreSQL (SQLite's writer already holds the database). On
PostgreSQL the parameters go to SQLAlchemy as execution parameters, so in an insert or update a parameter
may not be named after one of the table's columns unless it sets that column (name a key `saga`, not `order_id`).
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Compiled
from sqlalchemy.sql import ClauseElement, Select
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any]

_SQLITE = sqlite.dialect(paramstyle="named")


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
        compiled: Compiled = self.statement.compile(dialect=_SQLITE, column_keys=list(columns) if columns else None)
        assert isinstance(compiled, SQLCompiler)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("a prepared statement takes scalar parameters only (no expanding IN)")
        self.sql = compiled.string
        self.writes = not isinstance(self.statement, Select)
        self.binds: dict[str, Processor] = {}
        for bind, name in compiled.bind_names.items():
            processor = bind.type._cached_bind_processor(_SQLITE)  # the column type's own conversion
            if processor is not None:
                self.binds[name] = processor
        # Values the statement itself holds (a limit, a literal in a where clause, a None set) are parameters too.
        given = compiled.construct_params(_check=False)
        self.fixed: dict[str, Any] = {
            name: given.get(name) for bind, name in compiled.bind_names.items() if not bind.required
        }
        # (key, name, objects, type) per result column
        results = compiled._result_columns
        self.row_type: Any = namedtuple("Row", [entry[0] for entry in results], rename=True) if results else None
        self.results: list[tuple[int, Processor]] = []
        for index, entry in enumerate(results):
            processor = entry[3]._cached_result_processor(_SQLITE, None)
            if processor is not None:
                self.results.append((index, processor))

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


def run_on_sqlite(
    connection: sqlite3.Connection, prepared: Prepared, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]
) -> tuple[list[Any], int]:
    """Execute on SQLite's own connection: the rows (processed) and the count of rows changed."""
    if isinstance(params, Mapping):
        cursor = connection.execute(prepared.sql, prepared.sqlite_params(params))
    else:
        cursor = connection.executemany(prepared.sql, [prepared.sqlite_params(p) for p in params])
    try:
        return prepared.sqlite_rows(cursor), cursor.rowcount
    finally:
        cursor.close()
