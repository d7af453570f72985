"""Inventory Topic events. They carry the order's amount so Payment can act on them alone."""

from __future__ import annotations

from eventshop.contracts.envelope import Event
from eventshop.contracts.values import OrderLine, StockShortage


class InventoryProcessedEvent(Event):
    """Every line of the order is reserved."""

    topic = "inventory"

    order_id: str
    customer_id: str
    lines: list[OrderLine]
    total: int
    currency: str


class InventoryOutOfStockEvent(Event):
    """At least one line could not be reserved; nothing was reserved."""

    topic = "inventory"

    order_id: str
    customer_id: str
    shortages: list[StockShortage]
    total: int
    currency: str
