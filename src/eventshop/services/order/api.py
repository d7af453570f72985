"""Order REST API: Cart's "Create Order", and orders with their products and status for the frontend."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from eventshop.contracts.values import MAX_AMOUNT, MAX_PAGE, OrderLine, WholeNumber
from eventshop.platform.auth import (
    CustomerOrOperator,
    callers_of_request,
    operator_only,
    require_customer,
    require_operator,
)
from eventshop.platform.db import utcnow
from eventshop.platform.runtime import context_of
from eventshop.services.order import domain, usecases
from eventshop.services.order.domain import OrderStatus
from eventshop.services.order.store import OrderRecord
from eventshop.services.order.tables import Order
from eventshop.services.order.usecases import NewOrder, OrderContext, OrderDetails, OrderFilter

router = APIRouter(tags=["orders"])
Ctx = Annotated[OrderContext, Depends(context_of)]


class CreateOrder(BaseModel):
    order_id: str = Field(min_length=1, max_length=64)
    cart_id: str = Field(min_length=1, max_length=64)
    customer_id: str = Field(min_length=1, max_length=64)
    lines: list[OrderLine] = Field(min_length=1)
    total: WholeNumber = Field(ge=0, le=MAX_AMOUNT)
    currency: str = Field(min_length=3, max_length=3)


class TimelineItem(BaseModel):
    at: datetime
    status: str
    event: str
    detail: str
    trace_id: str | None = Field(default=None, description="the trace it happened in (W3C trace id)")


class OrderSummary(BaseModel):
    id: str
    cart_id: str
    customer_id: str
    status: str
    reason: str | None
    total: int
    currency: str
    payment_id: str | None
    carrier: str | None
    tracking_number: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, order: Order | OrderRecord) -> OrderSummary:
        return cls.model_validate(order, from_attributes=True)


class OrderView(OrderSummary):
    lines: list[OrderLine]
    timeline: list[TimelineItem]

    @classmethod
    def of_details(cls, found: OrderDetails) -> OrderView:
        summary = OrderSummary.of(found.order)
        return cls(
            **summary.model_dump(),
            lines=found.lines,
            timeline=[TimelineItem.model_validate(t, from_attributes=True) for t in found.timeline],
        )


MAX_STUCK_AGE_SECONDS = 10 * 366 * 24 * 3600  # ten years: beyond it the cut-off date overflows


class OrderPage(BaseModel):
    items: list[OrderSummary]
    page: int
    page_size: int
    total: int


@router.post(
    "/orders",
    response_model=OrderView,
    status_code=201,
    responses={200: {"model": OrderView, "description": "A repeat of an order_id: the order it created"}},
    dependencies=[Depends(callers_of_request("order", "Create Order"))],
)
async def create_order(ctx: Ctx, body: CreateOrder, response: Response) -> OrderView:
    """Shopping Cart's "Create Order". Idempotent on `order_id`: a repeat answers 200 with the same order."""
    found, created = await usecases.create_order(
        ctx, NewOrder(body.order_id, body.cart_id, body.customer_id, body.lines, body.total, body.currency)
    )
    if not created:
        response.status_code = 200
    return OrderView.of_details(found)


@router.get("/orders/{order_id}", response_model=OrderView)
async def get_order(ctx: Ctx, order_id: str, principal: CustomerOrOperator) -> OrderView:
    """An order with its lines, totals, status, reason and the timeline of every event that touched it."""
    view = OrderView.of_details(await usecases.get_order(ctx, order_id))
    require_customer(principal, view.customer_id)
    return view


@router.get("/orders", response_model=OrderPage)
async def list_orders(
    ctx: Ctx,
    principal: CustomerOrOperator,
    customer_id: Annotated[str | None, Query(min_length=1, description="required unless the operator asks")] = None,
    status: Annotated[OrderStatus | None, Query(description="only orders in this status")] = None,
    older_than: Annotated[float | None, Query(gt=0, le=MAX_STUCK_AGE_SECONDS,
                                              description="only orders placed more than this many seconds ago")]
    = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> OrderPage:
    """A customer's orders, newest first; the operator may leave out `customer_id` to list every customer's."""
    if customer_id is None:
        require_operator(principal, "listing every customer's orders")
    else:
        require_customer(principal, customer_id)
    found = OrderFilter(customer_id, status, older_than)
    rows, total = await usecases.list_orders(ctx, found, page, page_size)
    return OrderPage(items=[OrderSummary.of(r) for r in rows], page=page, page_size=page_size, total=total)


class StuckOrder(OrderSummary):
    age_seconds: float
    waiting_for: str


class StuckOrders(BaseModel):
    older_than: float
    total: int
    items: list[StuckOrder]


@router.get("/operator/orders/stuck", response_model=StuckOrders, tags=["operations"],
            dependencies=[Depends(operator_only())])
async def stuck_orders(
    ctx: Ctx,
    older_than: Annotated[float | None, Query(gt=0, le=MAX_STUCK_AGE_SECONDS,
                                              description="seconds; default EVENTSHOP_ORDER_STUCK_AFTER_SECONDS")]
    = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> StuckOrders:
    """Operators: orders placed over `older_than` seconds ago and still not shipped or cancelled, oldest first."""
    age = older_than or ctx.stuck_after_seconds
    rows, total = await usecases.list_stuck_orders(ctx, age, limit)
    now = utcnow()
    items = [StuckOrder(**OrderSummary.of(r).model_dump(), age_seconds=round((now - r.created_at).total_seconds(), 1),
                        waiting_for=domain.waiting_for(OrderStatus(r.status))) for r in rows]
    return StuckOrders(older_than=age, total=total, items=items)
