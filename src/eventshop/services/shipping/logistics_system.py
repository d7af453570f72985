"""Adapter to the Logistics System ("Ship Order"): creation is idempotent per order, so it is retried."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class ShipmentResult:
    shipment_id: str
    carrier: str
    tracking_number: str
    status: str


class ShipmentRefused(Exception):
    """The Logistics System will not ship this parcel (e.g. undeliverable address)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class LogisticsSystemUnavailable(Exception):
    """No answer (or only server errors) within the bounded retries."""


class LogisticsSystemClient:
    def __init__(self, base_url: str, *, api_key: str | None = None, timeout: float = 5.0, attempts: int = 3) -> None:
        key = api_key or os.environ.get("EVENTSHOP_LOGISTICS_SYSTEM_API_KEY")
        self.http = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout, connect=1.0),
            headers={"Authorization": f"Bearer {key}"} if key else {},
        )
        self.attempts = attempts

    async def create_shipment(
        self,
        *,
        reference: str,
        recipient: dict[str, str],
        items: list[dict[str, Any]],
        weight_grams: int,
        carrier: str = "DHL",
    ) -> ShipmentResult:
        body = {"reference": reference, "carrier": carrier, "recipient": recipient, "items": items,
                "weight_grams": weight_grams}
        found = await self._call("POST", "/v1/shipments", json=body)
        return ShipmentResult(found["id"], found["carrier"], found["tracking_number"], found["status"])

    async def tracking(self, tracking_number: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", f"/v1/tracking/{tracking_number}")
        return result

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        for attempt in range(self.attempts):
            try:
                response = await self.http.request(method, path, **kwargs)
            except httpx.TransportError:
                await asyncio.sleep(min(0.2 * 2**attempt, 2.0))
                continue
            if response.status_code >= 500 or response.status_code == 429:
                await asyncio.sleep(min(0.2 * 2**attempt, 2.0))
                continue
            if response.status_code >= 400:
                try:
                    error = response.json()["error"]
                    raise ShipmentRefused(str(error["code"]), str(error["message"]))
                except (ValueError, KeyError, TypeError):
                    raise ShipmentRefused(f"http_{response.status_code}", response.text[:200]) from None
            return response.json()
        raise LogisticsSystemUnavailable(f"no answer from the Logistics System for {method} {path}")

    async def aclose(self) -> None:
        await self.http.aclose()
