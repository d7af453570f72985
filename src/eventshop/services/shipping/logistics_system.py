"""Adapter to the Logistics System ("Ship Order"): creation is idempotent per order, so it is retried."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eventshop.platform.http import Answer, ExternalSystemClient, ExternalSystemError, NoAnswer, url_path

log = logging.getLogger(__name__)
# Answers about the parcel itself (its address, its contents); anything else is not the parcel's fault.
REFUSAL_STATUSES = frozenset({400, 422})


@dataclass(frozen=True)
class ShipmentResult:
    shipment_id: str
    carrier: str
    tracking_number: str
    status: str


class LogisticsSystemError(ExternalSystemError):
    """The Logistics System rejected a request for a reason retrying will not change (e.g. a bad API key)."""


class ShipmentRefused(LogisticsSystemError):
    """The Logistics System will not ship this parcel: `code` says why (undeliverable_address, ...)."""


class LogisticsSystemUnavailable(Exception):
    """No answer (or only server errors) within the bounded retries."""


class LogisticsSystemClient(ExternalSystemClient):
    api_key_env = "EVENTSHOP_LOGISTICS_SYSTEM_API_KEY"
    system = "logistics_system"

    async def create_shipment(
        self,
        *,
        reference: str,
        recipient: Mapping[str, str],
        items: Sequence[Mapping[str, Any]],
        weight_grams: int,
        carrier: str = "DHL",
    ) -> ShipmentResult:
        """Book the parcel for `reference` (the order id); asking again answers the same shipment.

        `recipient` has name, street, city, postcode, country (ISO 3166 alpha-2); `items` have sku and quantity.
        Raises ShipmentRefused for a parcel that cannot be shipped, LogisticsSystemUnavailable when unreachable.
        """
        body = {"reference": reference, "carrier": carrier, "recipient": dict(recipient),
                "items": [dict(item) for item in items], "weight_grams": weight_grams}
        response = await self._request("create_shipment", "POST", "/v1/shipments", json=body)
        if response.status in REFUSAL_STATUSES:
            raise ShipmentRefused.of(response)
        found = _json(response)
        return ShipmentResult(found["id"], found["carrier"], found["tracking_number"], found["status"])

    async def tracking(self, tracking_number: str) -> dict[str, Any] | None:
        """Status, history and estimated delivery; None for a tracking number the system does not know."""
        response = await self._request("tracking", "GET", url_path("v1", "tracking", tracking_number))
        if response.status == 404:
            return None
        found: dict[str, Any] = _json(response)
        return found

    async def _request(self, operation: str, method: str, path: str, **kwargs: Any) -> Answer:
        """Retry timeouts, connection failures and 5xx: every call here is safe to repeat."""
        for attempt in range(self.attempts):
            if attempt:
                await self.pause(attempt)
            try:
                response = await self.call(operation, method, path, **kwargs)
            except NoAnswer as exc:
                log.warning("logistics system: %s %s failed (%s)", method, path, type(exc).__name__)
                continue
            if response.status >= 500 or response.status == 429:
                log.warning("logistics system: %s %s answered %s", method, path, response.status)
                continue
            return response
        raise LogisticsSystemUnavailable(f"no answer from the Logistics System for {method} {path} "
                                         f"after {self.attempts} tries")



def _json(response: Answer) -> Any:
    """The body of a successful answer; any other answer is a LogisticsSystemError."""
    if response.status >= 400:
        raise LogisticsSystemError.of(response)
    return response.json()
