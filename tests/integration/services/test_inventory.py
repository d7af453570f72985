"""Inventory against a real broker and database: reservations from events, all or nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from eventshop.contracts.events import OrderCancelledEvent, OrderProcessedEvent, ShippingProcessedEvent
from eventshop.contracts.values import OrderLine
from eventshop.platform.settings import Settings
from eventshop.services.inventory.service import declare
from tests.conftest import RunningService, create_database, drop_database, eventually, postgres_available, running
from tests.credentials import as_service
from tests.integration.publishing import broker, collect, publish_event


def line(product_id: str, quantity: int) -> OrderLine:
    return OrderLine(product_id=product_id, sku=product_id.upper(), name=product_id, quantity=quantity,
                     unit_price=500, currency="EUR")


async def test_order_reserves_all_lines_and_cancel_releases_them(settings: Settings, clean_broker: None) -> None:
    async with running(declare(), settings) as inventory:
        await inventory.http.put("/stock/p1", json={"sku": "P1", "available": 5})
        await inventory.http.put("/stock/p2", json={"sku": "P2", "available": 1})
        nc = await broker(settings)
        events = await collect(nc, "inventory.>")
        lines = [line("p1", 2), line("p2", 1)]
        await publish_event(nc, OrderProcessedEvent(order_id="o1", customer_id="c1", lines=lines, total=1500,
                                                    currency="EUR"))
        await eventually(lambda: [e for e in events if e["type"] == "InventoryProcessedEvent"], message="reserved")
        stock = {s["product_id"]: s for s in (await inventory.http.get("/stock")).json()}
        assert (stock["p1"]["available"], stock["p1"]["held"], stock["p1"]["sold"]) == (3, 2, 0)
        assert (stock["p2"]["available"], stock["p2"]["held"], stock["p2"]["sold"]) == (0, 1, 0)

        await publish_event(nc, OrderCancelledEvent(order_id="o1", customer_id="c1", reason="card_declined",
                                                    lines=lines, total=1500, currency="EUR"))

        async def released() -> bool:
            levels = {s["product_id"]: s for s in (await inventory.http.get("/stock")).json()}
            return levels["p1"]["available"] == 5 and levels["p2"]["available"] == 1 and levels["p1"]["held"] == 0
        await eventually(released, message="released")
        await nc.close()


def shipped(order_id: str) -> ShippingProcessedEvent:
    return ShippingProcessedEvent(order_id=order_id, customer_id="c1", shipment_id=f"s-{order_id}", carrier="DHL",
                                  tracking_number=f"T-{order_id}")


async def levels(inventory: RunningService) -> dict[str, tuple[int, int, int]]:
    rows = (await inventory.http.get("/stock")).json()
    return {s["product_id"]: (s["available"], s["held"], s["sold"]) for s in rows}


async def test_a_shipped_order_moves_its_held_units_to_sold_once_and_a_late_cancel_changes_nothing(
    settings: Settings, clean_broker: None
) -> None:
    async with running(declare(), settings) as inventory:
        await inventory.http.put("/stock/p1", json={"sku": "P1", "available": 5})
        nc = await broker(settings)
        lines = [line("p1", 2)]
        # The shipment comes first (another topic, any order): it waits for the reservation.
        await publish_event(nc, shipped("o-ship"))
        await publish_event(nc, OrderProcessedEvent(order_id="o-ship", customer_id="c1", lines=lines, total=1000,
                                                    currency="EUR"))
        await eventually(lambda: _levels_are(inventory, {"p1": (3, 0, 2)}), message="held, then sold")

        duplicate = await publish_event(nc, shipped("o-ship"))
        await publish_event(nc, shipped("o-ship"), event_id=duplicate.id)  # the same event again
        await publish_event(nc, OrderCancelledEvent(order_id="o-ship", customer_id="c1", reason="late",
                                                    lines=lines, total=1000, currency="EUR"))
        marker = OrderProcessedEvent(order_id="o-next", customer_id="c1", lines=[line("p1", 1)], total=500,
                                     currency="EUR")
        await publish_event(nc, marker)
        await eventually(lambda: _levels_are(inventory, {"p1": (2, 1, 2)}), message="the next order held")
        await eventually(lambda: _all_acked(nc), message="every delivery settled")
        assert await levels(inventory) == {"p1": (2, 1, 2)}
        reservation = (await inventory.http.get("/reservations/o-ship")).json()
        assert reservation["status"] == "shipped"
        await nc.close()


async def _all_acked(nc: Any) -> bool:
    js = nc.jetstream()
    infos = [await js.consumer_info(stream, f"inventory--{topic}") for stream, topic in
             (("ORDER", "order"), ("SHIPPING", "shipping"))]
    return all(i.num_pending == 0 and i.num_ack_pending == 0 for i in infos)


async def _levels_are(inventory: RunningService, expected: dict[str, tuple[int, int, int]]) -> bool:
    return await levels(inventory) == expected


async def test_shortage_on_one_line_reserves_nothing(settings: Settings, clean_broker: None) -> None:
    async with running(declare(), settings) as inventory:
        await inventory.http.put("/stock/p1", json={"sku": "P1", "available": 5})
        await inventory.http.put("/stock/p2", json={"sku": "P2", "available": 0})
        nc = await broker(settings)
        events = await collect(nc, "inventory.>")
        await publish_event(nc, OrderProcessedEvent(order_id="o2", customer_id="c1",
                                                    lines=[line("p1", 1), line("p2", 1)], total=1000,
                                                    currency="EUR"))
        found = await eventually(lambda: [e for e in events if e["type"] == "InventoryOutOfStockEvent"])
        assert found[0]["data"]["shortages"] == [
            {"product_id": "p2", "sku": "P2", "name": "p2", "requested": 1, "available": 0}
        ]
        stock = {s["product_id"]: s for s in (await inventory.http.get("/stock")).json()}
        assert stock["p1"]["available"] == 5
        await nc.close()


async def test_negative_stock_is_refused_with_a_clear_error(settings: Settings, clean_broker: None) -> None:
    async with running(declare(), settings) as inventory:
        response = await inventory.http.put("/stock/p1", json={"sku": "P1", "available": -3})
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
async def test_the_migration_keeps_reserved_units_as_held_and_starts_sold_at_zero(
    dialect: str, tmp_path: Path
) -> None:
    from alembic import command
    from sqlalchemy import text

    from eventshop.platform.db import Database
    from eventshop.platform.migrations import alembic_config, upgrade
    from tests.conftest import create_database, drop_database, postgres_available

    if dialect == "postgres" and not postgres_available():
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    name = await create_database() if dialect == "postgres" else ""
    url = (f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}" if name
           else f"sqlite+aiosqlite:///{tmp_path}/inventory.sqlite3")
    db = Database(url, "inventory", ())
    migrations = declare().migrations
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(migrations, c), "d8ed8a23d112"))
            await conn.execute(text("INSERT INTO stock (product_id, sku, available, reserved, updated_at) "
                                    "VALUES ('p1', 'P1', 3, 2, CURRENT_TIMESTAMP)"))
        await upgrade(db, migrations)
        async with db.engine.connect() as conn:
            row = (await conn.execute(text("SELECT available, held, sold FROM stock"))).one()
        assert tuple(row) == (3, 2, 0)
    finally:
        await db.dispose()
        if name:
            await drop_database(name)


async def test_reserves_and_releases_of_one_order_at_once_take_and_give_back_once_on_postgresql(
    settings: Settings, clean_broker: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's writers take turns; on PostgreSQL Order's repeated calls (or a call and an event) race."""
    if not postgres_available():
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    name = await create_database()
    monkeypatch.setenv("EVENTSHOP_INVENTORY_DATABASE_URL", f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
    try:
        async with running(declare(), settings) as inventory:
            assert not inventory.runtime.db.is_sqlite
            await inventory.http.put("/stock/p1", json={"sku": "P1", "available": 5})
            order = as_service("order", "inventory")
            body = {"order_id": "o1", "customer_id": "c1", "lines": [line("p1", 2).model_dump(mode="json")],
                    "total": 1000, "currency": "EUR"}
            reserved = await asyncio.gather(*(inventory.anonymous.post("/reservations", headers=order, json=body)
                                              for _ in range(8)))
            assert {(r.status_code, r.json()["status"]) for r in reserved} == {(200, "reserved")}, \
                [r.text for r in reserved]
            assert (await levels(inventory))["p1"] == (3, 2, 0)
            answers = await asyncio.gather(*(inventory.anonymous.delete("/reservations/o1", headers=order)
                                             for _ in range(8)))
            assert [a.status_code for a in answers] == [200] * 8, [a.text for a in answers]
            assert (await levels(inventory))["p1"] == (5, 0, 0)
    finally:
        await drop_database(name)
