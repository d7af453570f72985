"""The outbox: nothing is published that did not commit, and nothing committed is lost or doubled."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import ServiceUnavailableError
from sqlalchemy import insert, update

from eventshop.contracts.events import InventoryProcessedEvent
from eventshop.platform.broker import BrokerLogin, connect, ensure_streams, wait_for_jetstream
from eventshop.platform.db import PLATFORM_TABLES, Database
from eventshop.platform.embedded_nats import EmbeddedNats, wait_for_port
from eventshop.platform.outbox import OutboxRelay
from tests.brokers import operator_login
from tests.conftest import eventually
from tests.integration.platform.conftest import EFFECTS, Backend, open_database


def reserved(n: int) -> InventoryProcessedEvent:
    return InventoryProcessedEvent(order_id=f"o{n:03d}", customer_id="c1", lines=[], total=n, currency="EUR")


async def commit_changes(db: Database, count: int) -> None:
    for n in range(count):
        async with db.transaction() as uow:
            await uow.session.execute(insert(EFFECTS).values(event_id=f"e{n}", note="state change"))
            uow.publish(reserved(n))
            await uow.commit()


async def stream_events(url: str, login: BrokerLogin, stream: str = "INVENTORY") -> list[dict[str, object]]:
    nc = await connect(url, "test", login=login, persistent=False)
    js = nc.jetstream()
    info = await js.stream_info(stream)
    sub = await js.pull_subscribe("inventory.>", durable=None, stream=stream,
                                  config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL))
    found: list[dict[str, object]] = []
    deadline = time.monotonic() + 15
    while len(found) < info.state.messages:
        try:
            batch = await sub.fetch(100, timeout=2)
        except ServiceUnavailableError:  # a cluster just restarted may still be electing the consumer's leader
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
            continue
        for msg in batch:
            found.append(json.loads(msg.data))
            await msg.ack()
    await nc.close()
    return found


async def restart(nodes: list[EmbeddedNats]) -> None:
    for node in nodes:
        node.start(wait=False)
    for node in nodes:
        wait_for_port(node.port)
    await wait_for_jetstream(",".join(n.url for n in nodes), login=operator_login(nodes[0]))


async def test_events_committed_while_the_broker_is_down_are_published_once_in_order_when_it_returns(
    backend: Backend, tmp_path: Path
) -> None:
    if backend.name == "postgres":
        nodes = backend.nodes
    else:
        nodes = [EmbeddedNats(store_dir=tmp_path / "nats", secrets_dir=tmp_path / "secrets").start()]
    url = ",".join(n.url for n in nodes)
    settings = backend.settings(tmp_path)
    nc = await connect(url, "test", login=operator_login(nodes[0]))
    await ensure_streams(nc.jetstream(), backend.replicas)
    db = await open_database(backend.database_url, "inventory")
    relay = OutboxRelay(db, nc.jetstream(timeout=2), settings)
    task = asyncio.create_task(relay.run())
    try:
        for node in nodes:
            node.stop()
        await commit_changes(db, 100)
        await asyncio.sleep(0.5)  # let the relay try, fail and back off while the broker is away
        assert (await relay.backlog())["backlog"] == 100

        await restart(nodes)
        await eventually(lambda: _drained(relay), timeout=60, message="outbox drained")
        events = await stream_events(url, operator_login(nodes[0]))
        assert [e["data"]["order_id"] for e in events] == [f"o{n:03d}" for n in range(100)]  # type: ignore[index]
        assert len({e["id"] for e in events}) == 100

        # A relay that crashed after publishing but before marking rows sent publishes them again:
        # the broker drops them as duplicates by message id.
        async with db.sessions() as session:
            await session.execute(update(PLATFORM_TABLES["outbox"]).values(published_at=None))
            await session.commit()
        while await relay.publish_pending():
            pass
        assert len(await stream_events(url, operator_login(nodes[0]))) == 100
    finally:
        await relay.stop()
        task.cancel()
        await nc.close()
        await db.dispose()
        if backend.name == "sqlite":
            nodes[0].stop()


async def _drained(relay: OutboxRelay) -> bool:
    return (await relay.backlog())["backlog"] == 0


async def test_a_rolled_back_transaction_publishes_nothing(backend: Backend, tmp_path: Path) -> None:
    settings = backend.settings(tmp_path)
    nc = await connect(backend.nats_url, "test", login=backend.login)
    await ensure_streams(nc.jetstream(), backend.replicas)
    db = await open_database(backend.database_url, "inventory")
    relay = OutboxRelay(db, nc.jetstream(), settings)
    try:
        async with db.transaction() as uow:
            uow.publish(reserved(1))
            await uow.session.execute(insert(EFFECTS).values(event_id="x", note="never committed"))
            # leaving without commit() rolls back
        try:
            async with db.transaction() as uow:
                uow.publish(reserved(2))
                raise RuntimeError("the use case failed")
        except RuntimeError:
            pass
        assert await relay.publish_pending() == 0
        assert (await nc.jetstream().stream_info("INVENTORY")).state.messages == 0
    finally:
        await nc.close()
        await db.dispose()


async def test_the_relay_wakes_on_commit_without_waiting_for_a_poll(backend: Backend, tmp_path: Path) -> None:
    settings = backend.settings(tmp_path)
    nc = await connect(backend.nats_url, "test", login=backend.login)
    await ensure_streams(nc.jetstream(), backend.replicas)
    db = await open_database(backend.database_url, "inventory")
    relay = OutboxRelay(db, nc.jetstream(), settings)
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.1)
        await commit_changes(db, 1)
        # Well under the relay's idle re-check interval of one second.
        await eventually(lambda: _drained(relay), timeout=0.8, interval=0.01, message="published on commit")
    finally:
        await relay.stop()
        task.cancel()
        await nc.close()
        await db.dispose()


async def test_publishing_an_event_the_registry_does_not_give_the_service_is_refused(
    backend: Backend, tmp_path: Path
) -> None:
    db = await open_database(backend.database_url, "order")
    try:
        async with db.transaction() as uow:
            try:
                uow.publish(reserved(1))
            except RuntimeError as exc:
                assert "does not publish InventoryProcessedEvent" in str(exc)
            else:
                raise AssertionError("order may not publish inventory events")
    finally:
        await db.dispose()
