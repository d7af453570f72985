"""Shipping use cases: ship a paid order once, never ship a failed one."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from eventshop.contracts.events import ShippingFailedEvent, ShippingProcessedEvent
from eventshop.contracts.values import OrderLine
from eventshop.platform.db import Database, Incoming, utcnow
from eventshop.platform.errors import NotFound
from eventshop.platform.settings import Settings
from eventshop.services.shipping import domain, store
from eventshop.services.shipping.clients import AccountClient
from eventshop.services.shipping.domain import ShipmentStatus
from eventshop.services.shipping.logistics_system import (
    LogisticsSystemClient,
    LogisticsSystemError,
    LogisticsSystemUnavailable,
    ShipmentRefused,
    ShipmentResult,
)

log = logging.getLogger(__name__)


@dataclass
class ShippingContext:
    db: Database
    settings: Settings
    accounts: AccountClient
    logistics: LogisticsSystemClient


@dataclass(frozen=True)
class OrderToShip:
    order_id: str
    customer_id: str
    lines: list[OrderLine]


async def _existing(ctx: ShippingContext, order_id: str) -> ShipmentStatus | None:
    async with ctx.db.reading() as uow:
        found = await uow.one(store.SHIPMENT_STATUS, order_id=order_id)
        return ShipmentStatus(found.status) if found else None


async def _book(ctx: ShippingContext, order: OrderToShip) -> ShipmentResult | ShipmentRefused:
    recipient = await ctx.accounts.recipient(order.customer_id)
    try:
        return await ctx.logistics.create_shipment(
            reference=order.order_id, recipient=recipient, items=domain.parcel_items(order.lines),
            weight_grams=domain.parcel_weight(order.lines), carrier=domain.DEFAULT_CARRIER,
        )
    except ShipmentRefused as refused:
        return refused


async def ship_order(
    ctx: ShippingContext, order: OrderToShip, handled: Incoming[Any] | None = None
) -> ShipmentStatus | None:
    """Book the parcel (idempotent per order at the Logistics System), then record and announce it.

    Returns the status recorded, or None when the order already had a shipment record.
    """
    if not domain.may_ship(await _existing(ctx, order.order_id)):
        log.info("order %s already has a shipment record; not shipped again", order.order_id)
        return None
    booked = await _book(ctx, order)  # a LogisticsSystemUnavailable propagates: the event is retried
    async with ctx.db.transaction(handled) as uow:
        if await uow.one(store.SHIPMENT_STATUS, order_id=order.order_id) is not None:
            await uow.commit()
            return None
        if isinstance(booked, ShipmentResult):
            status = ShipmentStatus.CREATED
            shipment = _shipment(order.order_id, order.customer_id, status, carrier=booked.carrier,
                                 tracking_number=booked.tracking_number, logistics_id=booked.shipment_id)
            uow.publish(ShippingProcessedEvent(order_id=order.order_id, customer_id=order.customer_id,
                                               shipment_id=booked.shipment_id, carrier=booked.carrier,
                                               tracking_number=booked.tracking_number))
        else:
            status = ShipmentStatus.FAILED
            shipment = _shipment(order.order_id, order.customer_id, status, failure_reason=booked.code,
                                 failure_message=booked.message)
            uow.publish(ShippingFailedEvent(order_id=order.order_id, customer_id=order.customer_id,
                                            reason=booked.code, message=booked.message))
        await uow.run(store.NEW_SHIPMENT, **shipment)
        await uow.commit()
        return status


def _shipment(order_id: str, customer_id: str, status: ShipmentStatus, **answered: str) -> dict[str, Any]:
    """A new shipments row, with what the Logistics System answered (carrier, tracking, or why it refused)."""
    now = utcnow()
    return {"order_id": order_id, "customer_id": customer_id, "status": status, "carrier": None,
            "tracking_number": None, "logistics_id": None, "failure_reason": None, "failure_message": None,
            **answered, "created_at": now, "updated_at": now}


async def cancel_shipment(
    ctx: ShippingContext, order_id: str, customer_id: str, handled: Incoming[Any] | None = None
) -> None:
    """The payment failed: leave a record so a late or duplicate payment success never ships."""
    async with ctx.db.transaction(handled) as uow:
        if await uow.one(store.SHIPMENT_STATUS, order_id=order_id) is None:
            await uow.run(store.NEW_SHIPMENT, **_shipment(order_id, customer_id, ShipmentStatus.CANCELLED))
        await uow.commit()


async def get_shipment(ctx: ShippingContext, order_id: str) -> tuple[Any, dict[str, Any] | None]:
    """The order's shipments row and its live tracking (None when the Logistics System does not answer)."""
    async with ctx.db.reading() as uow:
        shipment = await uow.one(store.SHIPMENT, order_id=order_id)
    if shipment is None:
        raise NotFound(f"no shipment for order {order_id}", code="shipment_not_found")
    tracking = None
    if shipment.tracking_number:
        try:
            tracking = await ctx.logistics.tracking(shipment.tracking_number)
        except (LogisticsSystemUnavailable, LogisticsSystemError) as exc:
            log.info("tracking for %s unavailable: %s", order_id, exc)
    return shipment, tracking
