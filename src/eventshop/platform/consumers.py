"""Consuming through the inbox: one worker per durable consumer, ack only after commit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from pydantic import ValidationError

from eventshop.contracts.envelope import Envelope
from eventshop.contracts.events import ALL_EVENTS
from eventshop.platform import deadletters
from eventshop.platform.broker import ConsumerSpec
from eventshop.platform.db import AlreadyHandled, Database, Incoming
from eventshop.platform.errors import NotReady
from eventshop.platform.settings import Settings
from eventshop.platform.telemetry import EVENTS_CONSUMED, HANDLER_SECONDS, event_log_context

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


class ConsumerWorker:
    """Fetches from one durable consumer and runs each delivery through its handler."""

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

    async def run(self) -> None:
        sub = await self.js.pull_subscribe_bind(durable=self.spec.durable, stream=self.spec.stream)
        while not self.stopping.is_set():
            try:
                messages = await sub.fetch(batch=20, timeout=1.0)
            except (NatsTimeoutError, TimeoutError):
                continue
            except Exception as exc:  # broker away: the client reconnects; try again shortly
                log.warning("%s cannot fetch: %s", self.spec.durable, exc)
                await asyncio.sleep(0.5)
                continue
            for msg in messages:
                # In-flight deliveries finish even when a stop is requested.
                await self.handle(msg)
        with contextlib.suppress(Exception):
            await sub.unsubscribe()

    def stop(self) -> None:
        self.stopping.set()

    def backoff(self, deliveries: int) -> float:
        return min(self.settings.retry_base_seconds * 2 ** (deliveries - 1), self.settings.retry_max_seconds)

    async def handle(self, msg: Msg) -> None:
        deliveries = msg.metadata.num_delivered
        try:
            envelope, event = decode(msg.data)
        except Undecodable as exc:
            await self._dead_letter(msg, str(exc), "?")
            return
        with event_log_context(envelope):
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
        await msg.ack()

    async def _record(self, incoming: Incoming[Any]) -> None:
        """Mark a delivery whose handler changed nothing, so a duplicate is seen as one."""
        async with self.db.transaction(handled=incoming) as uow:
            await uow.commit()

    async def _failed(self, msg: Msg, envelope: Envelope, exc: Exception, deliveries: int) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        if deliveries >= self.spec.max_deliver:
            await self._dead_letter(msg, f"failed {deliveries} times; last error {reason}", envelope.type)
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
        await msg.term()

    def _count(self, event_type: str, outcome: str) -> None:
        EVENTS_CONSUMED.labels(self.db.service, self.spec.durable, event_type, outcome).inc()

