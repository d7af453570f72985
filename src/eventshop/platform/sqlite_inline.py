"""SQLite for SQLAlchemy's async engine without a thread per connection.

aiosqlite runs every statement on a worker thread and wakes the event loop for each result; for SQLite in
WAL mode a statement takes microseconds, so the hand-off costs far more than the work (profiles showed it
as the largest single item of a service's CPU). This adapter has the shape SQLAlchemy's aiosqlite dialect
expects (`async_creator`) and runs each call inline. It is safe because a process never waits on itself:
its writers take turns on an asyncio lock (`Database.writer`) and WAL readers never wait for a writer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, operation: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        self._cursor.execute(operation, parameters or ())
        return self

    async def executemany(self, operation: str, parameters: Iterable[Sequence[Any]]) -> InlineCursor:
        self._cursor.executemany(operation, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def nextset(self) -> None:
        return None

    async def setinputsizes(self, *sizes: Any) -> None:
        return None

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """An aiosqlite-shaped connection whose coroutines finish without leaving the event loop."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection: sqlite3.Connection | None = connection

    @property
    def _live(self) -> sqlite3.Connection:
        if self._connection is None:
            raise sqlite3.OperationalError("connection closed")
        return self._connection

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The connection itself, for statements run without SQLAlchemy (see statements.py)."""
        return self._live

    @property
    def isolation_level(self) -> str | None:
        return self._live.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._live.cursor())

    async def execute(self, operation: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        return await self.cursor().execute(operation, parameters)

    async def commit(self) -> None:
        self._live.commit()

    async def rollback(self) -> None:
        self._live.rollback()

    async def create_function(self, name: str, narg: int, func: Callable[..., Any], **kw: Any) -> None:
        self._live.create_function(name, narg, func, **kw)

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def creator(open_connection: Callable[[], sqlite3.Connection]) -> Callable[[], Any]:
    """The `async_creator` for create_async_engine, over a connection opened in autocommit mode
    (isolation_level=None), so SQLAlchemy's BEGIN is the only one."""

    async def connect() -> InlineConnection:
        return InlineConnection(open_connection())

    return connect
