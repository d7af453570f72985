"""`eventshop bench messaging`: the messaging path alone (outbox, relay, JetStream, inbox) and its figures."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Column, Integer, String
from sqlalchemy import Table as SqlTable

from eventshop.contracts.events import InventoryProcessedEvent
from eventshop.contracts.registry import published_by
from eventshop.platform.broker import ConsumerSpec, connect, ensure_consumer, ensure_streams
from eventshop.platform.consumers import ConsumerWorker
from eventshop.platform.db import Database, Incoming, new_metadata
from eventshop.platform.embedded_nats import EmbeddedNats
from eventshop.platform.outbox import OutboxRelay
from eventshop.platform.settings import Settings

METADATA = new_metadata()
EFFECTS = SqlTable("bench_effects", METADATA, Column("id", Integer, primary_key=True), Column("order_id", String(64)))


async def open_db(url: str, service: str) -> Database:
    db = Database(url, service, published_by(service))
    async with db.engine.begin() as conn:
        await conn.run_sync(METADATA.create_all)
    return db


async def run_bench(
    events: int, workdir: Path, database_url: str | None, nats_url: str | None, rate: float = 0
) -> dict[str, Any]:
    nats = None if nats_url else EmbeddedNats(store_dir=workdir / "nats").start()
    url = nats_url or (nats.url if nats else "")
    settings = Settings(data_dir=workdir, nats_url=url)
    producer = await open_db(database_url or f"sqlite+aiosqlite:///{workdir}/inventory.sqlite3", "inventory")
    consumer = await open_db(f"sqlite+aiosqlite:///{workdir}/payment.sqlite3", "payment")
    nc = await connect(url, "eventshop-bench")
    js = nc.jetstream(timeout=5)
    await ensure_streams(js)
    await js.purge_stream("INVENTORY")
    spec = ConsumerSpec("payment", "inventory", ("InventoryProcessedEvent",), max_deliver=5)
    if await _exists(js, spec):
        await js.delete_consumer(spec.stream, spec.durable)
    await ensure_consumer(js, spec)
    latencies: list[float] = []
    done = asyncio.Event()

    async def handle(incoming: Incoming[Any]) -> None:
        async with consumer.transaction(handled=incoming) as uow:
            await uow.session.execute(EFFECTS.insert().values(order_id=incoming.event.order_id))
            await uow.commit()
        latencies.append((datetime.now(UTC) - incoming.envelope.time).total_seconds() * 1000)
        if len(latencies) >= events:
            done.set()

    relay = OutboxRelay(producer, js, settings)
    worker = ConsumerWorker(spec, js, consumer, {"InventoryProcessedEvent": handle}, settings)
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(worker.run())]
    started = time.perf_counter()
    for n in range(events):
        if rate:
            await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
        async with producer.transaction() as uow:
            uow.publish(InventoryProcessedEvent(order_id=f"o{n}", customer_id="c", lines=[], total=n, currency="EUR"))
            await uow.commit()
    committed = time.perf_counter() - started
    await asyncio.wait_for(done.wait(), timeout=300)
    total = time.perf_counter() - started
    worker.stop()
    await relay.stop()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await nc.close()
    await producer.dispose()
    await consumer.dispose()
    if nats:
        nats.stop()
    ordered = sorted(latencies)
    return {
        "events": events,
        "commits_per_s": events / committed,
        "end_to_end_per_s": events / total,
        "p50_ms": statistics.median(ordered),
        "p95_ms": ordered[int(len(ordered) * 0.95) - 1],
        "max_ms": ordered[-1],
    }


async def _exists(js: Any, spec: ConsumerSpec) -> bool:
    try:
        await js.consumer_info(spec.stream, spec.durable)
    except Exception:
        return False
    return True


def messaging(
    events: Annotated[int, typer.Option(help="events to push through", min=1)] = 2000,
    database_url: Annotated[str | None, typer.Option(help="producer database (default: SQLite in a temp dir)")] = None,
    nats_url: Annotated[str | None, typer.Option(help="broker (default: a fresh embedded nats-server)")] = None,
    rate: Annotated[float, typer.Option(help="events per second to offer; 0 = as fast as possible", min=0)] = 0,
) -> None:
    """Commit events through the outbox, relay them via JetStream, consume them through the inbox."""
    console = Console()
    with (
        tempfile.TemporaryDirectory() as tmp,
        console.status(f"pushing {events} events through outbox -> JetStream -> inbox ..."),
    ):
        figures = asyncio.run(run_bench(events, Path(tmp), database_url, nats_url, rate))
    table = Table("measure", "value", title="eventshop messaging benchmark")
    table.add_row("events", f"{figures['events']}" + (f" offered at {rate:.0f}/s" if rate else " as fast as possible"))
    table.add_row("outbox commits / s (one event per transaction)", f"{figures['commits_per_s']:.0f}")
    table.add_row("end to end / s (commit -> relay -> JetStream -> inbox commit)", f"{figures['end_to_end_per_s']:.0f}")
    table.add_row("latency p50 (event time -> handled)", f"{figures['p50_ms']:.1f} ms")
    table.add_row("latency p95", f"{figures['p95_ms']:.1f} ms")
    table.add_row("latency max", f"{figures['max_ms']:.1f} ms")
    console.print(table)
