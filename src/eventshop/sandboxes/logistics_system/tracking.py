"""Carrier-style tracking numbers, and a shipment's status and history derived from the time since creation."""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime, timedelta
from typing import Any

STEPS = (
    ("label_created", "Shipment information received, label created"),
    ("in_transit", "Parcel in transit to the destination parcel center"),
    ("out_for_delivery", "Parcel loaded onto the delivery vehicle"),
    ("delivered", "Parcel delivered"),
)


def tracking_number(carrier: str) -> str:
    digits = "".join(random.choices(string.digits, k=20))
    if carrier == "UPS":  # 1Z, shipper number, service code, package number: 18 characters
        shipper = "".join(random.choices(string.ascii_uppercase + string.digits, k=6))
        return f"1Z{shipper}03{digits[:8]}"
    if carrier == "FedEx":
        return digits[:12]
    if carrier == "DPD":
        return digits[:14]
    return f"JJD{digits[:18]}"  # DHL parcel style


def progress(shipment: dict[str, Any], step_seconds: float, at: datetime | None = None) -> dict[str, Any]:
    """The shipment as of `at` (now): one step further every `step_seconds`, with the steps so far."""
    created = datetime.fromisoformat(shipment["created"])
    elapsed = ((at or datetime.now(UTC)) - created).total_seconds()
    steps = int(elapsed // step_seconds) if step_seconds > 0 else 0
    reached = STEPS[: max(0, min(steps, len(STEPS) - 1)) + 1]
    city = shipment["recipient"]["city"]
    history = [
        {"status": status, "description": description,
         "location": "sender" if index == 0 else (city if index >= 2 else "parcel center"),
         "at": (created + timedelta(seconds=index * step_seconds)).isoformat()}
        for index, (status, description) in enumerate(reached)
    ]
    expected = created + timedelta(seconds=(len(STEPS) - 1) * step_seconds)
    return shipment | {"status": reached[-1][0], "history": history, "estimated_delivery": expected.isoformat()}
