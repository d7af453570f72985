"""Shipping's event handlers: a paid order ships, a failed payment cancels any shipment."""

from __future__ import annotations

from eventshop.contracts.events import PaymentFailedEvent, PaymentProcessedEvent
from eventshop.platform.db import Incoming
from eventshop.services.shipping.usecases import OrderToShip, ShippingContext, cancel_shipment, ship_order


async def on_payment_processed(ctx: ShippingContext, incoming: Incoming[PaymentProcessedEvent]) -> None:
    e = incoming.event
    await ship_order(ctx, OrderToShip(e.order_id, e.customer_id, e.lines), handled=incoming)


async def on_payment_failed(ctx: ShippingContext, incoming: Incoming[PaymentFailedEvent]) -> None:
    await cancel_shipment(ctx, incoming.event.order_id, incoming.event.customer_id, handled=incoming)
