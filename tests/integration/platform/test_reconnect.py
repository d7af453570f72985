"""A service whose broker connection the server closed for good connects again and goes on consuming."""

from __future__ import annotations

import httpx

from eventshop.contracts.events import OrderProcessedEvent
from eventshop.contracts.values import OrderLine
from eventshop.platform.settings import Settings
from eventshop.services.inventory.service import declare
from tests.conftest import eventually, running
from tests.integration.publishing import broker, collect, publish_event


def order(order_id: str) -> OrderProcessedEvent:
    line = OrderLine(product_id="p1", sku="P1", name="p1", quantity=1, unit_price=500, currency="EUR")
    return OrderProcessedEvent(order_id=order_id, customer_id="c1", lines=[line], total=500, currency="EUR")


async def test_a_connection_closed_by_a_maximum_payload_violation_is_replaced_and_consuming_goes_on(
    settings: Settings, clean_broker: None
) -> None:
    async with running(declare(), settings) as inventory:
        await inventory.http.put("/stock/p1", json={"sku": "P1", "available": 5})
        runtime = inventory.runtime
        closed = runtime.nc
        assert closed is not None
        # Data under max_payload, data and headers over it: the client sends it, the server answers
        # -ERR 'Maximum Payload Violation' and nats-py closes the connection without reconnecting.
        await closed.publish("order.OrderProcessedEvent", b"x" * (closed.max_payload - 10),
                             headers={"Padding": "y" * 100})
        await eventually(lambda: closed.is_closed, message="the server closed the connection")

        async def ready() -> bool:
            response = await inventory.http.get("/health/ready")
            return response.status_code == httpx.codes.OK

        await eventually(lambda: runtime.reconnects == 1, message="connected again")
        await eventually(ready, message="ready again")
        assert runtime.nc is not closed and runtime.nc is not None and runtime.nc.is_connected

        nc = await broker(settings)
        events = await collect(nc, "inventory.>")
        await publish_event(nc, order("o-after-reconnect"))
        await eventually(lambda: [e for e in events if e["type"] == "InventoryProcessedEvent"], message="handled")
        await nc.close()
