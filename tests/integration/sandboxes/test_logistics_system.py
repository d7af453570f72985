"""The Logistics System sandbox and the Shipping service's adapter against it."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from eventshop.sandboxes.faults import FaultConfig
from eventshop.sandboxes.logistics_system.app import create_app
from eventshop.services.shipping.logistics_system import (
    LogisticsSystemClient,
    LogisticsSystemError,
    LogisticsSystemUnavailable,
    ShipmentRefused,
)
from tests.conftest import eventually
from tests.integration.sandboxes.conftest import OPERATOR_KEY, Sandbox, serving, unique

BERLIN = {"name": "Ada", "street": "Invalidenstr. 1", "city": "Berlin", "postcode": "10115", "country": "DE"}
ITEMS = [{"sku": "KETTLE", "quantity": 1}]


def shipment(**changes: Any) -> dict[str, Any]:
    return {"reference": unique("order"), "recipient": BERLIN, "items": ITEMS, "weight_grams": 900} | changes

TRACKING_STYLES = {"DHL": r"JJD\d{18}", "UPS": r"1Z[A-Z0-9]{6}03\d{8}", "DPD": r"\d{14}", "FedEx": r"\d{12}"}


def client(sandbox: Sandbox, attempts: int = 3) -> LogisticsSystemClient:
    return LogisticsSystemClient(sandbox.url, attempts=attempts, retry_pause=0.05)


@pytest.mark.asyncio
async def test_a_shipment_is_created_once_per_reference(logistics_system: Sandbox) -> None:
    http, body = logistics_system.http, shipment()
    first = await http.post("/v1/shipments", json=body)
    again = await http.post("/v1/shipments", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and first.json()["status"] == "label_created"
    [found] = (await http.get("/v1/shipments", params={"reference": body["reference"]})).json()
    assert found["id"] == first.json()["id"]


@pytest.mark.asyncio
@pytest.mark.parametrize("carrier", list(TRACKING_STYLES))
async def test_tracking_numbers_look_like_the_carriers(logistics_system: Sandbox, carrier: str) -> None:
    response = await logistics_system.http.post("/v1/shipments", json=shipment(carrier=carrier))
    assert re.fullmatch(TRACKING_STYLES[carrier], response.json()["tracking_number"])


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("change", "code"),
    [({"postcode": "00000"}, "undeliverable_address"), ({"postcode": "99999"}, "address_not_found"),
     ({"country": "AQ"}, "country_not_served")],
)
async def test_undeliverable_addresses_are_refused_with_a_reason(
    logistics_system: Sandbox, change: dict[str, str], code: str
) -> None:
    response = await logistics_system.http.post("/v1/shipments", json=shipment(recipient=BERLIN | change))
    assert response.status_code == 422 and response.json()["error"]["code"] == code
    async with client(logistics_system) as logistics:
        with pytest.raises(ShipmentRefused) as refused:
            await logistics.create_shipment(reference=unique("order"), recipient=BERLIN | change, items=ITEMS,
                                            weight_grams=5)
    assert refused.value.code == code and refused.value.message


@pytest.mark.asyncio
async def test_missing_fields_are_refused_naming_the_field(logistics_system: Sandbox) -> None:
    recipient = {k: v for k, v in BERLIN.items() if k != "postcode"}
    response = await logistics_system.http.post("/v1/shipments", json=shipment(recipient=recipient))
    assert response.status_code == 422 and "recipient.postcode" in response.json()["error"]["message"]
    unknown = await logistics_system.http.post("/v1/shipments", json=shipment(carrier="Pigeon"))
    assert unknown.status_code == 422 and "carrier" in unknown.json()["error"]["message"]


@pytest.mark.asyncio
async def test_tracking_advances_over_time_with_a_history(logistics_system: Sandbox) -> None:
    async with client(logistics_system) as logistics:
        booked = await logistics.create_shipment(reference=unique("order"), recipient=BERLIN, items=ITEMS,
                                                 weight_grams=5)
        assert booked.tracking_number.startswith("JJD") and booked.status == "label_created"

        async def delivered() -> bool:
            tracking = await logistics.tracking(booked.tracking_number)
            return tracking is not None and tracking["status"] == "delivered"

        await eventually(delivered, timeout=5, message="delivery")
        tracking = await logistics.tracking(booked.tracking_number)
        assert tracking is not None
        assert [h["status"] for h in tracking["history"]] == ["label_created", "in_transit", "out_for_delivery",
                                                              "delivered"]
        by_id = await logistics_system.http.get(f"/v1/shipments/{booked.shipment_id}")
        assert by_id.json()["status"] == "delivered" and by_id.json()["tracking_number"] == booked.tracking_number
        assert await logistics.tracking("JJD000") is None


@pytest.mark.asyncio
async def test_the_adapter_is_idempotent_per_reference(logistics_system: Sandbox) -> None:
    async with client(logistics_system) as logistics:
        order = unique("order")
        first = await logistics.create_shipment(reference=order, recipient=BERLIN, items=ITEMS, weight_grams=5)
        again = await logistics.create_shipment(reference=order, recipient=BERLIN, items=ITEMS, weight_grams=5)
        ups = await logistics.create_shipment(reference=unique("order"), recipient=BERLIN, items=ITEMS, weight_grams=5,
                                              carrier="UPS")
    assert first == again and ups.tracking_number.startswith("1Z") and ups.carrier == "UPS"


@pytest.mark.asyncio
async def test_an_outage_is_unavailable_and_latency_is_added_at_run_time(tmp_path: Path) -> None:
    async with serving(create_app(tmp_path, FaultConfig(outage=True), operator_key=OPERATOR_KEY)) as sandbox, \
            client(sandbox, 2) as logistics:
        outage = await sandbox.http.post("/v1/shipments", json=shipment())
        assert outage.status_code == 503 and outage.json()["error"]["code"] == "outage"
        with pytest.raises(LogisticsSystemUnavailable):
            await logistics.create_shipment(reference="o", recipient=BERLIN, items=ITEMS, weight_grams=5)
        await sandbox.set_faults(latency_ms=300)
        started = asyncio.get_running_loop().time()
        await logistics.create_shipment(reference="o", recipient=BERLIN, items=ITEMS, weight_grams=5)
        assert asyncio.get_running_loop().time() - started >= 0.3


@pytest.mark.asyncio
async def test_a_rejected_api_key_is_not_a_refused_parcel(tmp_path: Path) -> None:
    async with serving(create_app(tmp_path, FaultConfig(), api_key="lk_1")) as sandbox:
        async with LogisticsSystemClient(sandbox.url, api_key="wrong") as logistics:
            with pytest.raises(LogisticsSystemError) as rejected:
                await logistics.create_shipment(reference="o", recipient=BERLIN, items=ITEMS, weight_grams=5)
        assert not isinstance(rejected.value, ShipmentRefused) and rejected.value.code == "invalid_api_key"
        async with LogisticsSystemClient(sandbox.url, api_key="lk_1") as logistics:
            assert (await logistics.create_shipment(reference="o", recipient=BERLIN, items=ITEMS, weight_grams=5))
