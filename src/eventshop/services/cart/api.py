"""Shopping Cart REST API: the customer's open cart, its lines, and checkout."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from eventshop.platform.runtime import context_of
from eventshop.services.cart import usecases
from eventshop.services.cart.domain import MAX_QUANTITY
from eventshop.services.cart.usecases import CartContext, CartState

router = APIRouter(tags=["cart"])
Ctx = Annotated[CartContext, Depends(context_of)]
CustomerId = Annotated[str, Field(min_length=1, max_length=64)]


class LineView(BaseModel):
    product_id: str
    sku: str
    name: str
    quantity: int
    unit_price: int
    currency: str
    line_total: int


class CartView(BaseModel):
    id: str
    customer_id: str
    status: str
    lines: list[LineView]
    total: int
    currency: str | None
    order_id: str | None
    updated_at: datetime

    @classmethod
    def of(cls, state: CartState) -> CartView:
        c = state.cart
        return cls(
            id=c.id, customer_id=c.customer_id, status=c.status, currency=c.currency, updated_at=c.updated_at,
            order_id=c.order_id if c.status == "ordered" else None, total=state.total,
            lines=[LineView(product_id=line.product_id, sku=line.sku, name=line.name, quantity=line.quantity,
                            unit_price=line.unit_price, currency=line.currency,
                            line_total=line.quantity * line.unit_price) for line in state.lines],
        )


class AddLine(BaseModel):
    product_id: str = Field(min_length=1, max_length=64)
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY)


class SetQuantity(BaseModel):
    quantity: int = Field(ge=0, le=MAX_QUANTITY, description="0 removes the line")


class CheckoutRequest(BaseModel):
    expected_total: int | None = Field(default=None, ge=0, description="refuse if the total differs")


class CheckoutView(BaseModel):
    order_id: str
    cart_id: str
    total: int
    currency: str


@router.get("/carts/{customer_id}", response_model=CartView)
async def get_cart(ctx: Ctx, customer_id: str) -> CartView:
    return CartView.of(await usecases.view_cart(ctx, customer_id))


@router.post("/carts/{customer_id}/lines", response_model=CartView)
async def add_line(ctx: Ctx, customer_id: str, body: AddLine) -> CartView:
    """Add a product (name and price from Product Catalog); adding it again raises the quantity."""
    return CartView.of(await usecases.add_line(ctx, customer_id, body.product_id, body.quantity))


@router.put("/carts/{customer_id}/lines/{product_id}", response_model=CartView)
async def set_quantity(ctx: Ctx, customer_id: str, product_id: str, body: SetQuantity) -> CartView:
    return CartView.of(await usecases.set_quantity(ctx, customer_id, product_id, body.quantity))


@router.delete("/carts/{customer_id}/lines/{product_id}", response_model=CartView)
async def remove_line(ctx: Ctx, customer_id: str, product_id: str) -> CartView:
    return CartView.of(await usecases.set_quantity(ctx, customer_id, product_id, 0))


@router.post("/carts/{customer_id}/checkout", response_model=CheckoutView, status_code=201)
async def checkout(ctx: Ctx, customer_id: str, body: CheckoutRequest | None = None) -> CheckoutView:
    """Re-price at Product Catalog, create the order at Order, publish ShoppingCartOrderedEvent."""
    done = await usecases.checkout(ctx, customer_id, body.expected_total if body else None)
    return CheckoutView(order_id=done.order_id, cart_id=done.cart_id, total=done.total, currency=done.currency)
