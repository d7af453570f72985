"""Pruning: published outbox rows and inbox marks past their retention go; nothing unpublished or recent does."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from eventshop.platform.db import PLATFORM_TABLES, utcnow
from eventshop.platform.housekeeping import BATCH, prune
from tests.integration.platform.conftest import Backend, open_database

OUTBOX, INBOX = PLATFORM_TABLES["outbox"], PLATFORM_TABLES["inbox"]


def outbox_row(n: int, created_hours_ago: float, published_hours_ago: float | None) -> dict[str, object]:
    now = utcnow()
    return {"event_id": f"e{n}", "event_type": "InventoryProcessedEvent", "subject": "inventory.processed",
            "payload": b"{}", "created_at": now - timedelta(hours=created_hours_ago),
            "published_at": None if published_hours_ago is None else now - timedelta(hours=published_hours_ago)}


def inbox_mark(n: int, hours_ago: float) -> dict[str, object]:
    return {"consumer": "payment--inventory", "event_id": f"e{n}", "event_type": "InventoryProcessedEvent",
            "handled_at": utcnow() - timedelta(hours=hours_ago)}


async def test_only_what_outlived_its_retention_is_pruned_in_batches(backend: Backend, tmp_path: Path) -> None:
    settings = backend.settings(tmp_path).model_copy(update={"outbox_retention_hours": 24,
                                                             "inbox_retention_hours": 168})
    db = await open_database(backend.database_url, "inventory")
    old_published = BATCH * 2 + 5  # more than one batch
    async with db.transaction() as uow:
        rows = [outbox_row(n, 30, 29) for n in range(old_published)]
        rows += [outbox_row(10_000, 2, 1), outbox_row(10_001, 100, None)]  # recent; old but never published
        await uow.session.execute(insert(OUTBOX), rows)
        marks = [inbox_mark(n, 200) for n in range(BATCH + 1)] + [inbox_mark(20_000, 100)]
        await uow.session.execute(insert(INBOX), marks)
        await uow.commit()

    assert await prune(db, settings) == {"outbox": old_published, "inbox": BATCH + 1}

    async with db.reading() as uow:
        kept = (await uow.session.execute(select(OUTBOX.c.event_id).order_by(OUTBOX.c.event_id))).scalars().all()
        marks_left = (await uow.session.execute(select(INBOX.c.event_id))).scalars().all()
        assert (await uow.session.execute(select(func.count()).select_from(OUTBOX))).scalar() == 2
    assert kept == ["e10000", "e10001"], "the recent row and the unpublished one stay"
    assert marks_left == ["e20000"]
    assert await prune(db, settings) == {"outbox": 0, "inbox": 0}, "a second prune finds nothing"
    await db.dispose()
