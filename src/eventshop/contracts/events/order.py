"""Order Topic events."""

from __future__ import annotations

from eventshop.contracts.envelope import Event
from eventshop.contracts.values import OrderLine


class OrderProcessedEvent(Event):
    """The order is accepted and its lines must now be reserved."""

    topic = "order"

    order_id: str
    customer_id: str
    lines: list[OrderLine]
    total: int
    currency: str


class OrderCancelledEvent(Event):
    """The order will not be fulfilled; any reservation must be released."""

    topic = "order"

    order_id: str
    customer_id: str
    reason: str
    lines: list[OrderLine]
    total: int
    currency: str
