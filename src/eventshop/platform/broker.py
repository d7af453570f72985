"""NATS JetStream connection and the streams and consumers derived from the registry."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import nats
from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import APIError, NotFoundError, ServiceUnavailableError

from eventshop.contracts.registry import TOPICS, Style, consumed_by
from eventshop.platform.settings import ACK_WAIT_SECONDS

log = logging.getLogger(__name__)

DEAD_LETTER_STREAM = "DEAD_LETTERS"
DEAD_LETTER_PREFIX = "deadletter"
DUPLICATE_WINDOW_SECONDS = 120.0
# JetStream answers these while a cluster elects its leaders or places replicas: worth asking again.
CLUSTER_NOT_READY = frozenset({10005, 10008})  # no suitable peers yet; JetStream temporarily unavailable
# Room kept under the server's max_payload for the headers of a replay or a dead-letter copy (which count
# against max_payload too): a topic message never gets so large that the broker cannot re-publish it.
HEADER_ALLOWANCE = 4096


@dataclass(frozen=True)
class ConsumerSpec:
    """One durable pull consumer: a service reading some event types from one topic."""

    service: str
    topic: str
    events: tuple[str, ...]
    max_deliver: int
    ack_wait_seconds: float = ACK_WAIT_SECONDS

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


def consumer_specs(
    service: str, max_deliver: int, style: Style | None = None, ack_wait_seconds: float = ACK_WAIT_SECONDS
) -> list[ConsumerSpec]:
    """The service's durable consumers in one saga style (None: in any, e.g. for broker permissions)."""
    return [
        ConsumerSpec(service, topic, events, max_deliver, ack_wait_seconds)
        for topic, events in consumed_by(service, style).items()
    ]


@dataclass(frozen=True)
class BrokerLogin:
    """Who a process is to the broker (see broker_auth for what each identity may do)."""

    user: str
    password: str

    @property
    def inbox_prefix(self) -> str:
        # Replies and pull deliveries come to the client's inbox; a prefix of its own keeps others out of it.
        return inbox_prefix(self.user)


def inbox_prefix(user: str) -> str:
    return f"_INBOX_{user}"


class BrokerRefused(ConnectionError):
    """The broker does not accept these credentials (or their absence)."""


async def connect(urls: str, name: str, *, login: BrokerLogin | None = None, persistent: bool = True) -> NATS:
    """Connect to a server or cluster (comma-separated URLs), as `login` or anonymously.

    A persistent connection (services) reconnects forever; a short-lived one (CLI) fails fast.
    Refused credentials fail at once either way: retrying cannot make them right.
    """
    connecting = True

    async def on_disconnect() -> None:
        log.info("broker disconnected")

    async def on_reconnect() -> None:
        log.info("broker reconnected")

    async def on_error(exc: Exception) -> None:
        # nats-py awaits this callback inside its first-connect loop, so raising here ends that loop.
        if connecting and "authorization violation" in str(exc).lower():
            who = f"user {login.user!r}" if login else "an anonymous client (no broker credentials found)"
            raise BrokerRefused(f"the broker at {urls} refused {who}")
        log.log(logging.WARNING if persistent else logging.DEBUG, "broker error: %s", exc)

    credentials = {"user": login.user, "password": login.password, "inbox_prefix": login.inbox_prefix} if login else {}
    nc = await nats.connect(
        servers=[u.strip() for u in urls.split(",") if u.strip()],
        name=name,
        max_reconnect_attempts=-1 if persistent else 0,
        allow_reconnect=persistent,
        reconnect_time_wait=0.5,
        connect_timeout=3,
        disconnected_cb=on_disconnect,
        reconnected_cb=on_reconnect,
        error_cb=on_error,
        **credentials,
    )
    connecting = False
    return nc


async def _ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    assert config.name is not None
    try:
        current = (await js.stream_info(config.name)).config
    except NotFoundError:
        await js.add_stream(config)
        return
    fields = ("description", "subjects", "storage", "num_replicas", "duplicate_window", "max_msg_size")
    if any(getattr(current, f) != getattr(config, f) for f in fields):
        await js.update_stream(config)


def topic_message_limit(max_payload: int) -> int:
    """The largest message (headers and data) a topic stream stores: what can still be replayed or parked."""
    return max_payload - HEADER_ALLOWANCE


async def ensure_streams(js: JetStreamContext, replicas: int = 1) -> None:
    """One stream per seed topic plus the dead-letter stream; created or updated idempotently.

    Topic streams refuse a message larger than `topic_message_limit` (a PubAck error, the connection
    stays up); the dead-letter stream takes anything the connection can carry.
    """
    max_msg_size = topic_message_limit(js._nc.max_payload)
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
                max_msg_size=max_msg_size,
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
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
            max_msg_size=js._nc.max_payload,
        ),
    )


async def ensure_consumer(js: JetStreamContext, spec: ConsumerSpec) -> None:
    """Create the durable consumer, or apply changed settings to the existing one."""
    await js.add_consumer(spec.stream, spec.config())


def _not_ready(exc: Exception) -> bool:
    if isinstance(exc, NatsTimeout | NoRespondersError | ServiceUnavailableError):
        return True
    return isinstance(exc, APIError) and exc.err_code in CLUSTER_NOT_READY


async def require_streams(js: JetStreamContext) -> None:
    """Each stream exists: a service may not create or change streams (a stream's sources or republish
    settings could copy its own messages into another topic), the operator's `setup-broker` does."""
    for name in [t.stream for t in TOPICS.values()] + [DEAD_LETTER_STREAM]:
        try:
            await js.stream_info(name)
        except NotFoundError:
            raise RuntimeError(f"stream {name} does not exist: set up the broker first "
                               "(`eventshop setup-broker`, with the operator's credentials)") from None


async def ensure_topology(
    js: JetStreamContext, specs: list[ConsumerSpec], replicas: int, *, timeout: float = 60.0,
    manage_streams: bool = True,
) -> None:
    """The streams (created or updated, or with `manage_streams=False` only required to exist) and these
    consumers, asked for again while JetStream is busy or still forming.

    Several services starting at once on a new cluster make JetStream slow to answer; that is no
    reason to exit. Anything else (a bad setting, a refused update) fails at once.
    """
    loop = asyncio.get_running_loop()
    deadline, delay = loop.time() + timeout, 0.5
    while True:
        try:
            await (ensure_streams(js, replicas) if manage_streams else require_streams(js))
            for spec in specs:
                await ensure_consumer(js, spec)
            return
        except Exception as exc:
            if not _not_ready(exc) or loop.time() + delay > deadline:
                raise
            log.warning("JetStream not ready (%s); setting up streams and consumers again in %.1fs",
                        type(exc).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


PROBE_STREAM = "EVENTSHOP_PROBE"


async def wait_for_jetstream(urls: str, timeout: float = 30.0, login: BrokerLogin | None = None) -> None:
    """Wait until JetStream can place a stream on every server of `urls`.

    A new or restarted cluster answers before all its peers have joined; a stream with one replica
    per server is placed only once they have, so a probe stream is created (and removed) to be sure.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    replicas = min(len(urls.split(",")), 3)
    probe = StreamConfig(name=PROBE_STREAM, subjects=["eventshop-probe"], num_replicas=replicas,
                         storage=StorageType.MEMORY)
    nc = await connect(urls, "eventshop-probe", login=login)
    try:
        js = nc.jetstream(timeout=2.0)
        while True:
            try:
                await js.add_stream(probe)
                await js.delete_stream(PROBE_STREAM)
                return
            except Exception:
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.2)
    finally:
        await nc.close()


async def set_up_streams(urls: str, replicas: int, login: BrokerLogin | None) -> None:
    """The operator's step before services start: every stream created, or brought up to date."""
    nc = await connect(urls, "eventshop-setup", login=login, persistent=False)
    try:
        await ensure_topology(nc.jetstream(timeout=5.0), [], replicas)
    finally:
        await nc.close()
