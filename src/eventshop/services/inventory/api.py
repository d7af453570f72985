"""Inventory REST API: stock levels (read by Product Catalog), admin stock-take, reservations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from eventshop.contracts.events.inventory import StockShortage
from eventshop.contracts.values import MAX_AMOUNT, MAX_ID, MAX_UNITS, OrderLine, WholeNumber
from eventshop.platform.auth import callers_of_request, operator_only, services_or_operator
from eventshop.platform.runtime import context_of
from eventshop.services.inventory import usecases
from eventshop.services.inventory.tables import Stock
from eventshop.services.inventory.usecases import InventoryContext, OrderToReserve

router = APIRouter(tags=["inventory"])
Ctx = Annotated[InventoryContext, Depends(context_of)]


class StockLevel(BaseModel):
    """Every unit counted once: available + held + sold is all the units the shop has had."""

    product_id: str
    sku: str
    available: int = Field(description="units that can be sold now (what product pages show)")
    held: int = Field(description="units reserved for orders still in flight (not yet shipped or cancelled)")
    sold: int = Field(description="units of orders that shipped")
    updated_at: datetime

    @classmethod
    def of(cls, row: Stock) -> StockLevel:
        return cls(
            product_id=row.product_id,
            sku=row.sku,
            available=row.available,
            held=row.held,
            sold=row.sold,
            updated_at=row.updated_at,
        )


class StockTake(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    available: WholeNumber = Field(ge=0, le=MAX_UNITS, description="units that can be sold now")


class ReservationRequest(BaseModel):
    order_id: str = Field(min_length=1, max_length=MAX_ID)
    customer_id: str = Field(min_length=1, max_length=MAX_ID)
    lines: list[OrderLine] = Field(min_length=1)
    total: WholeNumber = Field(ge=0, le=MAX_AMOUNT)
    currency: str = Field(min_length=3, max_length=3)


class ReservationView(BaseModel):
    order_id: str
    status: str
    lines: dict[str, int] = {}
    shortages: list[StockShortage] = Field(default=[], description="what was short, when refused by this call")


@router.get("/stock", response_model=list[StockLevel])
async def list_stock(ctx: Ctx, product_id: Annotated[list[str], Query()] = []) -> list[StockLevel]:  # noqa: B006
    """Stock per product; filter with repeated `product_id`. Product Catalog's 'Check Inventory'."""
    return [StockLevel.of(row) for row in await usecases.stock_levels(ctx, product_id)]


@router.put("/stock/{product_id}", response_model=StockLevel, dependencies=[Depends(operator_only())])
async def put_stock(ctx: Ctx, product_id: str, body: StockTake) -> StockLevel:
    """Operator stock-take: set the units free to sell."""
    return StockLevel.of(await usecases.set_stock(ctx, product_id, body.sku, body.available))


@router.post(
    "/reservations",
    response_model=ReservationView,
    dependencies=[Depends(callers_of_request("inventory", "Update Inventory"))],
)
async def post_reservation(ctx: Ctx, body: ReservationRequest) -> ReservationView:
    """Orchestrated style: Order asks to reserve an order's lines (same rule as OrderProcessedEvent)."""
    order = OrderToReserve(body.order_id, body.customer_id, body.lines, body.total, body.currency)
    reserved = await usecases.reserve_stock(ctx, order)
    return ReservationView(order_id=body.order_id, status=reserved.status, shortages=reserved.shortages)


@router.delete(
    "/reservations/{order_id}",
    response_model=ReservationView,
    dependencies=[Depends(callers_of_request("inventory", "Update Inventory"))],
)
async def delete_reservation(ctx: Ctx, order_id: str) -> ReservationView:
    """Orchestrated style: release an order's reservation (same rule as OrderCancelledEvent)."""
    return ReservationView(order_id=order_id, status=await usecases.release_stock(ctx, order_id))


@router.get("/reservations/{order_id}", response_model=ReservationView,
            dependencies=[Depends(services_or_operator("order"))])
async def get_reservation(ctx: Ctx, order_id: str) -> ReservationView:
    found, lines = await usecases.reservation(ctx, order_id)
    return ReservationView(
        order_id=found.order_id, status=found.status, lines={line.product_id: line.quantity for line in lines}
    )
