"""Event models, one module per seed topic; `ALL_EVENTS` maps each type name to its model."""

from __future__ import annotations

from eventshop.contracts.envelope import Event
from eventshop.contracts.events.account import (
    AccountCreatedEvent,
    AccountDeactivatedEvent,
    AccountUpdatedEvent,
)
from eventshop.contracts.events.inventory import InventoryOutOfStockEvent, InventoryProcessedEvent
from eventshop.contracts.events.order import OrderCancelledEvent, OrderProcessedEvent
from eventshop.contracts.events.payment import PaymentFailedEvent, PaymentProcessedEvent
from eventshop.contracts.events.shipping import ShippingFailedEvent, ShippingProcessedEvent
from eventshop.contracts.events.shopping_cart import ShoppingCartOrderedEvent

ALL_EVENTS: dict[str, type[Event]] = {
    model.type_name(): model
    for model in (
        AccountCreatedEvent,
        AccountUpdatedEvent,
        AccountDeactivatedEvent,
        InventoryProcessedEvent,
        InventoryOutOfStockEvent,
        OrderProcessedEvent,
        OrderCancelledEvent,
        PaymentProcessedEvent,
        PaymentFailedEvent,
        ShippingProcessedEvent,
        ShippingFailedEvent,
        ShoppingCartOrderedEvent,
    )
}

__all__ = [
    "ALL_EVENTS",
    "AccountCreatedEvent",
    "AccountDeactivatedEvent",
    "AccountUpdatedEvent",
    "InventoryOutOfStockEvent",
    "InventoryProcessedEvent",
    "OrderCancelledEvent",
    "OrderProcessedEvent",
    "PaymentFailedEvent",
    "PaymentProcessedEvent",
    "ShippingFailedEvent",
    "ShippingProcessedEvent",
    "ShoppingCartOrderedEvent",
]
