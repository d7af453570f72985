"""Shipping Topic events."""

from __future__ import annotations

from eventshop.contracts.envelope import Event


class ShippingProcessedEvent(Event):
    """A shipment was created at the Logistics System."""

    topic = "shipping"

    order_id: str
    customer_id: str
    shipment_id: str
    carrier: str
    tracking_number: str


class ShippingFailedEvent(Event):
    """The order cannot be shipped; it must be refunded and cancelled."""

    topic = "shipping"

    order_id: str
    customer_id: str
    reason: str
    message: str = ""
