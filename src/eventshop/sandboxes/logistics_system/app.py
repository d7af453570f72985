"""The Logistics System sandbox's HTTP API: create shipments and track them as they advance over time.

Test addresses: postcode 00000 is refused (422 undeliverable_address), postcode 99999 is unknown (422
address_not_found), a country outside SERVED_COUNTRIES is refused (422 country_not_served).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from eventshop.contracts.values import WholeNumber
from eventshop.platform.settings import float_from_env
from eventshop.sandboxes.errors import sandbox_error
from eventshop.sandboxes.faults import FaultConfig
from eventshop.sandboxes.logistics_system.store import ShipmentStore
from eventshop.sandboxes.logistics_system.tracking import progress, tracking_number
from eventshop.sandboxes.operator import OperatorKey
from eventshop.sandboxes.sandbox_app import new_sandbox_app

STEP_SECONDS_ENV = "EVENTSHOP_LOGISTICS_SYSTEM_STEP_SECONDS"
SERVED_COUNTRIES = frozenset(
    {"DE", "AT", "CH", "FR", "NL", "BE", "LU", "DK", "PL", "CZ", "IT", "ES", "PT", "SE", "GB", "IE", "US"}
)
REFUSED_POSTCODES = {
    "00000": ("undeliverable_address", "no delivery to this postcode"),
    "99999": ("address_not_found", "the address could not be found"),
}
Carrier = Literal["DHL", "UPS", "DPD", "FedEx"]

DESCRIPTION = """Shipments with carrier tracking numbers. Creation is idempotent per `reference` (the shop's
order id). Refused test addresses: postcode 00000 (undeliverable_address), 99999 (address_not_found),
countries outside the served list (country_not_served)."""


class Recipient(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    street: str = Field(min_length=1, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postcode: str = Field(min_length=1, max_length=20)
    country: str = Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2")


class Item(BaseModel):
    sku: str = Field(min_length=1, max_length=100)
    quantity: WholeNumber = Field(gt=0, le=1_000_000)


class ShipmentRequest(BaseModel):
    reference: str = Field(min_length=1, max_length=100, description="the shop's order id; one shipment each")
    carrier: Carrier = "DHL"
    recipient: Recipient
    items: list[Item] = Field(min_length=1)
    weight_grams: WholeNumber = Field(gt=0, le=1_000_000)


def refusal(request: ShipmentRequest) -> JSONResponse | None:
    country = request.recipient.country.upper()
    if country not in SERVED_COUNTRIES:
        served = ", ".join(sorted(SERVED_COUNTRIES))
        message = f"{request.carrier} does not deliver to {country}; served: {served}"
        return sandbox_error(422, "country_not_served", message)
    if request.recipient.postcode.strip() in REFUSED_POSTCODES:
        code, message = REFUSED_POSTCODES[request.recipient.postcode.strip()]
        return sandbox_error(422, code, message)
    return None


def create_app(data_dir: Path, faults: FaultConfig | None = None, *, step_seconds: float | None = None,
               api_key: str | None = None, operator_key: str | None = None) -> FastAPI:
    """`step_seconds`: time per tracking step (default EVENTSHOP_LOGISTICS_SYSTEM_STEP_SECONDS or 20);
    `operator_key`: who may switch faults at run time."""
    step = step_seconds if step_seconds is not None else float_from_env(STEP_SECONDS_ENV, 20)
    store = ShipmentStore(data_dir / "logistics-system.sqlite3")
    app = new_sandbox_app("logistics-system", "Logistics System (sandbox)", DESCRIPTION,
                          faults or FaultConfig.from_env("logistics-system"), ("/v1/",),
                          api_key=api_key, operator_key=OperatorKey("logistics-system", operator_key),
                          on_close=store.close)

    def found(shipment: dict[str, Any] | None, what: str) -> JSONResponse:
        if shipment is None:
            return sandbox_error(404, "shipment_not_found", f"no shipment with {what}")
        return JSONResponse(progress(shipment, step))

    @app.post("/v1/shipments", tags=["shipments"], status_code=201,
              responses={200: {"description": "The same reference again: the existing shipment"}})
    async def create_shipment(body: ShipmentRequest) -> JSONResponse:
        """201 with a tracking number; the same reference again answers the existing shipment with 200."""
        existing = store.by_reference(body.reference)
        if existing is not None:
            return JSONResponse(progress(existing, step), status_code=200)
        refused = refusal(body)
        if refused is not None:
            return refused
        shipment: dict[str, Any] = {
            "id": f"shp_{uuid.uuid4().hex[:20]}", "object": "shipment", "reference": body.reference,
            "carrier": body.carrier, "tracking_number": tracking_number(body.carrier),
            "recipient": body.recipient.model_dump() | {"country": body.recipient.country.upper()},
            "items": [item.model_dump() for item in body.items], "weight_grams": body.weight_grams,
            "created": datetime.now(UTC).isoformat(),
        }
        stored = store.add(shipment)
        return JSONResponse(progress(stored, step), status_code=201 if stored is shipment else 200)

    @app.get("/v1/shipments", tags=["shipments"])
    async def find_shipments(
        reference: Annotated[str | None, Query(description="the shop's order id")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[dict[str, Any]]:
        """Newest first, or the one shipment for `reference`."""
        if reference is not None:
            shipment = store.by_reference(reference)
            return [progress(shipment, step)] if shipment else []
        return [progress(s, step) for s in store.newest(limit)]

    @app.get("/v1/shipments/{shipment_id}", tags=["shipments"])
    async def get_shipment(shipment_id: str) -> JSONResponse:
        return found(store.by_id(shipment_id), f"id {shipment_id}")

    @app.get("/v1/tracking/{number}", tags=["tracking"])
    async def track(number: str) -> JSONResponse:
        """Status (label_created, in_transit, out_for_delivery, delivered) and the history so far."""
        return found(store.by_tracking_number(number), f"tracking number {number}")

    return app
