"""Consuming through the inbox: one worker per durable consumer, concurrent across orders, ack only after commit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from pydantic import ValidationError

from eventshop.contracts.envelope import Envelope
from eventshop.contracts.events import ALL_EVENTS
from eventshop.platform import deadletters
from eventshop.platform.broker import ConsumerSpec
from eventshop.platform.db import AlreadyHandled, Database, Incoming
from eventshop.platform.errors import NotReady
from eventshop.platform.pulling import HEARTBEAT_SECONDS, PullFeed
from eventshop.platform.settings import Settings
from eventshop.platform.telemetry import EVENTS_CONSUMED, HANDLER_SECONDS, event_log_context
from eventshop.platform.tracing import mark_failed, span

log = logging.getLogger(__name__)

Handler = Callable[[Incoming[Any]], Awaitable[None]]


class Undecodable(Exception):
    """The message is not a valid envelope or its data fails the event's schema."""


def decode(data: bytes) -> tuple[Envelope, Any]:
    try:
        envelope = Envelope.from_bytes(data)
    except (ValidationError, ValueError) as exc:
        raise Undecodable(f"not a CloudEvents envelope: {exc}") from exc
    model = ALL_EVENTS.get(envelope.type)
    if model is None:
        raise Undecodable(f"unknown event type {envelope.type!r}")
    try:
        return envelope, model.model_validate(envelope.data)
    except ValidationError as exc:
        raise Undecodable(f"{envelope.type} fails its schema: {exc}") from exc


@dataclass
class Delivery:
    """A fetched message, decoded once (or the reason it cannot be)."""

    msg: Msg
    decoded: tuple[Envelope, Any] | Undecodable
    waiting_since: float = field(default_factory=time.monotonic)

    @classmethod
    def of(cls, msg: Msg) -> Delivery:
        try:
            return cls(msg, decode(msg.data))
        except Undecodable as exc:
            return cls(msg, exc)

    @property
    def key(self) -> str:
        """The entity the event is about: deliveries with the same key are handled in order."""
        if isinstance(self.decoded, Undecodable):
            return ""
        envelope = self.decoded[0]
        return envelope.subject or envelope.correlationid or envelope.id


class ConsumerWorker:
    """Handles one durable consumer's deliveries concurrently, one key (order, account) at a time.

    Deliveries about the same entity (the envelope's subject) run one after another in delivery order;
    different entities run side by side, at most `max_in_flight` at once, so one slow order does not hold
    up the others. Each delivery is acked only after its transaction commits.
    """

    def __init__(
        self,
        spec: ConsumerSpec,
        js: JetStreamContext,
        db: Database,
        handlers: Mapping[str, Handler],
        settings: Settings,
    ) -> None:
        self.spec = spec
        self.js = js
        self.db = db
        self.handlers = handlers
        self.settings = settings
        self.stopping = asyncio.Event()
        self.lanes: dict[str, deque[Delivery]] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.feed: PullFeed | None = None
        # Stream sequence -> wall-clock time of the message's first failed delivery (the retry budget's start).
        self.failing_since: dict[int, float] = {}

    async def run(self) -> None:
        feed = PullFeed(self.js._nc, self.js._prefix, self.spec.stream, self.spec.durable,
                        self.settings.consumer_max_in_flight, self._accept)
        self.feed = feed
        await feed.start()
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=HEARTBEAT_SECONDS)
            await feed.top_up()
            await self._extend_slow_deliveries()
            self._forget_old_failures()
        # In-flight deliveries finish even when a stop is requested; new arrivals go back at once.
        while self.tasks:
            await asyncio.wait(set(self.tasks))
        await feed.stop()

    def _accept(self, msg: Msg) -> None:
        if self.stopping.is_set():
            self._spawn(self._give_back(msg))
            return
        delivery = Delivery.of(msg)
        lane = self.lanes.get(delivery.key)
        if lane is not None:
            lane.append(delivery)
            return
        self.lanes[delivery.key] = deque([delivery])
        self._spawn(self._drain(delivery.key))

    def _spawn(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(job)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _drain(self, key: str) -> None:
        lane = self.lanes[key]
        while lane:
            delivery = lane[0]
            try:
                await self._settle(delivery)
            except Exception:  # the broker went away while acking: redelivery takes it from here
                log.exception("%s: delivery of %s not settled", self.spec.durable, delivery.msg.subject)
            lane.popleft()
            await self._finished()
        del self.lanes[key]

    async def _give_back(self, msg: Msg) -> None:
        with contextlib.suppress(Exception):
            await msg.nak()
        await self._finished()

    async def _finished(self) -> None:
        if self.feed is not None:
            self.feed.finished()
            await self.feed.top_up()

    async def _extend_slow_deliveries(self) -> None:
        """A delivery waiting or running longer than a third of ack_wait tells the server it is still alive."""
        now = time.monotonic()
        for lane in list(self.lanes.values()):
            for delivery in list(lane):
                if now - delivery.waiting_since > self.spec.ack_wait_seconds / 3:
                    delivery.waiting_since = now
                    with contextlib.suppress(Exception):
                        await delivery.msg.in_progress()

    def _forget_old_failures(self) -> None:
        """Messages retried elsewhere (another replica) or long gone leave no entries behind."""
        horizon = time.time() - 2 * self.settings.retry_budget_seconds - self.settings.retry_max_seconds
        for sequence, since in list(self.failing_since.items()):
            if since < horizon:
                del self.failing_since[sequence]

    def stop(self) -> None:
        self.stopping.set()

    def backoff(self, deliveries: int) -> float:
        return min(self.settings.retry_base_seconds * 2 ** (deliveries - 1), self.settings.retry_max_seconds)

    def failing_for(self, msg: Msg) -> float:
        """Seconds since this message's first failed delivery.

        Remembered from the first failure this worker saw; a message that already failed before (in a
        process that has since restarted, or another replica) is estimated from its earlier deliveries,
        each at most one full backoff apart, and never from before it was stored.
        """
        now = time.time()
        meta = msg.metadata
        since = self.failing_since.get(meta.sequence.stream)
        if since is None:
            since = max(now - (meta.num_delivered - 1) * self.settings.retry_max_seconds, meta.timestamp.timestamp())
            self.failing_since[meta.sequence.stream] = since
        return max(0.0, now - since)

    def gives_up(self, msg: Msg) -> bool:
        """Dead-letter once the retry budget (time since the first failure) is spent, or at the hard cap."""
        spent = self.failing_for(msg) >= self.settings.retry_budget_seconds
        return spent or msg.metadata.num_delivered >= self.spec.max_deliver

    def _settled_for_good(self, msg: Msg) -> None:
        with contextlib.suppress(Exception):
            self.failing_since.pop(msg.metadata.sequence.stream, None)

    async def handle(self, msg: Msg) -> None:
        """Handle one message now (tests and tools); the run loop goes through the lanes."""
        await self._settle(Delivery.of(msg))

    async def _settle(self, delivery: Delivery) -> None:
        msg = delivery.msg
        deliveries = msg.metadata.num_delivered
        if isinstance(delivery.decoded, Undecodable):
            await self._dead_letter(msg, str(delivery.decoded), "?")
            return
        envelope, event = delivery.decoded
        with event_log_context(envelope), span(f"{envelope.type} process", "consumer", parent=envelope.traceparent,
                                               attributes=_consumer_attributes(self.spec, envelope, deliveries)):
            await self._run(msg, envelope, event, deliveries)

    async def _run(self, msg: Msg, envelope: Envelope, event: Any, deliveries: int) -> None:
        handler = self.handlers.get(envelope.type)
        if handler is None:
            await self._dead_letter(msg, f"{self.spec.durable} has no handler for {envelope.type}", envelope.type)
            return
        incoming = Incoming(event=event, envelope=envelope, consumer=self.spec.durable, deliveries=deliveries)
        started = time.perf_counter()
        try:
            await handler(incoming)
            if not incoming.recorded:
                await self._record(incoming)
        except AlreadyHandled:
            log.info("%s: %s %s already handled; duplicate acknowledged", self.spec.durable, envelope.type, envelope.id)
            self._count(envelope.type, "duplicate")
            self._settled_for_good(msg)
            await msg.ack()
            return
        except Exception as exc:
            await self._failed(msg, envelope, exc, deliveries)
            return
        elapsed = time.perf_counter() - started
        HANDLER_SECONDS.labels(self.db.service, envelope.type).observe(elapsed)
        log.info("%s: handled %s %s for %s in %.1f ms", self.spec.durable, envelope.type, envelope.id,
                 envelope.subject, elapsed * 1000)
        self._count(envelope.type, "handled")
        self._settled_for_good(msg)
        await msg.ack()

    async def _record(self, incoming: Incoming[Any]) -> None:
        """Mark a delivery whose handler changed nothing, so a duplicate is seen as one."""
        async with self.db.transaction(handled=incoming) as uow:
            await uow.commit()

    async def _failed(self, msg: Msg, envelope: Envelope, exc: Exception, deliveries: int) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        mark_failed(reason)
        if self.gives_up(msg):
            failing = self.failing_for(msg)
            await self._dead_letter(msg, f"failed {deliveries} times over {failing:.0f}s; last error {reason}",
                                    envelope.type)
            return
        delay = self.backoff(deliveries)
        level = logging.INFO if isinstance(exc, NotReady) else logging.WARNING
        log.log(
            level,
            "%s: %s %s failed (delivery %d), retry in %.1fs: %s",
            self.spec.durable, envelope.type, envelope.id, deliveries, delay, reason,
            exc_info=not isinstance(exc, NotReady),
        )
        self._count(envelope.type, "retried")
        await msg.nak(delay=delay)

    async def _dead_letter(self, msg: Msg, reason: str, event_type: str) -> None:
        try:
            await deadletters.park(self.js, msg, self.spec.durable, reason)
        except Exception as exc:  # not parked: leave it to redelivery rather than lose it
            log.error("%s: cannot park message in dead letters (%s); will retry", self.spec.durable, exc)
            await msg.nak(delay=self.settings.retry_max_seconds)
            return
        log.error("%s: dead-lettered %s: %s", self.spec.durable, msg.subject, reason)
        self._count(event_type, "dead_lettered")
        self._settled_for_good(msg)
        await msg.term()

    def _count(self, event_type: str, outcome: str) -> None:
        EVENTS_CONSUMED.labels(self.db.service, self.spec.durable, event_type, outcome).inc()


def _consumer_attributes(spec: ConsumerSpec, envelope: Envelope, deliveries: int) -> dict[str, str | int]:
    return {"messaging.system": "nats", "messaging.operation.type": "process",
            "messaging.consumer.group.name": spec.durable, "messaging.message.id": envelope.id,
            "messaging.message.type": envelope.type, "messaging.message.delivery_count": deliveries,
            "eventshop.subject": envelope.subject or ""}

