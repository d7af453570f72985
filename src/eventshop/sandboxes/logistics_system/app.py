"""The Logistics System sandbox's HTTP API: create shipments and track them as they advance over time.

Test postcodes: 00000 is refused (undeliverable_address), 99999 is unknown (address_not_found);
countries outside SERVED_COUNTRIES are refused (country_not_served).
"""

from __future__ import annotations

import os
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from eventshop.sandboxes.faults import FaultConfig, install_faults, sandbox_error
from eventshop.sandboxes.store import Store

SERVED_COUNTRIES = {"DE", "AT", "CH", "FR", "NL", "BE", "LU", "DK", "PL", "CZ", "IT", "ES", "GB", "IE", "US"}
REFUSED_POSTCODES = {
    "00000": ("undeliverable_address", "no delivery to this postcode"),
    "99999": ("address_not_found", "the address could not be found"),
}
STATUSES = ("label_created", "in_transit", "out_for_delivery", "delivered")
Carrier = Literal["DHL", "UPS", "DPD", "FedEx"]


class Recipient(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    street: str = Field(min_length=1, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postcode: str = Field(min_length=1, max_length=20)
    country: str = Field(min_length=2, max_length=2)


class Item(BaseModel):
    sku: str
    quantity: int = Field(gt=0)


class ShipmentRequest(BaseModel):
    reference: str = Field(min_length=1, max_length=100)
    carrier: Carrier = "DHL"
    recipient: Recipient
    items: list[Item] = Field(min_length=1)
    weight_grams: int = Field(gt=0)


def tracking_number(carrier: str) -> str:
    digits = "".join(random.choices("0123456789", k=12))
    return {"UPS": f"1Z{digits[:6]}{digits}", "FedEx": digits, "DPD": f"0{digits}"}.get(carrier, f"JJD{digits}")


def progress(shipment: dict[str, Any], step_seconds: float) -> dict[str, Any]:
    """Status and history as of now: one step further every `step_seconds`."""
    created = datetime.fromisoformat(shipment["created"])
    steps = int((datetime.now(UTC) - created).total_seconds() // step_seconds) if step_seconds > 0 else 0
    reached = STATUSES[: min(steps, len(STATUSES) - 1) + 1]
    history = [{"status": s, "at": (created + timedelta(seconds=i * step_seconds)).isoformat()}
               for i, s in enumerate(reached)]
    return shipment | {"status": reached[-1], "history": history}


def create_app(data_dir: Path, faults: FaultConfig | None = None, step_seconds: float | None = None) -> FastAPI:
    step = step_seconds if step_seconds is not None else float(
        os.environ.get("EVENTSHOP_LOGISTICS_SYSTEM_STEP_SECONDS", "20")
    )
    store = Store(data_dir / "logistics-system.sqlite3")
    app = FastAPI(title="Logistics System (sandbox)", version="1")
    install_faults(app, faults or FaultConfig.from_env("logistics-system"))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        message = "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in exc.errors())
        return sandbox_error(422, "invalid_request", message)

    @app.post("/v1/shipments")
    async def create_shipment(body: ShipmentRequest) -> JSONResponse:
        existing = store.get("shipment", body.reference)
        if existing is not None:
            return JSONResponse(progress(existing, step), status_code=200)
        country = body.recipient.country.upper()
        if country not in SERVED_COUNTRIES:
            return sandbox_error(422, "country_not_served", f"{body.carrier} does not deliver to {country} here")
        if body.recipient.postcode in REFUSED_POSTCODES:
            code, message = REFUSED_POSTCODES[body.recipient.postcode]
            return sandbox_error(422, code, message)
        shipment_id, number = f"shp_{uuid.uuid4().hex[:16]}", tracking_number(body.carrier)
        shipment: dict[str, Any] = {
            "id": shipment_id,
            "reference": body.reference,
            "carrier": body.carrier,
            "tracking_number": number,
            "recipient": body.recipient.model_dump(),
            "items": [i.model_dump() for i in body.items],
            "weight_grams": body.weight_grams,
            "created": datetime.now(UTC).isoformat(),
        }
        store.put("shipment", body.reference, shipment)
        store.put("tracking", number, {"reference": body.reference})
        store.put("by_id", shipment_id, {"reference": body.reference})
        return JSONResponse(progress(shipment, step), status_code=201)

    def lookup(kind: str, key: str) -> dict[str, Any] | None:
        pointer = store.get(kind, key)
        return store.get("shipment", pointer["reference"]) if pointer else None

    @app.get("/v1/shipments/{shipment_id}")
    async def get_shipment(shipment_id: str) -> JSONResponse:
        found = lookup("by_id", shipment_id)
        if found is None:
            return sandbox_error(404, "shipment_not_found", f"no shipment {shipment_id}")
        return JSONResponse(progress(found, step))

    @app.get("/v1/tracking/{number}")
    async def track(number: str) -> JSONResponse:
        found = lookup("tracking", number)
        if found is None:
            return sandbox_error(404, "tracking_not_found", f"no shipment with tracking number {number}")
        return JSONResponse(progress(found, step))

    @app.get("/v1/shipments")
    async def list_shipments() -> list[dict[str, Any]]:
        return [progress(s, step) for s in store.all("shipment")]

    return app
