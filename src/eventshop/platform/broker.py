"""NATS JetStream connection and the streams and consumers derived from the registry."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from eventshop.contracts.registry import TOPICS, consumed_by

log = logging.getLogger(__name__)

DEAD_LETTER_STREAM = "DEAD_LETTERS"
DEAD_LETTER_PREFIX = "deadletter"
DUPLICATE_WINDOW_SECONDS = 120.0


@dataclass(frozen=True)
class ConsumerSpec:
    """One durable pull consumer: a service reading some event types from one topic."""

    service: str
    topic: str
    events: tuple[str, ...]
    max_deliver: int
    ack_wait_seconds: float = 30.0

    @property
    def durable(self) -> str:
        return f"{self.service}--{self.topic}"

    @property
    def stream(self) -> str:
        return TOPICS[self.topic].stream

    @property
    def subjects(self) -> list[str]:
        return [f"{self.topic}.{event}" for event in self.events]

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            name=self.durable,
            durable_name=self.durable,
            description=f"{self.service} consumes {', '.join(self.events)}",
            filter_subjects=self.subjects,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            max_deliver=self.max_deliver,
            ack_wait=self.ack_wait_seconds,
            max_ack_pending=1000,
        )


def consumer_specs(service: str, max_deliver: int) -> list[ConsumerSpec]:
    return [
        ConsumerSpec(service, topic, events, max_deliver)
        for topic, events in consumed_by(service).items()
    ]


async def connect(urls: str, name: str, *, persistent: bool = True) -> NATS:
    """Connect to a server or cluster (comma-separated URLs).

    A persistent connection (services) reconnects forever; a short-lived one (CLI) fails fast.
    """

    async def on_disconnect() -> None:
        log.info("broker disconnected")

    async def on_reconnect() -> None:
        log.info("broker reconnected")

    async def on_error(exc: Exception) -> None:
        log.log(logging.WARNING if persistent else logging.DEBUG, "broker error: %s", exc)

    return await nats.connect(
        servers=[u.strip() for u in urls.split(",") if u.strip()],
        name=name,
        max_reconnect_attempts=-1 if persistent else 0,
        allow_reconnect=persistent,
        reconnect_time_wait=0.5,
        connect_timeout=3,
        disconnected_cb=on_disconnect,
        reconnected_cb=on_reconnect,
        error_cb=on_error,
    )


async def _ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    assert config.name is not None
    try:
        await js.stream_info(config.name)
    except NotFoundError:
        await js.add_stream(config)
        return
    await js.update_stream(config)


async def ensure_streams(js: JetStreamContext, replicas: int = 1) -> None:
    """One stream per seed topic plus the dead-letter stream; created or updated idempotently."""
    for topic in TOPICS.values():
        await _ensure_stream(
            js,
            StreamConfig(
                name=topic.stream,
                description=topic.name,
                subjects=[f"{topic.key}.>"],
                storage=StorageType.FILE,
                num_replicas=replicas,
                duplicate_window=DUPLICATE_WINDOW_SECONDS,
            ),
        )
    await _ensure_stream(
        js,
        StreamConfig(
            name=DEAD_LETTER_STREAM,
            description="Messages that could not be handled, for operators to inspect and replay",
            subjects=[f"{DEAD_LETTER_PREFIX}.>"],
            storage=StorageType.FILE,
            num_replicas=replicas,
        ),
    )


async def ensure_consumer(js: JetStreamContext, spec: ConsumerSpec) -> None:
    """Create the durable consumer, or apply changed settings to the existing one."""
    await js.add_consumer(spec.stream, spec.config())


async def wait_for_jetstream(urls: str, timeout: float = 30.0) -> None:
    """Wait until JetStream answers (a new cluster needs a few seconds to elect its meta leader)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    nc = await connect(urls, "eventshop-probe")
    try:
        while True:
            try:
                await nc.jetstream(timeout=1.0).account_info()
                return
            except Exception:
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.2)
    finally:
        await nc.close()
