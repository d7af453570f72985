"""Shipping REST API: a shipment per order with its tracking, and the orchestrated "Ship Order"."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from eventshop.contracts.values import MAX_ID, OrderLine
from eventshop.platform.auth import CustomerOrOperator, callers_of_request, require_customer
from eventshop.platform.runtime import context_of
from eventshop.services.shipping import usecases
from eventshop.services.shipping.usecases import OrderToShip, ShippingContext

router = APIRouter(tags=["shipping"])
Ctx = Annotated[ShippingContext, Depends(context_of)]


class ShipmentView(BaseModel):
    order_id: str
    customer_id: str
    status: str
    carrier: str | None
    tracking_number: str | None
    failure_reason: str | None
    failure_message: str | None
    updated_at: datetime
    shipment_id: str | None = Field(default=None, description="the Logistics System's id of the shipment")
    tracking: dict[str, Any] | None = None


class ShipOrder(BaseModel):
    order_id: str = Field(min_length=1, max_length=MAX_ID)
    customer_id: str = Field(min_length=1, max_length=MAX_ID)
    lines: list[OrderLine] = Field(min_length=1)


async def _view(ctx: ShippingContext, order_id: str) -> ShipmentView:
    shipment, tracking = await usecases.get_shipment(ctx, order_id)
    view = ShipmentView.model_validate(shipment, from_attributes=True)
    view.shipment_id, view.tracking = shipment.logistics_id, tracking
    return view


@router.get("/shipments/{order_id}", response_model=ShipmentView)
async def get_shipment(ctx: Ctx, order_id: str, principal: CustomerOrOperator) -> ShipmentView:
    """The order's shipment with live tracking from the Logistics System when it answers."""
    view = await _view(ctx, order_id)
    require_customer(principal, view.customer_id)
    return view


@router.post("/shipments", response_model=ShipmentView,
             dependencies=[Depends(callers_of_request("shipping", "Ship Order"))])
async def ship_order(ctx: Ctx, body: ShipOrder) -> ShipmentView:
    """Orchestrated style: Order asks to ship (same rule as PaymentProcessedEvent)."""
    await usecases.ship_order(ctx, OrderToShip(body.order_id, body.customer_id, body.lines))
    return await _view(ctx, body.order_id)
