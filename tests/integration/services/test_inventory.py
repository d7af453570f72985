"""Inventory against a real broker and database: reservations from events, all or nothing."""

from __future__ import annotations

from eventshop.contracts.events import OrderCancelledEvent, OrderProcessedEvent
from eventshop.contracts.values import OrderLine
from eventshop.platform.settings import Settings
from eventshop.services.inventory.service import declare
from tests.conftest import eventually, running
from tests.integration.publishing import broker, collect, publish_event

AUTH = {"Authorization": "Bearer eventshop-internal-dev-token"}


def line(product_id: str, quantity: int) -> OrderLine:
    return OrderLine(product_id=product_id, sku=product_id.upper(), name=product_id, quantity=quantity,
                     unit_price=500, currency="EUR")


async def test_order_reserves_all_lines_and_cancel_releases_them(settings: Settings, clean_broker: None) -> None:
    async with running(declare(), settings) as inventory:
        await inventory.http.put("/stock/p1", json={"sku": "P1", "available": 5}, headers=AUTH)
        await inventory.http.put("/stock/p2", json={"sku": "P2", "available": 1}, headers=AUTH)
        nc = await broker(settings)
        events = await collect(nc, "inventory.>")
        lines = [line("p1", 2), line("p2", 1)]
        await publish_event(nc, OrderProcessedEvent(order_id="o1", customer_id="c1", lines=lines, total=1500,
                                                    currency="EUR"))
        await eventually(lambda: [e for e in events if e["type"] == "InventoryProcessedEvent"], message="reserved")
        stock = {s["product_id"]: s for s in (await inventory.http.get("/stock")).json()}
        assert (stock["p1"]["available"], stock["p1"]["reserved"]) == (3, 2)
        assert (stock["p2"]["available"], stock["p2"]["reserved"]) == (0, 1)

        await publish_event(nc, OrderCancelledEvent(order_id="o1", customer_id="c1", reason="card_declined",
                                                    lines=lines, total=1500, currency="EUR"))

        async def released() -> bool:
            levels = {s["product_id"]: s for s in (await inventory.http.get("/stock")).json()}
            return levels["p1"]["available"] == 5 and levels["p2"]["available"] == 1
        await eventually(released, message="released")
        await nc.close()


async def test_shortage_on_one_line_reserves_nothing(settings: Settings, clean_broker: None) -> None:
    async with running(declare(), settings) as inventory:
        await inventory.http.put("/stock/p1", json={"sku": "P1", "available": 5}, headers=AUTH)
        await inventory.http.put("/stock/p2", json={"sku": "P2", "available": 0}, headers=AUTH)
        nc = await broker(settings)
        events = await collect(nc, "inventory.>")
        await publish_event(nc, OrderProcessedEvent(order_id="o2", customer_id="c1",
                                                    lines=[line("p1", 1), line("p2", 1)], total=1000,
                                                    currency="EUR"))
        found = await eventually(lambda: [e for e in events if e["type"] == "InventoryOutOfStockEvent"])
        assert found[0]["data"]["shortages"] == [
            {"product_id": "p2", "sku": "P2", "requested": 1, "available": 0}
        ]
        stock = {s["product_id"]: s for s in (await inventory.http.get("/stock")).json()}
        assert stock["p1"]["available"] == 5
        await nc.close()


async def test_negative_stock_is_refused_with_a_clear_error(settings: Settings, clean_broker: None) -> None:
    async with running(declare(), settings) as inventory:
        response = await inventory.http.put("/stock/p1", json={"sku": "P1", "available": -3}, headers=AUTH)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "validation_error"
