"""A 3-node JetStream cluster with 3 replicas: stopping a node mid-run loses nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from eventshop.contracts.events import InventoryProcessedEvent
from eventshop.platform.broker import (
    ConsumerSpec,
    connect,
    ensure_consumer,
    ensure_streams,
    ensure_topology,
    wait_for_jetstream,
)
from eventshop.platform.consumers import ConsumerWorker
from eventshop.platform.db import Incoming
from eventshop.platform.embedded_nats import start_cluster
from eventshop.platform.outbox import OutboxRelay
from eventshop.platform.settings import Settings
from tests.brokers import operator_login
from tests.conftest import eventually
from tests.integration.platform.conftest import EFFECTS, open_database

SPEC = ConsumerSpec("payment", "inventory", ("InventoryProcessedEvent",), max_deliver=10)


async def test_stopping_a_cluster_node_mid_run_loses_no_event(tmp_path: Path) -> None:
    nodes = start_cluster(tmp_path / "cluster", secrets_dir=tmp_path / "secrets")
    urls = ",".join(n.url for n in nodes)
    try:
        await wait_for_jetstream(urls, login=operator_login(nodes[0]))
        settings = Settings(data_dir=tmp_path, nats_url=urls, stream_replicas=3, retry_base_seconds=0.05,
                            retry_max_seconds=0.5, dev_secrets=True)
        publisher_db = await open_database(f"sqlite+aiosqlite:///{tmp_path}/inventory.sqlite3", "inventory")
        consumer_db = await open_database(f"sqlite+aiosqlite:///{tmp_path}/payment.sqlite3", "payment")
        nc = await connect(urls, "test", login=operator_login(nodes[0]))
        js = nc.jetstream(timeout=5)
        await ensure_streams(js, 3)
        await ensure_consumer(js, SPEC)

        async def handle(incoming: Incoming[Any]) -> None:
            async with consumer_db.transaction(handled=incoming) as uow:
                await uow.session.execute(insert(EFFECTS).values(event_id=incoming.envelope.id, note="charged"))
                await uow.commit()

        relay = OutboxRelay(publisher_db, js, settings)
        worker = ConsumerWorker(SPEC, js, consumer_db, {"InventoryProcessedEvent": handle}, settings)
        tasks = [asyncio.create_task(relay.run()), asyncio.create_task(worker.run())]

        async def commit(n: int) -> None:
            async with publisher_db.transaction() as uow:
                uow.publish(InventoryProcessedEvent(order_id=f"o{n}", customer_id="c", lines=[], total=n,
                                                    currency="EUR"))
                await uow.commit()

        for n in range(100):
            await commit(n)
        nodes[0].stop()  # possibly the node this client is connected to
        for n in range(100, 200):
            await commit(n)

        async def handled() -> bool:
            # A read-only unit of work: a writer's session here would take SQLite's write lock on every poll
            # and starve the consumer it is waiting for.
            async with consumer_db.reading() as uow:
                return (await uow.session.scalar(select(func.count()).select_from(EFFECTS))) == 200

        await eventually(handled, timeout=60, interval=0.2, message="all 200 events handled once")
        assert (await js.stream_info("INVENTORY")).state.messages == 200
        worker.stop()
        await relay.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await nc.close()
        await publisher_db.dispose()
        await consumer_db.dispose()
    finally:
        for node in nodes:
            node.stop()


async def test_a_service_starting_with_a_new_cluster_waits_for_it_instead_of_exiting(tmp_path: Path) -> None:
    # No wait: the cluster has not elected its leaders yet.
    nodes = start_cluster(tmp_path / "cluster", secrets_dir=tmp_path / "secrets")
    try:
        nc = await connect(",".join(n.url for n in nodes), "test", login=operator_login(nodes[0]))
        js = nc.jetstream(timeout=2)
        await ensure_topology(js, [SPEC], 3)
        assert (await js.stream_info("INVENTORY")).config.num_replicas == 3
        assert (await js.consumer_info(SPEC.stream, SPEC.durable)).config.max_deliver == 10
        await nc.close()
    finally:
        for node in nodes:
            node.stop()
