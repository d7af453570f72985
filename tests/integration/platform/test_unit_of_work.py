"""The unit of work's prepared-statement paths on both backends: SQLite's own connection, asyncpg's on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from eventshop.contracts.envelope import Envelope
from eventshop.contracts.events import OrderCancelledEvent
from eventshop.platform.db import PLATFORM_TABLES, POSTGRES_POOL_SIZE, AlreadyHandled, Database, Incoming
from eventshop.platform.statements import Prepared
from tests.integration.platform.conftest import EFFECTS, database_url, open_database

NEW_EFFECT = Prepared(insert(EFFECTS), columns=("id", "event_id", "note"))
EFFECT = Prepared(select(EFFECTS.c.note).where(EFFECTS.c.id == bindparam("effect")))
NOTES = Prepared(select(EFFECTS.c.note).order_by(EFFECTS.c.id))
OUTBOX = PLATFORM_TABLES["outbox"]
STAGED = Prepared(select(OUTBOX.c.event_id, OUTBOX.c.payload).order_by(OUTBOX.c.id))
LOCKED = Prepared(select(EFFECTS.c.note).where(EFFECTS.c.id == bindparam("effect")), for_update=True)


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with database_url(request.param, tmp_path) as url:
        database = await open_database(url, "order")
        try:
            yield database
        finally:
            await database.dispose()


async def notes(db: Database) -> list[str]:
    async with db.reading() as uow:
        return [row.note for row in await uow.all(NOTES)]


async def test_prepared_writes_commit_together_and_an_uncommitted_unit_of_work_leaves_nothing(db: Database) -> None:
    async with db.transaction() as uow:
        await uow.run(NEW_EFFECT, id=1, event_id="e1", note="kept")
        await uow.run(NEW_EFFECT, [{"id": 2, "event_id": "e2", "note": "kept too"}])
        await uow.commit()
    async with db.transaction() as uow:
        await uow.run(NEW_EFFECT, id=3, event_id="e3", note="dropped")  # no commit: rolled back on leaving
    assert await notes(db) == ["kept", "kept too"]
    async with db.reading() as uow:
        assert (await uow.one(EFFECT, effect=1)).note == "kept"
        assert await uow.one(EFFECT, effect=99) is None


async def test_a_unique_violation_is_sqlalchemys_integrity_error_and_a_savepoint_keeps_the_rest(db: Database) -> None:
    async with db.transaction() as uow:
        await uow.run(NEW_EFFECT, id=1, event_id="e1", note="first")
        await uow.commit()
    async with db.transaction() as uow:
        await uow.run(NEW_EFFECT, id=2, event_id="e2", note="before the clash")
        with pytest.raises(IntegrityError):
            async with uow.savepoint():
                await uow.run(NEW_EFFECT, id=1, event_id="e1-again", note="clash")
        await uow.commit()
    assert await notes(db) == ["first", "before the clash"]


async def test_the_session_joins_after_prepared_reads_but_not_after_a_prepared_write(db: Database) -> None:
    async with db.transaction() as uow:
        assert await uow.one(EFFECT, effect=1) is None
        await uow.session.execute(insert(EFFECTS).values(id=1, event_id="e1", note="through the session"))
        await uow.run(NEW_EFFECT, id=2, event_id="e2", note="prepared, on the session")
        await uow.commit()
    assert await notes(db) == ["through the session", "prepared, on the session"]
    async with db.transaction() as uow:
        await uow.run(NEW_EFFECT, id=3, event_id="e3", note="prepared write")
        with pytest.raises(RuntimeError, match=r"use uow\.session before them"):
            uow.session  # noqa: B018
    assert await notes(db) == ["through the session", "prepared, on the session"]


async def test_connections_go_back_to_the_pool_whatever_the_unit_of_work_ended_with(db: Database) -> None:
    async with db.transaction() as uow:
        await uow.run(NEW_EFFECT, id=1, event_id="e1", note="one")
        await uow.commit()
    for _ in range(POSTGRES_POOL_SIZE + 2):  # more than the pool holds: a connection kept back would hang here
        with pytest.raises(IntegrityError):
            async with asyncio.timeout(10), db.transaction() as uow:
                await uow.one(LOCKED, effect=1)
                await uow.run(NEW_EFFECT, id=1, event_id="e1", note="clash")
        with pytest.raises(ValueError, match="handler failed"):
            async with asyncio.timeout(10), db.reading() as uow:
                await uow.one(EFFECT, effect=1)
                raise ValueError("handler failed")
    async with asyncio.timeout(10), db.transaction() as uow:
        await uow.run(NEW_EFFECT, id=2, event_id="e2", note="two")
        await uow.commit()
    assert await notes(db) == ["one", "two"]


async def test_a_read_only_unit_of_work_refuses_a_prepared_write_and_writes_nothing(db: Database) -> None:
    async with db.reading() as uow:
        with pytest.raises(RuntimeError, match="read-only"):
            await uow.run(NEW_EFFECT, id=1, event_id="e1", note="not from a read")
    assert await notes(db) == []


def cancelled(order_id: str) -> OrderCancelledEvent:
    return OrderCancelledEvent(order_id=order_id, customer_id="c1", reason="test", lines=[], total=0, currency="EUR")


async def test_a_delivery_stages_its_events_in_order_and_a_concurrent_duplicate_commits_nothing(db: Database) -> None:
    event = cancelled("o1")
    envelope = Envelope(source="test", type=event.type_name(), data=event.model_dump(mode="json"))
    first_wrote = asyncio.Event()

    async def deliver(effect: int) -> str:
        if effect == 2:
            await first_wrote.wait()
        try:
            async with db.transaction(Incoming(event, envelope, consumer="order--payment")) as uow:
                # PostgreSQL: the duplicate waits here, at its inbox mark; SQLite: for the writer's turn.
                await uow.run(NEW_EFFECT, id=effect, event_id=f"e{effect}", note=f"delivery {effect}")
                for n in range(3):
                    uow.publish(cancelled(f"o1-{effect}-{n}"))
                if effect == 1:
                    first_wrote.set()
                    await asyncio.sleep(0.3)  # the duplicate is under way meanwhile
                await uow.commit()
        except AlreadyHandled:
            return "duplicate"
        return "handled"

    assert await asyncio.wait_for(asyncio.gather(deliver(1), deliver(2)), 10) == ["handled", "duplicate"]
    assert await notes(db) == ["delivery 1"]
    async with db.reading() as uow:
        staged = [Envelope.from_bytes(row.payload).data["order_id"] for row in await uow.all(STAGED)]
    assert staged == [f"o1-1-{n}" for n in range(3)]


async def test_a_delivery_that_writes_nothing_is_marked_and_its_duplicate_found(db: Database) -> None:
    event = cancelled("o2")
    envelope = Envelope(source="test", type=event.type_name(), data=event.model_dump(mode="json"))
    for publishes in (False, True):
        consumer = "order--publishing" if publishes else "order--o'quiet"  # a quote: the mark is sent as a literal
        async with db.transaction(Incoming(event, envelope, consumer=consumer)) as uow:
            assert await uow.one(EFFECT, effect=1) is None  # reads only
            if publishes:
                uow.publish(cancelled("o2-next"))
            await uow.commit()
        with pytest.raises(AlreadyHandled):
            async with db.transaction(Incoming(event, envelope, consumer=consumer)) as uow:
                await uow.run(NEW_EFFECT, id=2, event_id="e2", note="a duplicate's write")
                await uow.commit()
    assert await notes(db) == []
    async with db.reading() as uow:
        staged = [Envelope.from_bytes(row.payload).data["order_id"] for row in await uow.all(STAGED)]
    assert staged == ["o2-next"]


async def test_an_autocommit_unit_of_work_commits_each_write_and_stages_no_events(db: Database) -> None:
    async with db.autocommit() as uow:
        await uow.run(NEW_EFFECT, [{"id": 1, "event_id": "e1", "note": "one"},
                                   {"id": 2, "event_id": "e2", "note": "two"}])
        await uow.commit()
    assert await notes(db) == ["one", "two"]
    with pytest.raises(IntegrityError):  # one executemany is all or nothing
        async with db.autocommit() as uow:
            await uow.run(NEW_EFFECT, [{"id": 3, "event_id": "e3", "note": "three"},
                                       {"id": 1, "event_id": "e1", "note": "clash"}])
    assert await notes(db) == ["one", "two"]
    async with db.autocommit() as uow:
        uow.publish(cancelled("o2"))
        with pytest.raises(RuntimeError, match="stages no events"):
            await uow.commit()
    async with db.reading() as uow:
        assert await uow.all(STAGED) == []
