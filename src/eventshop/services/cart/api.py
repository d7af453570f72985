"""Shopping Cart REST API: the customer's open cart, its lines, and checkout."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from eventshop.contracts.values import Amount, WholeNumber
from eventshop.platform.auth import customer_of_path
from eventshop.platform.errors import Conflict
from eventshop.platform.runtime import context_of
from eventshop.services.cart import usecases
from eventshop.services.cart.domain import MAX_QUANTITY, CartStatus
from eventshop.services.cart.usecases import CartContext, CartState, PricesChanged

# Every cart is one customer's: only they (their token) or the operator may see or change it.
router = APIRouter(tags=["cart"], dependencies=[Depends(customer_of_path())])
Ctx = Annotated[CartContext, Depends(context_of)]
CustomerId = Annotated[str, Path(min_length=1, max_length=64)]
PRODUCT_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class LineView(BaseModel):
    product_id: str
    sku: str
    name: str
    quantity: int
    unit_price: int = Field(description="minor units")
    currency: str
    line_total: int


class CartView(BaseModel):
    id: str
    customer_id: str
    status: str = Field(description="open | ordered")
    lines: list[LineView]
    total: int = Field(description="minor units")
    currency: str | None
    order_id: str | None = Field(description="set once the cart is ordered")
    updated_at: datetime

    @classmethod
    def of(cls, state: CartState) -> CartView:
        cart = state.cart
        return cls(
            id=cart.id,
            customer_id=cart.customer_id,
            status=cart.status,
            lines=[
                LineView(product_id=line.product_id, sku=line.sku, name=line.name, quantity=line.quantity,
                         unit_price=line.unit_price, currency=line.currency,
                         line_total=line.quantity * line.unit_price)
                for line in state.lines
            ],
            total=state.total,
            currency=cart.currency,
            order_id=cart.order_id if cart.status == CartStatus.ORDERED else None,
            updated_at=cart.updated_at,
        )


class AddLine(BaseModel):
    product_id: str = Field(min_length=1, max_length=64, pattern=PRODUCT_ID)
    quantity: WholeNumber = Field(default=1, ge=1, le=MAX_QUANTITY)


class SetQuantity(BaseModel):
    quantity: WholeNumber = Field(ge=0, le=MAX_QUANTITY, description="0 removes the line")


class CheckoutRequest(BaseModel):
    expected_total: Amount | None = Field(
        default=None, description="refuse with price_changed if the total differs"
    )
    cart_id: str | None = Field(default=None, max_length=64, description="a cart already checked out: its order again")


class CheckoutView(BaseModel):
    order_id: str
    cart_id: str
    total: int
    currency: str


def _price_changed(changed: PricesChanged) -> Conflict:
    details: dict[str, Any] = CartView.of(changed.state).model_dump(mode="json")
    details["price_changes"] = [
        {"product_id": c.product_id, "was": c.was.amount, "now": c.now.amount, "currency": c.now.currency}
        for c in changed.changes
    ]
    return Conflict(changed.message, code="price_changed", details=details)


@router.get("/carts/{customer_id}", response_model=CartView)
async def get_cart(ctx: Ctx, customer_id: CustomerId) -> CartView:
    """The customer's open cart, opened empty on first use."""
    return CartView.of(await usecases.view_cart(ctx, customer_id))


@router.post("/carts/{customer_id}/lines", response_model=CartView)
async def add_line(ctx: Ctx, customer_id: CustomerId, body: AddLine) -> CartView:
    """Add a product (name and price from Product Catalog); adding it again raises the quantity."""
    return CartView.of(await usecases.add_line(ctx, customer_id, body.product_id, body.quantity))


@router.put("/carts/{customer_id}/lines/{product_id}", response_model=CartView)
async def set_quantity(ctx: Ctx, customer_id: CustomerId, product_id: str, body: SetQuantity) -> CartView:
    return CartView.of(await usecases.set_quantity(ctx, customer_id, product_id, body.quantity))


@router.delete("/carts/{customer_id}/lines/{product_id}", response_model=CartView)
async def remove_line(ctx: Ctx, customer_id: CustomerId, product_id: str) -> CartView:
    return CartView.of(await usecases.remove_line(ctx, customer_id, product_id))


@router.post("/carts/{customer_id}/checkout", response_model=CheckoutView, status_code=201)
async def checkout(ctx: Ctx, customer_id: CustomerId, body: CheckoutRequest | None = None) -> CheckoutView:
    """Re-price at Product Catalog, create the order at Order, publish ShoppingCartOrderedEvent.

    409 price_changed carries the re-priced cart in `details`; checking out again accepts the new prices.
    """
    request = body or CheckoutRequest()
    try:
        done = await usecases.checkout(ctx, customer_id, cart_id=request.cart_id,
                                       expected_total=request.expected_total)
    except PricesChanged as changed:
        raise _price_changed(changed) from None
    return CheckoutView(order_id=done.order_id, cart_id=done.cart_id, total=done.total, currency=done.currency)
