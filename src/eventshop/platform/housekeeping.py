"""Pruning what the outbox and the inbox no longer need, so a shop's databases do not grow with every order.

A published outbox row has done its work once the broker acknowledged it (the stream keeps the event); an inbox
mark only has to outlive every redelivery of its message (the retry budget, minutes). Both are kept well past
that (`outbox_retention_hours`, `inbox_retention_hours`) for an operator's look, then deleted in small batches
so a prune never holds the write lock for long.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, select, tuple_

from eventshop.platform.db import PLATFORM_TABLES, Database, utcnow
from eventshop.platform.settings import Settings

log = logging.getLogger(__name__)
OUTBOX, INBOX = PLATFORM_TABLES["outbox"], PLATFORM_TABLES["inbox"]
BATCH = 1000
FIRST_PRUNE_SECONDS = 60.0  # not while the process is starting and catching up
PRUNE_EVERY_SECONDS = 3600.0


async def prune(db: Database, settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """Delete published outbox rows and inbox marks older than their retention; how many of each went."""
    now = now or utcnow()
    outbox_before = now - timedelta(hours=settings.outbox_retention_hours)
    inbox_before = now - timedelta(hours=settings.inbox_retention_hours)
    pruned = {"outbox": 0, "inbox": 0}
    while True:
        async with db.transaction() as uow:
            old_rows = select(OUTBOX.c.id).where(OUTBOX.c.published_at < outbox_before).limit(BATCH)
            outbox = await uow.session.execute(delete(OUTBOX).where(OUTBOX.c.id.in_(old_rows.scalar_subquery())))
            old_marks = select(INBOX.c.consumer, INBOX.c.event_id).where(INBOX.c.handled_at < inbox_before)
            inbox = await uow.session.execute(delete(INBOX).where(
                tuple_(INBOX.c.consumer, INBOX.c.event_id).in_(old_marks.limit(BATCH))))
            await uow.commit()
        pruned["outbox"] += outbox.rowcount  # type: ignore[attr-defined]
        pruned["inbox"] += inbox.rowcount  # type: ignore[attr-defined]
        if outbox.rowcount < BATCH and inbox.rowcount < BATCH:  # type: ignore[attr-defined]
            return pruned


async def keep_pruning(db: Database, settings: Settings) -> None:
    """Prune a minute after start and then every hour, until the runtime cancels it at stop."""
    await asyncio.sleep(FIRST_PRUNE_SECONDS)
    while True:
        try:
            pruned = await prune(db, settings)
        except Exception as exc:  # a busy or unreachable database: the rows wait for the next prune
            log.warning("pruning the outbox and inbox failed (%s); trying again in an hour", exc)
        else:
            if any(pruned.values()):
                log.info("pruned %d published outbox rows and %d inbox marks", pruned["outbox"], pruned["inbox"])
        await asyncio.sleep(PRUNE_EVERY_SECONDS)
