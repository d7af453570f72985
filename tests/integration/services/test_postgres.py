"""The same services on PostgreSQL: migrations apply and the saga steps work unchanged."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import text

from eventshop.contracts.events import (
    OrderProcessedEvent,
    PaymentProcessedEvent,
    ShippingProcessedEvent,
    ShoppingCartOrderedEvent,
)
from eventshop.contracts.values import OrderLine
from eventshop.platform.db import Database
from eventshop.platform.migrations import upgrade
from eventshop.platform.settings import Settings
from eventshop.services.catalog.service import declare as catalog
from eventshop.services.inventory.service import declare as inventory
from eventshop.services.order.service import declare as order
from tests.conftest import create_database, drop_database, eventually, postgres_available, running
from tests.integration.publishing import broker, collect, publish_event

pytestmark = pytest.mark.skipif(not postgres_available(), reason="PostgreSQL is not running on 127.0.0.1:5432")


async def test_inventory_and_order_run_on_postgresql(
    settings: Settings, clean_broker: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = {service: await create_database() for service in ("inventory", "order")}
    try:
        for service, name in names.items():
            monkeypatch.setenv(
                f"EVENTSHOP_{service.upper()}_DATABASE_URL", f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
            )
        async with running(inventory(), settings) as inv, running(order(), settings) as orders:
            assert inv.runtime.db.url.startswith("postgresql+asyncpg")
            assert (await orders.http.get("/orders", params={"customer_id": "c"})).json()["total"] == 0
            await inv.http.put("/stock/p1", json={"sku": "P1", "available": 2})
            nc = await broker(settings)
            seen = await collect(nc, "inventory.>")
            line = OrderLine(product_id="p1", sku="P1", name="Lamp", quantity=2, unit_price=990, currency="EUR")
            await publish_event(nc, OrderProcessedEvent(order_id="pg1", customer_id="c", lines=[line], total=1980,
                                                        currency="EUR"))
            await eventually(lambda: [e for e in seen if e["type"] == "InventoryProcessedEvent"])
            level = (await inv.http.get("/stock")).json()[0]
            assert (level["available"], level["held"], level["sold"]) == (0, 2, 0)
            await nc.close()
    finally:
        for name in names.values():
            await drop_database(name)


async def test_catalog_filters_by_category_and_stock_on_postgresql(
    settings: Settings, clean_broker: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = await create_database()
    try:
        monkeypatch.setenv("EVENTSHOP_CATALOG_DATABASE_URL", f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
        async with running(inventory(), settings) as inv, running(catalog(), settings) as cat:
            for sku, category, available in (("TEA-A", "tea", 4), ("TEA-B", "tea", 0), ("MUG", "tableware", 9)):
                body = {"sku": sku, "name": sku, "price": 990, "currency": "EUR", "category": category}
                created = (await cat.http.post("/products", json=body)).json()
                await inv.http.put(f"/stock/{created['id']}", json={"sku": sku, "available": available})
            found = (await cat.http.get("/products", params={"category": "tea", "in_stock": "true"})).json()
            assert [p["sku"] for p in found["items"]] == ["TEA-A"] and found["total"] == 1
            counts = {c["id"]: c["products"] for c in (await cat.http.get("/categories")).json()}
            assert (counts["tea"], counts["tableware"], counts["coffee"]) == (2, 1, 0)
    finally:
        await drop_database(name)


async def test_payment_and_shipping_results_arriving_together_never_undo_each_other_on_postgresql(
    settings: Settings, clean_broker: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Order's consumers of the payment and shipping topics run at once; without a row lock the
    later of two commits on one order would overwrite the other ("shipped" back to "paid")."""
    name = await create_database()
    monkeypatch.setenv("EVENTSHOP_ORDER_DATABASE_URL", f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
    line = OrderLine(product_id="p1", sku="P1", name="Lamp", quantity=1, unit_price=990, currency="EUR")
    ids = [f"race{n}" for n in range(30)]
    try:
        async with running(order(), settings) as orders:
            nc = await broker(settings)
            for order_id in ids:
                await publish_event(nc, ShoppingCartOrderedEvent(cart_id=f"cart-{order_id}", order_id=order_id,
                                                                 customer_id="c", lines=[line], total=990,
                                                                 currency="EUR"))

            async def statuses() -> list[str]:
                return [(await orders.http.get(f"/orders/{i}")).json().get("status", "") for i in ids]

            await eventually(lambda: _all(statuses, "processing"), timeout=30)
            for order_id in ids:
                await asyncio.gather(
                    publish_event(nc, PaymentProcessedEvent(order_id=order_id, customer_id="c", payment_id="pay",
                                                            amount=990, currency="EUR", lines=[line])),
                    publish_event(nc, ShippingProcessedEvent(order_id=order_id, customer_id="c", shipment_id="s",
                                                             carrier="DHL", tracking_number=f"T{order_id}")),
                )
            await eventually(lambda: _all(statuses, "shipped"), timeout=30)
            await nc.close()
    finally:
        await drop_database(name)


async def _all(statuses: Callable[[], Awaitable[list[str]]], wanted: str) -> bool:
    return all(status == wanted for status in await statuses())


async def test_replicas_starting_together_migrate_one_at_a_time_on_postgresql() -> None:
    """Two replicas of a new deployment start at once: one applies the migrations, the other finds them done."""
    name = await create_database()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    replicas = [Database(url, "order") for _ in range(3)]
    try:
        await asyncio.gather(*(upgrade(db, order().migrations) for db in replicas))
        async with replicas[0].sessions() as session:
            assert await session.scalar(text("SELECT count(*) FROM alembic_version")) == 1
    finally:
        for db in replicas:
            await db.dispose()
        await drop_database(name)
