"""Per-service database: engine set-up, the platform's outbox and inbox tables, and the unit of work."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    bindparam,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from eventshop.contracts.envelope import Envelope, Event
from eventshop.contracts.events import ALL_EVENTS
from eventshop.contracts.registry import TOPICS
from eventshop.platform import sqlite_inline
from eventshop.platform.statements import Prepared, run_on_postgres, run_on_sqlite
from eventshop.platform.tracing import Span, message_traceparent, start_span

E = TypeVar("E", bound=Event)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware timestamps on every backend (SQLite hands them back naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def new_metadata() -> MetaData:
    """A service's MetaData, holding the outbox and inbox tables the platform needs."""
    metadata = MetaData(naming_convention=NAMING)
    Table(
        "outbox",
        metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("event_type", String(100), nullable=False),
        Column("subject", String(200), nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("published_at", UTCDateTime(), nullable=True, index=True),
    )
    Table(
        "inbox",
        metadata,
        Column("consumer", String(200), primary_key=True),
        Column("event_id", String(64), primary_key=True),
        Column("event_type", String(100), nullable=False),
        Column("handled_at", UTCDateTime(), nullable=False),
    )
    return metadata


class AlreadyHandled(Exception):
    """The inbox already holds this (consumer, event id): the delivery is a duplicate."""


@dataclass
class Incoming(Generic[E]):
    """One delivered event as a handler sees it."""

    event: E
    envelope: Envelope
    consumer: str
    deliveries: int = 1
    recorded: bool = field(default=False, repr=False)


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


POSTGRES_POOL_SIZE = 8


class Database:
    """One service's database. `transaction()` is the only way state changes are written."""

    def __init__(self, url: str, service: str, publishes: tuple[str, ...] = ()) -> None:
        self.url = url
        self.service = service
        self.publishes = frozenset(publishes)
        self.is_sqlite = _is_sqlite(url)
        # A file database on SQLite: units of work that use only prepared statements take their connection
        # from this pool, without SQLAlchemy's connection, transaction and session objects.
        self._sqlite_path = _sqlite_file(url)
        self._idle: list[sqlite3.Connection] = []
        if self.is_sqlite:
            self.engine: AsyncEngine = _sqlite_engine(url, "BEGIN IMMEDIATE")
            self.read_engine = _sqlite_engine(url, "BEGIN")
        else:
            # No pre-ping: a connection the server dropped fails one transaction, which is retried, and
            # SQLAlchemy then replaces the pool; pinging would cost a round trip on every checkout.
            # A fixed pool, no overflow: connections are kept, never opened and closed per burst, and eight
            # services stay within the server's default max_connections (100) at POSTGRES_POOL_SIZE each.
            self.engine = create_async_engine(url, pool_size=POSTGRES_POOL_SIZE, max_overflow=0)
            self.read_engine = self.engine
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)
        # SQLite has one writer per database: writers of this process queue here, in order, instead of
        # sleeping in SQLite's busy handler; readers (WAL) go alongside on their own connections.
        self._writer = asyncio.Lock() if self.is_sqlite else None
        self.outbox_signal = asyncio.Event()

    def transaction(self, handled: Incoming[Any] | None = None) -> UnitOfWork:
        """A unit of work that may write: state, outbox rows and the inbox mark commit together."""
        return UnitOfWork(self, handled)

    def reading(self) -> UnitOfWork:
        """A read-only unit of work: takes no write lock; committing a change from it is an error."""
        return UnitOfWork(self, None, readonly=True)

    def autocommit(self) -> UnitOfWork:
        """A unit of work for writes that stand alone (the relay's marks), on prepared statements only.

        On PostgreSQL each statement commits on its own, one round trip with no BEGIN and COMMIT (an
        executemany is atomic in asyncpg); on SQLite it is a transaction like any other. It stages no
        events and marks no delivery; `commit()` is still called, and commits on SQLite.
        """
        return UnitOfWork(self, None, autocommit=True)

    @contextlib.asynccontextmanager
    async def writer(self) -> AsyncIterator[None]:
        """Hold this process's turn to write (SQLite); nothing to wait for on PostgreSQL."""
        if self._writer is None:
            yield
            return
        async with self._writer:
            yield

    async def ping(self) -> None:
        # On the read engine: a ping on the write engine would BEGIN IMMEDIATE outside the writers' turn.
        async with self.read_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    def lend(self, begin: str) -> sqlite3.Connection | None:
        """A pooled SQLite connection with its transaction begun; None when the database is not a SQLite file."""
        if self._sqlite_path is None:
            return None
        connection = self._idle.pop() if self._idle else _open_sqlite(self._sqlite_path)
        try:
            connection.execute(begin)
        except BaseException:
            connection.close()
            raise
        return connection

    def give_back(self, connection: sqlite3.Connection) -> None:
        """Return a lent connection, rolling back what was not committed."""
        if connection.in_transaction:
            connection.rollback()
        if len(self._idle) < IDLE_SQLITE_CONNECTIONS:
            self._idle.append(connection)
        else:
            connection.close()

    async def dispose(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


IDLE_SQLITE_CONNECTIONS = 8
SQLITE_TIMEOUT_SECONDS = 30


def _sqlite_file(url: str) -> str | None:
    if not _is_sqlite(url):
        return None
    path = make_url(url).database
    return path if path and path != ":memory:" else None


def _open_sqlite(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=SQLITE_TIMEOUT_SECONDS, isolation_level=None,
                                 check_same_thread=False)
    _pragmas(connection)
    return connection


def _pragmas(dbapi_conn: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_TIMEOUT_SECONDS * 1000}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_engine(url: str, begin: str) -> AsyncEngine:
    path = make_url(url).database
    if not path or path == ":memory:":
        engine = create_async_engine(url, connect_args={"timeout": 30})
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, async_creator=sqlite_inline.creator(lambda: _open_sqlite(path)))
    _tune_sqlite(engine, begin)
    return engine


def _tune_sqlite(engine: AsyncEngine, begin: str) -> None:
    """WAL and a busy timeout; writers BEGIN IMMEDIATE so another process's writer makes them wait, not fail."""

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_conn: Any, _: ConnectionPoolEntry) -> None:
        if dbapi_conn.isolation_level is not None:
            dbapi_conn.isolation_level = None
        _pragmas(dbapi_conn)

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Any) -> None:
        driver = conn.connection.driver_connection
        if isinstance(driver, sqlite_inline.InlineConnection):
            driver.sqlite.execute(begin)  # straight to SQLite: a statement through SQLAlchemy costs ten times more
        else:
            conn.exec_driver_sql(begin)


class UnitOfWork:
    """State changes, the events they cause (outbox) and the inbox mark, committed together.

    Leaving the block without `commit()` rolls everything back.

    On a SQLite file, a unit of work runs its prepared statements on a pooled connection of its own, without
    SQLAlchemy; once it touches `session`, everything runs through the session (prepared statements on the
    session's connection), which it may do only before a prepared statement has written.

    On PostgreSQL, prepared statements run on the asyncpg connection of a pooled SQLAlchemy connection.
    Reads before the first write or row lock run outside a transaction (under READ COMMITTED each statement
    sees its own snapshot either way); the first write or lock begins it, and a delivery's inbox mark goes
    in the same round trip as that BEGIN: a duplicate raises AlreadyHandled there, having only read (one
    delivered at the same time waits there until the first commits or rolls back). A unit of work that never
    began writes its events and inbox mark at commit in one statement that commits on its own. The session,
    when touched before the first write or lock, is bound to the same connection; on it a duplicate is found
    at commit.
    """

    def __init__(
        self, db: Database, handled: Incoming[Any] | None, *, readonly: bool = False, autocommit: bool = False
    ) -> None:
        self.db = db
        self.handled = handled
        self.readonly = readonly
        self.autocommit = autocommit  # prepared statements only, no events, no inbox mark
        self._session: AsyncSession | None = None
        self.staged: list[Envelope] = []
        self._turn: contextlib.AbstractAsyncContextManager[None] | None = None
        self._span: Span | None = None
        self._sqlite: sqlite3.Connection | None = None
        self._lent = False  # _sqlite came from the database's pool, not from the session
        self._lent_wrote = False  # ... and a prepared statement has written on it
        self._pg: AsyncConnection | None = None  # PostgreSQL: the pooled connection prepared statements run on
        self._pg_driver: Any = None  # ... its asyncpg connection
        self._pg_began = False  # ... on which this unit of work began a transaction
        self._pg_marked = False  # ... holding the delivery's inbox mark, written with the BEGIN

    @property
    def session(self) -> AsyncSession:
        """The ORM session of this unit of work (for paths not on prepared statements)."""
        if self._session is None:
            if self._lent_wrote:
                raise RuntimeError("this unit of work wrote with prepared statements; use uow.session before them")
            if self._lent and self._sqlite is not None:
                # Only read so far (the inbox check, say): the session takes over on a connection of its own.
                connection, self._sqlite, self._lent = self._sqlite, None, False
                self.db.give_back(connection)
            if self._pg_began:
                raise RuntimeError("this unit of work wrote or locked with prepared statements; "
                                   "use uow.session before them")
            if self.autocommit:
                raise RuntimeError("an autocommit unit of work runs prepared statements only")
            sessions = self.db.read_sessions if self.readonly else self.db.sessions
            # PostgreSQL: on the connection the prepared statements read on, with nothing begun on it yet.
            self._session = sessions(bind=self._pg) if self._pg is not None else sessions()
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        # Traced only inside a traced request or delivery (not the relay's polling); includes the wait for the
        # writer's turn.
        self._span = start_span("read" if self.readonly else "transaction", attributes={
            "db.system.name": "sqlite" if self.db.is_sqlite else "postgresql", "db.namespace": self.db.service})
        if not self.readonly:
            self._turn = self.db.writer()
            await self._turn.__aenter__()
        try:
            if self.handled is not None and self.db.is_sqlite:  # on PostgreSQL the mark goes with the BEGIN
                await self._check_inbox(self.handled)
        except BaseException:
            await self._close()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._close()

    async def _close(self) -> None:
        # close() rolls back anything uncommitted and detaches objects without expiring them,
        # so results stay readable after the block.
        try:
            if self._session is not None:
                await self._session.close()
        finally:
            if self._pg is not None:
                await self._give_back_postgres()
            if self._lent and self._sqlite is not None:
                connection, self._sqlite, self._lent = self._sqlite, None, False
                self.db.give_back(connection)
            if self._span is not None:
                self._span.end()
                self._span = None
            if self._turn is not None:
                turn, self._turn = self._turn, None
                await turn.__aexit__(None, None, None)

    @contextlib.asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A nested transaction: an error inside undoes only what the block did, and is raised."""
        execute = await self._raw_executor()
        if execute is None:
            async with self.session.begin_nested():
                yield
            return
        await execute("SAVEPOINT uow_savepoint")
        try:
            yield
        except BaseException:
            await execute("ROLLBACK TO SAVEPOINT uow_savepoint")
            raise
        await execute("RELEASE SAVEPOINT uow_savepoint")

    async def _raw_executor(self) -> Callable[[str], Awaitable[Any]] | None:
        """Runs SQL text in this unit of work's transaction on the driver's connection; None on the session."""
        if self._session is not None:
            return None
        if not self.db.is_sqlite:
            driver = await self._postgres_connection(_SAVEPOINT)
            return driver.execute
        connection = await self._sqlite_connection()
        if connection is None or not self._lent:
            return None
        self._lent_wrote = True  # the session may no longer take over: it would lose the savepoint

        async def execute(sql: str) -> None:
            connection.execute(sql)

        return execute

    async def _give_back_postgres(self) -> None:
        connection, driver, self._pg, self._pg_driver = self._pg, self._pg_driver, None, None
        assert connection is not None
        try:
            if driver.is_closed():
                await connection.invalidate()  # the server dropped it: the pool opens a new one
            elif driver.is_in_transaction():  # begun by this unit of work, if only half (BEGIN; a failed mark)
                await driver.execute("ROLLBACK")
        finally:
            self._pg_began = self._pg_marked = False
            await connection.close()

    async def _postgres_connection(self, prepared: Prepared) -> Any:
        """asyncpg's connection for this prepared statement, a transaction begun if it writes or locks; None
        once the session runs this unit of work."""
        if self._session is not None:
            return None
        driver = await self._postgres_driver()
        begins = not (self._pg_began or self.readonly or self.autocommit)
        if begins and (prepared.writes or prepared.locks):
            await self._begin_postgres(driver)
        return driver

    async def _postgres_driver(self) -> Any:
        """asyncpg's connection of this unit of work (a pooled one, taken on first use), nothing begun on it."""
        if self._pg is None:
            connection = self.db.engine.connect()
            await connection.start()
            self._pg = connection
            self._pg_driver = (await connection.get_raw_connection()).driver_connection
        return self._pg_driver

    async def _begin_postgres(self, driver: Any) -> None:
        """BEGIN, and for a delivery its inbox mark in the same round trip (a simple query of two statements,
        the mark's values as literals): a duplicate raises AlreadyHandled."""
        handled = self.handled
        mark = None if handled is None else _pg_inbox_mark_sql(driver, _inbox_values(handled, utcnow()))
        self._pg_began = True
        if handled is None or mark is None:
            await driver.execute("BEGIN")
            return
        if await driver.execute(f"BEGIN; {mark}") != "INSERT 0 1":
            raise AlreadyHandled(handled.envelope.id)
        self._pg_marked = True

    async def _check_inbox(self, incoming: Incoming[Any]) -> None:
        """A duplicate delivery raises AlreadyHandled at the start of the block."""
        if await self.one(_SEEN, consumer=incoming.consumer, event_id=incoming.envelope.id) is not None:
            raise AlreadyHandled(incoming.envelope.id)

    async def one(self, prepared: Prepared, **params: Any) -> Any:
        """The first row of a prepared statement (attribute access), or None."""
        rows = await self.all(prepared, **params)
        return rows[0] if rows else None

    async def all(self, prepared: Prepared, **params: Any) -> list[Any]:
        """Every row of a prepared statement."""
        return (await self._execute(prepared, params))[0]

    async def run(self, prepared: Prepared, params: Sequence[Mapping[str, Any]] | None = None, **named: Any) -> int:
        """Execute a prepared insert, update or delete (once, or once per mapping in `params`): rows changed."""
        return (await self._execute(prepared, named if params is None else params))[1]

    async def _execute(
        self, prepared: Prepared, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]
    ) -> tuple[list[Any], int]:
        if self.readonly and prepared.writes:
            raise RuntimeError("a read-only unit of work cannot write; use db.transaction()")
        if not self.db.is_sqlite:
            driver = await self._postgres_connection(prepared)
            if driver is not None:
                return await run_on_postgres(driver, prepared, params)
        else:
            connection = await self._sqlite_connection()
            if connection is not None:
                if self._lent and prepared.writes:
                    self._lent_wrote = True
                return run_on_sqlite(connection, prepared, params)
        result: Any = await self.session.execute(prepared.statement, params)
        if result.returns_rows:
            rows = list(result.all())
            return rows, len(rows)
        return [], result.rowcount

    async def _sqlite_connection(self) -> sqlite3.Connection | None:
        """SQLite's connection holding this unit of work's transaction (begun on first use), or None."""
        if self._sqlite is None and self._session is None:
            self._sqlite = self.db.lend("BEGIN" if self.readonly else "BEGIN IMMEDIATE")
            self._lent = self._sqlite is not None
        if self._sqlite is None and self.db.is_sqlite:
            raw = await (await self.session.connection()).get_raw_connection()
            driver = raw.driver_connection
            if isinstance(driver, sqlite_inline.InlineConnection):
                self._sqlite = driver.sqlite
        return self._sqlite

    def db_table(self, name: str) -> Table:
        return PLATFORM_TABLES[name]

    def publish(self, event: Event, *, correlation: str | None = None) -> Envelope:
        """Stage an event; it is written to the outbox at commit and published after it."""
        if event.type_name() not in self.db.publishes:
            raise RuntimeError(f"{self.db.service} does not publish {event.type_name()} (see registry)")
        cause = self.handled.envelope if self.handled else None
        envelope = Envelope(
            source=f"eventshop/{self.db.service}",
            type=event.type_name(),
            subject=event.key() or None,
            dataschema=f"eventshop:{TOPICS[event.topic].key}/{event.type_name()}/v{event.version}",
            correlationid=correlation or (cause.correlationid if cause else None) or event.key() or None,
            causationid=cause.id if cause else None,
            traceparent=message_traceparent(event.type_name(), cause.traceparent if cause else None),
            data=json.loads(event.model_dump_json()),
        )
        self.staged.append(envelope)
        return envelope

    async def commit(self) -> None:
        if self.readonly:
            session = self._session
            if self.staged or (session is not None and (session.new or session.dirty or session.deleted)):
                raise RuntimeError("a read-only unit of work cannot commit changes; use db.transaction()")
            if session is not None:
                await session.rollback()
            return
        if self.autocommit and (self.staged or self.handled is not None):
            raise RuntimeError("an autocommit unit of work stages no events; use db.transaction()")
        try:
            await self._write_outbox_and_inbox()
            if self._session is not None:
                await self._session.commit()
            elif self._pg_began:
                await self._pg_driver.execute("COMMIT")
                self._pg_began = False
            elif self._lent and self._sqlite is not None:
                self._sqlite.commit()
        except (IntegrityError, sqlite3.IntegrityError) as exc:
            if self.handled is not None and "inbox" in str(getattr(exc, "orig", exc)):
                raise AlreadyHandled(self.handled.envelope.id) from exc
            raise
        if self.handled is not None:
            self.handled.recorded = True
        if self._span is not None:
            self._span.set_attribute("eventshop.events_staged", len(self.staged))
            self._span.set_attribute("eventshop.committed", True)
        if self.staged:
            self.db.outbox_signal.set()

    async def _write_outbox_and_inbox(self) -> None:
        now = utcnow()
        events = [{"event_id": env.id, "event_type": env.type, "subject": f"{_topic_of(env.type)}.{env.type}",
                   "payload": env.to_bytes(), "created_at": now} for env in self.staged]
        handled = None if self._pg_marked else self.handled
        if not self.db.is_sqlite and self._session is None:
            await self._write_outbox_and_inbox_on_postgres(events, handled, now)
            return
        if events:
            await self._serialize_outbox_writers()
            await self.run(_OUTBOX_ROW, events)
        if handled is not None:
            await self.run(_INBOX_MARK, **_inbox_values(handled, now))

    async def _write_outbox_and_inbox_on_postgres(
        self, events: list[dict[str, Any]], handled: Incoming[Any] | None, now: datetime
    ) -> None:
        """One statement for the outbox lock, the events and the inbox mark (instead of three); run in the
        transaction begun, or, when nothing began, on its own (it commits alone: no BEGIN and COMMIT)."""
        if events:
            names = ("event_id", "event_type", "subject", "payload")
            params: dict[str, Any] = {f"{name}s": [event[name] for event in events] for name in names}
            params.update(k=_OUTBOX_LOCK_KEY, created_at=now)
            if handled is None:
                prepared = _PG_OUTBOX_WRITE
            else:
                prepared = _PG_OUTBOX_WRITE_HANDLED
                params.update(_inbox_values(handled, now))
        elif handled is not None:
            prepared, params = _INBOX_MARK, _inbox_values(handled, now)
        else:
            return
        await run_on_postgres(await self._postgres_driver(), prepared, params)

    async def _serialize_outbox_writers(self) -> None:
        # On PostgreSQL, ids are handed out before commit; holding this lock until commit makes
        # id order equal commit order, which the relay relies on. SQLite writers are serial already.
        if not self.db.is_sqlite:
            await self.run(_OUTBOX_LOCK, k=_OUTBOX_LOCK_KEY)


async def hold_advisory_lock(executor: AsyncSession | AsyncConnection, name: str) -> None:
    """PostgreSQL: wait for the lock called `name` and hold it until the transaction ends."""
    await executor.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(name)})


def _inbox_values(handled: Incoming[Any], now: datetime) -> dict[str, Any]:
    """A delivery's inbox mark: the columns of its row."""
    return {"consumer": handled.consumer, "event_id": handled.envelope.id, "event_type": handled.envelope.type,
            "handled_at": now}


def _pg_inbox_mark_sql(driver: Any, mark: dict[str, Any]) -> str | None:
    """The inbox mark as SQL text with literal values (an INSERT that adds no row for a duplicate), or None
    where the server does not take quotes doubled as the only escape (standard_conforming_strings off)."""
    if driver.get_settings().standard_conforming_strings != "on":
        return None
    values = ", ".join(_pg_literal(mark[name]) for name in ("consumer", "event_id", "event_type"))
    return (f"INSERT INTO inbox (consumer, event_id, event_type, handled_at) VALUES ({values}, "
            f"{_pg_literal(mark['handled_at'].isoformat())}::timestamptz) ON CONFLICT DO NOTHING")


def _pg_literal(value: str) -> str:
    """A PostgreSQL string literal (with standard_conforming_strings on, a quote doubled is the only escape)."""
    if "\x00" in value:
        raise ValueError("a string with a NUL character cannot be stored")
    return "'" + value.replace("'", "''") + "'"


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha1(name.encode()).digest()[:4], "big")


def _topic_of(event_type: str) -> str:
    return ALL_EVENTS[event_type].topic


PLATFORM_TABLES: dict[str, Table] = {t.name: t for t in new_metadata().tables.values()}
_OUTBOX, _INBOX = PLATFORM_TABLES["outbox"], PLATFORM_TABLES["inbox"]
_SEEN = Prepared(select(_INBOX.c.event_id).where(
    _INBOX.c.consumer == bindparam("consumer"), _INBOX.c.event_id == bindparam("event_id")))
_OUTBOX_ROW = Prepared(insert(_OUTBOX), columns=("event_id", "event_type", "subject", "payload", "created_at"))
_INBOX_MARK = Prepared(insert(_INBOX), columns=("consumer", "event_id", "event_type", "handled_at"))
_SAVEPOINT = Prepared(text("SAVEPOINT uow_savepoint"))  # stands for any statement that needs the transaction
_OUTBOX_LOCK = Prepared(text("SELECT pg_advisory_xact_lock(:k)").bindparams(bindparam("k", type_=BigInteger)))
_OUTBOX_LOCK_KEY = _lock_key("eventshop-outbox")


def _pg_outbox_write(handled: bool) -> Prepared:
    """PostgreSQL: the outbox lock, the staged events in their order and (for a delivery) the inbox mark, as one
    statement. The lock is taken before any row is made (the rows come from a join with it) and the ids are
    drawn after the sort, in staging order."""
    mark = ("marked AS (INSERT INTO inbox (consumer, event_id, event_type, handled_at) VALUES (CAST(:consumer AS "
            "VARCHAR), CAST(:event_id AS VARCHAR), CAST(:event_type AS VARCHAR), "
            "CAST(:handled_at AS TIMESTAMPTZ))), ") if handled else ""
    return Prepared(text(
        f"WITH locked AS (SELECT pg_advisory_xact_lock(CAST(:k AS BIGINT))), {mark}"
        "staged AS (SELECT * FROM unnest(CAST(:event_ids AS VARCHAR[]), CAST(:event_types AS VARCHAR[]), "
        "CAST(:subjects AS VARCHAR[]), CAST(:payloads AS BYTEA[])) WITH ORDINALITY "
        "AS e(event_id, event_type, subject, payload, position)) "
        "INSERT INTO outbox (event_id, event_type, subject, payload, created_at) "
        "SELECT staged.event_id, staged.event_type, staged.subject, staged.payload, CAST(:created_at AS TIMESTAMPTZ) "
        "FROM locked, staged ORDER BY staged.position"))


_PG_OUTBOX_WRITE, _PG_OUTBOX_WRITE_HANDLED = _pg_outbox_write(False), _pg_outbox_write(True)
