"""The outbox relay: publishes committed outbox rows to JetStream in commit order, exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Any

from nats.js import JetStreamContext
from sqlalchemy import bindparam, func, select, update

from eventshop.platform.db import PLATFORM_TABLES, Database, utcnow
from eventshop.platform.settings import Settings
from eventshop.platform.statements import Prepared
from eventshop.platform.telemetry import EVENTS_PUBLISHED, OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE
from eventshop.platform.tracing import Span, enabled, start_span, traceparent_in

log = logging.getLogger(__name__)
OUTBOX = PLATFORM_TABLES["outbox"]
BATCH = 200
PUBACK_TIMEOUT_SECONDS = 5.0
IDLE_CHECK_SECONDS = 1.0
# The relay's own backoff stays short whatever the consumers' retry cap: a broker back up is used at once.
MAX_PAUSE_SECONDS = 5.0
CHAOS_COPY_SUFFIX = ":copy"  # the message id of the test-only second copy of an event: its event id and this
PENDING = Prepared(
    select(OUTBOX.c.id, OUTBOX.c.event_id, OUTBOX.c.event_type, OUTBOX.c.subject, OUTBOX.c.payload)
    .where(OUTBOX.c.published_at.is_(None))
    .order_by(OUTBOX.c.id)
    .limit(BATCH)
)
MARK_PUBLISHED = Prepared(update(OUTBOX).where(OUTBOX.c.id == bindparam("row_id")).values(
    published_at=bindparam("published_at")))


class OutboxRelay:
    """Wakes on every commit that staged events; keeps rows while the broker is unreachable."""

    def __init__(self, db: Database, js: JetStreamContext, settings: Settings) -> None:
        self.db = db
        self.js = js
        self.settings = settings
        self.stopping = asyncio.Event()
        self.failures = 0
        self._chaos_tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        while not self.stopping.is_set():
            try:
                # A short batch was all there was: what commits meanwhile sets the signal waited for below.
                while await self.publish_pending() >= BATCH:
                    pass
                self.failures = 0
            except Exception as exc:  # broker down, timeout, database busy: keep the rows, back off
                self.failures += 1
                delay = min(
                    self.settings.retry_base_seconds * 2 ** (self.failures - 1),
                    self.settings.retry_max_seconds,
                    MAX_PAUSE_SECONDS,
                )
                log.warning("outbox relay cannot publish (%s); retrying in %.1fs", exc, delay)
                await self._sleep_or_stop(delay)
                continue
            await self._wait_for_commit()

    async def _wait_for_commit(self) -> None:
        signal = self.db.outbox_signal
        waiter = asyncio.ensure_future(signal.wait())
        stopper = asyncio.ensure_future(self.stopping.wait())
        await asyncio.wait({waiter, stopper}, timeout=IDLE_CHECK_SECONDS, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        stopper.cancel()
        signal.clear()

    async def _sleep_or_stop(self, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), timeout=delay)

    async def publish_pending(self) -> int:
        """Publish one batch in id order, many PubAcks in flight; stop at the first failure so order is kept.

        Messages go out on one connection in id order, so the stream stores them in that order; only a
        failed PubAck is sent again (with the same message id, so what was stored is not stored twice).
        """
        self.db.outbox_signal.clear()
        async with self.db.reading() as uow:
            rows = await uow.all(PENDING)
        if not rows:
            return 0
        spans = [_publish_span(row.subject, row.payload) for row in rows] if enabled() else []
        acks = [await self._publish(row.subject, row.payload, row.event_id, row.event_type) for row in rows]
        published: list[int] = []
        failure: BaseException | None = None
        try:
            async with asyncio.timeout(PUBACK_TIMEOUT_SECONDS):
                for row, ack in zip(rows, acks, strict=True):
                    await ack
                    published.append(row.id)
                    EVENTS_PUBLISHED.labels(self.db.service, row.event_type).inc()
        except (Exception, TimeoutError) as exc:
            failure = exc
        finally:
            for ack in acks[len(published):]:
                ack.cancel()
            for index, publishing in enumerate(spans):
                if publishing is not None:
                    publishing.set_attribute("eventshop.acknowledged", index < len(published))
                    publishing.end()
            if published:
                await self._mark_published(published)
        if failure is not None:
            raise failure
        return len(published)

    async def _publish(self, subject: str, payload: bytes, event_id: str, event_type: str) -> asyncio.Future[Any]:
        headers = {"Nats-Msg-Id": event_id, "Ce-Type": event_type}
        ack = await self.js.publish_async(subject, payload, headers=headers)
        if self.settings.chaos_duplicates:
            self._publish_chaos_copy(subject, payload, event_id, event_type)
        return ack

    def _publish_chaos_copy(self, subject: str, payload: bytes, event_id: str, event_type: str) -> None:
        # Test switch only: a second copy under another message id defeats broker dedup and,
        # sent after a random delay, arrives out of order with later events.
        async def send() -> None:
            await asyncio.sleep(random.uniform(0, self.settings.chaos_max_delay_ms / 1000))
            try:
                await self.js.publish(
                    subject, payload, headers={"Nats-Msg-Id": f"{event_id}{CHAOS_COPY_SUFFIX}", "Ce-Type": event_type}
                )
            except Exception as exc:
                log.warning("chaos copy of %s not sent: %s", event_id, exc)

        task = asyncio.create_task(send())
        self._chaos_tasks.add(task)
        task.add_done_callback(self._chaos_tasks.discard)

    async def _mark_published(self, ids: list[int]) -> None:
        now = utcnow()
        async with self.db.autocommit() as uow:  # on PostgreSQL one round trip: no BEGIN and COMMIT around it
            await uow.run(MARK_PUBLISHED, [{"row_id": row_id, "published_at": now} for row_id in ids])
            await uow.commit()

    async def refresh_gauges(self) -> None:
        stats = await self.backlog()
        OUTBOX_BACKLOG.labels(self.db.service).set(stats["backlog"])
        OUTBOX_OLDEST_AGE.labels(self.db.service).set(stats["oldest_age_seconds"])

    async def backlog(self) -> dict[str, Any]:
        """Counted when asked (/metrics, readiness), not on every publishing cycle."""
        async with self.db.reading() as uow:
            count, oldest = (
                await uow.session.execute(
                    select(func.count(), func.min(OUTBOX.c.created_at)).where(OUTBOX.c.published_at.is_(None))
                )
            ).one()
        age = 0.0
        if oldest is not None:
            if oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=utcnow().tzinfo)
            age = (utcnow() - oldest).total_seconds()
        return {"backlog": int(count), "oldest_age_seconds": age}

    async def stop(self, flush_timeout: float = 5.0) -> None:
        """Stop the loop and try once more to publish what is committed."""
        self.stopping.set()
        try:
            async with asyncio.timeout(flush_timeout):
                while await self.publish_pending():
                    pass
        except Exception as exc:
            log.warning("outbox not flushed at shutdown (%s); rows stay for the next start", exc)
        for task in list(self._chaos_tasks):
            task.cancel()


def _publish_span(subject: str, payload: bytes) -> Span | None:
    """From handing the event to the broker to its PubAck; a child of the span that staged it."""
    return start_span(f"{subject} publish", "producer", parent=traceparent_in(payload),
                      attributes={"messaging.system": "nats", "messaging.operation.type": "send",
                                  "messaging.destination.name": subject})
