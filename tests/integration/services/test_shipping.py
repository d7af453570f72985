"""Shipping with the real Logistics System sandbox: ship once, refuse with a reason, never ship a failed order."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from fastapi import FastAPI

from eventshop.contracts.events import PaymentFailedEvent, PaymentProcessedEvent
from eventshop.contracts.values import OrderLine
from eventshop.platform.embedded_nats import free_port
from eventshop.platform.serving import serve_app
from eventshop.platform.settings import Settings
from eventshop.sandboxes.logistics_system.app import create_app as logistics_system
from eventshop.services.shipping.service import declare as shipping
from tests.conftest import eventually, running, serving
from tests.integration.publishing import broker, collect, publish

LINES = [OrderLine(product_id="p1", sku="P1", name="Kettle", quantity=2, unit_price=4990, currency="EUR")]


def stand_in_account(postcodes: dict[str, str]) -> FastAPI:
    app = FastAPI()

    @app.get("/internal/accounts/{account_id}/address")
    async def address(account_id: str) -> dict[str, object]:
        return {"account_id": account_id, "name": "Ada", "address": {
            "street": "A 1", "city": "Berlin", "postcode": postcodes[account_id], "country": "DE"}}

    return app


def paid(order_id: str, customer: str) -> PaymentProcessedEvent:
    return PaymentProcessedEvent(order_id=order_id, customer_id=customer, payment_id="pay", amount=9980,
                                 currency="EUR", lines=LINES)


async def test_a_paid_order_ships_once_and_an_undeliverable_one_fails_with_the_reason(
    settings: Settings, clean_broker: None, tmp_path: Path
) -> None:
    postcodes = {"c1": "10115", "c2": "00000"}
    async with serving(logistics_system(tmp_path / "ls")) as logistics, \
            serving(stand_in_account(postcodes)) as account:
        settings.service_urls.update({"logistics-system": logistics, "account": account})
        async with running(shipping(), settings) as service:
            nc = await broker(settings)
            results = await collect(nc, "shipping.>")
            event_id = await publish(nc, paid("o1", "c1"))
            await publish(nc, paid("o1", "c1"), event_id=event_id, copy=1)
            await publish(nc, paid("o2", "c2"))
            found = await eventually(lambda: len(results) >= 2 and results, message="two outcomes")
            by_type = {e["type"]: e["data"] for e in found}
            assert by_type["ShippingProcessedEvent"]["tracking_number"].startswith("JJD")
            assert by_type["ShippingFailedEvent"]["reason"] == "undeliverable_address"
            await asyncio.sleep(0.5)
            assert len(results) == 2
            view = (await service.http.get("/shipments/o1")).json()
            assert view["status"] == "created" and view["tracking"]["status"] == "label_created"
            async with httpx.AsyncClient() as http:
                assert len((await http.get(f"{logistics}/v1/shipments")).json()) == 1
            await nc.close()


async def test_a_late_payment_success_never_ships_an_order_whose_payment_failed(
    settings: Settings, clean_broker: None, tmp_path: Path
) -> None:
    async with serving(logistics_system(tmp_path / "ls")) as logistics, \
            serving(stand_in_account({"c3": "10115"})) as account:
        settings.service_urls.update({"logistics-system": logistics, "account": account})
        async with running(shipping(), settings) as service:
            nc = await broker(settings)
            await publish(nc, PaymentFailedEvent(order_id="o3", customer_id="c3", amount=1, currency="EUR",
                                                 reason="card_declined"))
            await eventually(lambda: _status(service.http, "o3", "cancelled"), message="cancelled record")
            await publish(nc, paid("o3", "c3"))
            await asyncio.sleep(1.0)
            assert await _status(service.http, "o3", "cancelled")
            await nc.close()


async def test_logistics_down_is_retried_and_ships_when_it_returns(
    settings: Settings, clean_broker: None, tmp_path: Path
) -> None:
    port = free_port()
    settings.service_urls["logistics-system"] = f"http://127.0.0.1:{port}"
    async with serving(stand_in_account({"c4": "10115"})) as account:
        settings.service_urls["account"] = account
        async with running(shipping(), settings) as service:
            nc = await broker(settings)
            await publish(nc, paid("o4", "c4"))
            await asyncio.sleep(1.0)
            assert (await service.http.get("/shipments/o4")).status_code == 404
            stop = asyncio.Event()
            task = asyncio.create_task(serve_app(logistics_system(tmp_path / "ls"), "127.0.0.1", port, stop))
            await eventually(lambda: _status(service.http, "o4", "created"), timeout=20, message="shipped")
            stop.set()
            await task
            await nc.close()


async def _status(http: httpx.AsyncClient, order_id: str, status: str) -> bool:
    response = await http.get(f"/shipments/{order_id}")
    return response.status_code == 200 and response.json()["status"] == status
