"""Order against a real broker and database: the saga's events move the order and it announces them."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from eventshop.cli.main import app
from eventshop.contracts.events import (
    PaymentFailedEvent,
    PaymentProcessedEvent,
    ShippingProcessedEvent,
    ShoppingCartOrderedEvent,
)
from eventshop.contracts.values import OrderLine
from eventshop.platform.settings import Settings
from eventshop.services.order.service import declare
from tests.conftest import eventually, running
from tests.credentials import as_customer, as_operator, as_service
from tests.integration.publishing import broker, collect, publish_event

CART = as_service("cart", "order")
LINES = [OrderLine(product_id="p1", sku="P1", name="Kettle", quantity=2, unit_price=1250, currency="EUR")]


def new_order(order_id: str) -> dict[str, Any]:
    return {"order_id": order_id, "cart_id": f"cart-{order_id}", "customer_id": "c1",
            "lines": [line.model_dump() for line in LINES], "total": 2500, "currency": "EUR"}


def cart_event(order_id: str) -> ShoppingCartOrderedEvent:
    return ShoppingCartOrderedEvent(cart_id=f"cart-{order_id}", order_id=order_id, customer_id="c1", lines=LINES,
                                    total=2500, currency="EUR")


async def status_of(http: Any, order_id: str) -> str:
    """The order's status, or "" while it does not exist yet."""
    return str((await http.get(f"/orders/{order_id}")).json().get("status", ""))


async def test_order_goes_from_created_to_shipped(settings: Settings, clean_broker: None) -> None:
    async with running(declare(), settings) as order:
        nc = await broker(settings)
        announced = await collect(nc, "order.>")
        created = await order.http.post("/orders", json=new_order("o1"), headers=CART)
        assert created.status_code == 201 and created.json()["status"] == "created"
        again = await order.http.post("/orders", json=new_order("o1"), headers=CART)
        assert again.status_code == 200

        await publish_event(nc, cart_event("o1"))
        await eventually(lambda: [e for e in announced if e["type"] == "OrderProcessedEvent"])
        await publish_event(nc, PaymentProcessedEvent(order_id="o1", customer_id="c1", payment_id="pay_1",
                                                      amount=2500, currency="EUR", lines=LINES))
        await eventually(lambda: status_of(order.http, "o1"), message="paid")
        await publish_event(nc, ShippingProcessedEvent(order_id="o1", customer_id="c1", shipment_id="s1",
                                                       carrier="DHL", tracking_number="DHL123"))

        async def shipped() -> bool:
            return await status_of(order.http, "o1") == "shipped"
        await eventually(shipped, message="shipped")
        body = (await order.http.get("/orders/o1")).json()
        assert body["tracking_number"] == "DHL123"
        assert [t["event"] for t in body["timeline"]] == [
            "OrderCreated", "ShoppingCartOrderedEvent", "PaymentProcessedEvent", "ShippingProcessedEvent"
        ]
        assert body["lines"][0]["name"] == "Kettle"
        listed = (await order.http.get("/orders", params={"customer_id": "c1"})).json()
        assert listed["total"] == 1 and listed["items"][0]["id"] == "o1"
        await nc.close()


async def test_payment_failure_cancels_and_publishes_order_cancelled(settings: Settings, clean_broker: None) -> None:
    async with running(declare(), settings) as order:
        nc = await broker(settings)
        announced = await collect(nc, "order.>")
        await order.http.post("/orders", json=new_order("o2"), headers=CART)
        await publish_event(nc, cart_event("o2"))
        await eventually(lambda: [e for e in announced if e["type"] == "OrderProcessedEvent"])
        await publish_event(nc, PaymentFailedEvent(order_id="o2", customer_id="c1", amount=2500, currency="EUR",
                                                   reason="card_declined"))
        cancelled = await eventually(lambda: [e for e in announced if e["type"] == "OrderCancelledEvent"])
        assert cancelled[0]["data"]["reason"] == "card_declined"
        assert cancelled[0]["correlationid"] == "o2"
        body = (await order.http.get("/orders/o2")).json()
        assert (body["status"], body["reason"]) == ("cancelled", "card_declined")
        await nc.close()


async def test_a_payment_result_before_the_order_exists_is_retried_not_lost(
    settings: Settings, clean_broker: None
) -> None:
    async with running(declare(), settings) as order:
        nc = await broker(settings)
        await publish_event(nc, cart_event("o3"))  # no REST create: the event alone creates the order
        await publish_event(nc, PaymentProcessedEvent(order_id="o4", customer_id="c1", payment_id="pay_4",
                                                      amount=2500, currency="EUR", lines=LINES))
        await eventually(lambda: status_of(order.http, "o3"))
        assert (await order.http.get("/orders/o4")).status_code == 404
        await order.http.post("/orders", json=new_order("o4"), headers=CART)
        await publish_event(nc, cart_event("o4"))

        async def paid() -> bool:
            return await status_of(order.http, "o4") == "paid"
        await eventually(paid, message="early payment applied after the order appeared")
        await nc.close()


async def test_create_order_refuses_other_callers_and_bad_totals(settings: Settings, clean_broker: None) -> None:
    async with running(declare(), settings) as order:
        wrong_caller = await order.http.post("/orders", json=new_order("o5"),
                                             headers=as_service("payment", "order"))
        assert wrong_caller.status_code == 403
        bad = new_order("o6") | {"total": 1}
        response = await order.http.post("/orders", json=bad, headers=CART)
        assert response.status_code == 422 and response.json()["error"]["code"] == "total_mismatch"


async def test_orders_not_final_after_the_configured_age_are_listed_for_operators_and_counted_in_metrics(
    settings: Settings, clean_broker: None
) -> None:
    async with running(declare(), settings) as order:
        order.context.stuck_after_seconds = 0.5
        nc = await broker(settings)
        for order_id in ("stuck-1", "stuck-2", "done-1"):
            assert (await order.http.post("/orders", json=new_order(order_id), headers=CART)).status_code == 201
        await publish_event(nc, cart_event("stuck-2"))
        await publish_event(nc, cart_event("done-1"))
        await publish_event(nc, PaymentFailedEvent(order_id="done-1", customer_id="c1", amount=2500, currency="EUR",
                                                   reason="card_declined"))

        async def cancelled() -> bool:
            return await status_of(order.http, "done-1") == "cancelled"
        await eventually(cancelled, message="done-1 cancelled")
        assert (await order.anonymous.get("/operator/orders/stuck")).status_code == 401
        operator = as_operator("order")
        fresh = (await order.http.get("/operator/orders/stuck", params={"older_than": 3600}, headers=operator)).json()
        assert fresh["total"] == 0 and fresh["items"] == []

        async def stuck() -> Any:
            found = (await order.http.get("/operator/orders/stuck", headers=operator)).json()
            return found if found["total"] == 2 else None
        found = await eventually(stuck, message="two orders stuck")
        assert found["older_than"] == 0.5
        assert [(o["id"], o["status"]) for o in found["items"]] == [("stuck-1", "created"), ("stuck-2", "processing")]
        assert all(o["age_seconds"] >= 0.5 for o in found["items"])
        assert found["items"][1]["waiting_for"].startswith("PaymentProcessedEvent")
        metrics = (await order.http.get("/metrics")).text
        assert 'eventshop_orders_not_final{older_than="0.5"} 2.0' in metrics
        await nc.close()


async def test_the_operator_lists_every_customers_orders_by_status_and_age_and_customers_only_their_own(
    settings: Settings, clean_broker: None
) -> None:
    async with running(declare(), settings) as order:
        for order_id, owner in (("all-1", "c1"), ("all-2", "c2"), ("all-3", "c2")):
            created = await order.http.post("/orders", json=new_order(order_id) | {"customer_id": owner},
                                            headers=CART)
            assert created.status_code == 201
        nc = await broker(settings)
        await publish_event(nc, cart_event("all-3"))
        await eventually(lambda: status_of(order.http, "all-3"), message="all-3 processing")
        await nc.close()

        every = (await order.http.get("/orders")).json()
        assert (every["total"], [o["id"] for o in every["items"]]) == (3, ["all-3", "all-2", "all-1"])
        created = (await order.http.get("/orders", params={"status": "created"})).json()
        assert sorted(o["id"] for o in created["items"]) == ["all-1", "all-2"]
        of_c2 = (await order.http.get("/orders", params={"customer_id": "c2", "status": "processing"})).json()
        assert [o["id"] for o in of_c2["items"]] == ["all-3"]
        assert (await order.http.get("/orders", params={"older_than": 3600})).json()["total"] == 0

        customer = as_customer("c1")
        refused = await order.anonymous.get("/orders", headers=customer)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "operator_only"
        own = (await order.anonymous.get("/orders", params={"customer_id": "c1"}, headers=customer)).json()
        assert [o["id"] for o in own["items"]] == ["all-1"]
        assert (await order.anonymous.get("/orders", params={"customer_id": "c2"}, headers=customer)).status_code == 403
        assert (await order.http.get("/orders", params={"status": "lost"})).status_code == 422
        assert (await order.http.get("/orders", params={"older_than": 0})).status_code == 422


async def test_the_orders_stuck_command_finds_the_running_shops_order_service_and_lists_them(
    settings: Settings, clean_broker: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTSHOP_DEV_SECRETS", "true")  # the operator's key, as the service in here knows it
    async with running(declare(), settings) as order:
        assert (await order.http.post("/orders", json=new_order("stuck-cli"), headers=CART)).status_code == 201
        port = int(order.url.rsplit(":", 1)[1])
        (tmp_path / "up.json").write_text(json.dumps({"pid": os.getpid(), "port_base": port - 5, "processes": [],
                                                      "urls": {"order": order.url}}))
        listed = await asyncio.to_thread(CliRunner().invoke, app,
                                         ["orders", "stuck", "--older-than", "0.01", "--data-dir", str(tmp_path)])
        assert listed.exit_code == 1, listed.output  # non-zero: there are stuck orders
        assert "stuck-cli" in listed.output and "created" in listed.output
        as_json = await asyncio.to_thread(CliRunner().invoke, app, ["orders", "stuck", "--older-than", "3600",
                                                                    "--data-dir", str(tmp_path), "--json"])
        assert as_json.exit_code == 0 and json.loads(as_json.output)["items"] == []
    down = await asyncio.to_thread(CliRunner().invoke, app, ["orders", "stuck", "--data-dir", str(tmp_path)])
    assert down.exit_code == 2 and "cannot reach the Order service" in down.output
