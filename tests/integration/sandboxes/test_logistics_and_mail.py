"""The Logistics System and mail catcher sandboxes, and the adapters Shipping and Notification use."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from eventshop.sandboxes.faults import FaultConfig
from eventshop.sandboxes.logistics_system.app import create_app as logistics_app
from eventshop.services.notification.email_sender import EmailNotSent, EmailSender, SmtpSettings
from eventshop.services.shipping.logistics_system import (
    LogisticsSystemClient,
    LogisticsSystemUnavailable,
    ShipmentRefused,
)
from tests.conftest import eventually
from tests.integration.sandboxes.conftest import mail_catcher, serving

BERLIN = {"name": "Ada", "street": "Invalidenstr. 1", "city": "Berlin", "postcode": "10115", "country": "DE"}
ITEMS = [{"sku": "KETTLE", "quantity": 1}]


async def test_a_shipment_is_created_once_per_reference_with_a_tracking_number(tmp_path: Path) -> None:
    async with serving(logistics_app(tmp_path)) as url:
        client = LogisticsSystemClient(url)
        first = await client.create_shipment(reference="o1", recipient=BERLIN, items=ITEMS, weight_grams=500)
        again = await client.create_shipment(reference="o1", recipient=BERLIN, items=ITEMS, weight_grams=500)
        assert first.tracking_number.startswith("JJD") and first == again
        ups = await client.create_shipment(reference="o2", recipient=BERLIN, items=ITEMS, weight_grams=1, carrier="UPS")
        assert ups.tracking_number.startswith("1Z")
        await client.aclose()


@pytest.mark.parametrize(
    ("change", "code"),
    [({"postcode": "00000"}, "undeliverable_address"), ({"postcode": "99999"}, "address_not_found"),
     ({"country": "AQ"}, "country_not_served")],
)
async def test_undeliverable_addresses_are_refused_with_a_reason(tmp_path: Path, change: dict[str, str],
                                                                 code: str) -> None:
    async with serving(logistics_app(tmp_path)) as url:
        client = LogisticsSystemClient(url)
        with pytest.raises(ShipmentRefused) as refused:
            await client.create_shipment(reference="o", recipient=BERLIN | change, items=ITEMS, weight_grams=5)
        assert refused.value.code == code
        await client.aclose()


async def test_tracking_advances_over_time(tmp_path: Path) -> None:
    async with serving(logistics_app(tmp_path, step_seconds=0.3)) as url:
        client = LogisticsSystemClient(url)
        shipment = await client.create_shipment(reference="o", recipient=BERLIN, items=ITEMS, weight_grams=5)
        assert (await client.tracking(shipment.tracking_number))["status"] == "label_created"

        async def delivered() -> bool:
            return (await client.tracking(shipment.tracking_number))["status"] == "delivered"

        await eventually(delivered, timeout=5, message="delivered")
        history = (await client.tracking(shipment.tracking_number))["history"]
        assert [h["status"] for h in history] == ["label_created", "in_transit", "out_for_delivery", "delivered"]
        await client.aclose()


async def test_logistics_outage_is_unavailable_and_latency_is_added(tmp_path: Path) -> None:
    async with serving(logistics_app(tmp_path, FaultConfig(outage=True))) as url:
        client = LogisticsSystemClient(url, attempts=2)
        with pytest.raises(LogisticsSystemUnavailable):
            await client.create_shipment(reference="o", recipient=BERLIN, items=ITEMS, weight_grams=5)
        async with httpx.AsyncClient(base_url=url) as http:
            await http.put("/admin/faults", json={"outage": False, "latency_ms": 300})
        started = asyncio.get_running_loop().time()
        await client.create_shipment(reference="o", recipient=BERLIN, items=ITEMS, weight_grams=5)
        assert asyncio.get_running_loop().time() - started >= 0.3
        await client.aclose()


async def test_mail_sent_over_smtp_shows_in_the_api_and_the_web_inbox(tmp_path: Path) -> None:
    async with mail_catcher(tmp_path) as (url, smtp_port):
        sender = EmailSender(SmtpSettings(host="127.0.0.1", port=smtp_port))
        await sender.send("ada@example.com", "Your order is on its way", "Tracking JJD1", "<p>Tracking <b>JJD1</b></p>")
        async with httpx.AsyncClient(base_url=url) as http:
            [message] = (await http.get("/api/messages", params={"to": "ada@"})).json()
            assert message["subject"] == "Your order is on its way"
            assert "JJD1" in message["text"] and "<b>JJD1</b>" in message["html"]
            assert (await http.get("/api/messages", params={"to": "bob@"})).json() == []
            inbox = await http.get("/", params={"to": "ada"})
            assert "Your order is on its way" in inbox.text
            page = await http.get(f"/messages/{message['id']}")
            assert "Tracking JJD1" in page.text
            assert "<b>JJD1</b>" in (await http.get(f"/messages/{message['id']}/html")).text
            await http.delete("/api/messages")
            assert (await http.get("/api/messages")).json() == []


async def test_smtp_outage_is_a_clear_error_for_the_sender(tmp_path: Path) -> None:
    async with mail_catcher(tmp_path) as (url, smtp_port):
        async with httpx.AsyncClient(base_url=url) as http:
            await http.put("/admin/faults", json={"outage": True})
        sender = EmailSender(SmtpSettings(host="127.0.0.1", port=smtp_port))
        with pytest.raises(EmailNotSent):
            await sender.send("ada@example.com", "s", "t", "<p>h</p>")
    nobody = EmailSender(SmtpSettings(host="127.0.0.1", port=1, timeout=1))
    with pytest.raises(EmailNotSent):
        await nobody.send("ada@example.com", "s", "t", "<p>h</p>")
