"""Inventory's event handlers: OrderProcessedEvent holds, OrderCancelledEvent releases, ShippingProcessedEvent sells."""

from __future__ import annotations

from eventshop.contracts.events import OrderCancelledEvent, OrderProcessedEvent, ShippingProcessedEvent
from eventshop.platform.db import Incoming
from eventshop.services.inventory.usecases import (
    InventoryContext,
    OrderToReserve,
    release_stock,
    reserve_stock,
    sell_stock,
)


async def on_order_processed(ctx: InventoryContext, incoming: Incoming[OrderProcessedEvent]) -> None:
    order = incoming.event
    await reserve_stock(
        ctx,
        OrderToReserve(order.order_id, order.customer_id, order.lines, order.total, order.currency),
        handled=incoming,
    )


async def on_order_cancelled(ctx: InventoryContext, incoming: Incoming[OrderCancelledEvent]) -> None:
    await release_stock(ctx, incoming.event.order_id, handled=incoming)


async def on_shipping_processed(ctx: InventoryContext, incoming: Incoming[ShippingProcessedEvent]) -> None:
    await sell_stock(ctx, incoming.event.order_id, handled=incoming)
