"""Payment's event handlers: each maps its event to the use case the seed's saga gives it."""

from __future__ import annotations

from eventshop.contracts.events import (
    InventoryOutOfStockEvent,
    InventoryProcessedEvent,
    ShippingFailedEvent,
    ShoppingCartOrderedEvent,
)
from eventshop.contracts.events.account import AccountEvent, AccountUpdatedEvent
from eventshop.platform.db import Incoming
from eventshop.services.payment import usecases
from eventshop.services.payment.usecases import OrderToPay, PaymentContext


async def on_cart_ordered(ctx: PaymentContext, incoming: Incoming[ShoppingCartOrderedEvent]) -> None:
    e = incoming.event
    await usecases.open_payment(ctx, OrderToPay(e.order_id, e.customer_id, e.total, e.currency, e.lines), incoming)


async def on_stock_reserved(ctx: PaymentContext, incoming: Incoming[InventoryProcessedEvent]) -> None:
    e = incoming.event
    await usecases.charge_payment(ctx, OrderToPay(e.order_id, e.customer_id, e.total, e.currency, e.lines), incoming)


async def on_out_of_stock(ctx: PaymentContext, incoming: Incoming[InventoryOutOfStockEvent]) -> None:
    e = incoming.event
    await usecases.void_payment(ctx, OrderToPay(e.order_id, e.customer_id, e.total, e.currency), incoming)


async def on_shipping_failed(ctx: PaymentContext, incoming: Incoming[ShippingFailedEvent]) -> None:
    await usecases.refund_payment(ctx, incoming.event.order_id, incoming)


async def on_account_event(ctx: PaymentContext, incoming: Incoming[AccountEvent]) -> None:
    e = incoming.event
    changed = e.changed if isinstance(e, AccountUpdatedEvent) else []
    await usecases.replicate_account(ctx, e.account_id, e.status, e.revision, changed, incoming)
