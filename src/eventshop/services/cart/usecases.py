"""Shopping Cart use cases: keep the cart, and check it out into an order.

The cart has no seed edge to Account, so it does not know whether a customer is deactivated;
Payment fails such orders (reason account_deactivated) and the frontend refuses their sign-in.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from eventshop.contracts.events import ShoppingCartOrderedEvent
from eventshop.contracts.values import OrderLine
from eventshop.platform.db import Database, UnitOfWork, utcnow
from eventshop.platform.errors import Conflict, Invalid, NotFound
from eventshop.platform.settings import Settings
from eventshop.services.cart import domain
from eventshop.services.cart.clients import CatalogClient, OrderClient
from eventshop.services.cart.domain import CartRuleBroken, PricedLine
from eventshop.services.cart.tables import Cart, CartLine


@dataclass
class CartContext:
    db: Database
    settings: Settings
    catalog: CatalogClient
    orders: OrderClient


@dataclass(frozen=True)
class CartState:
    cart: Cart
    lines: list[CartLine]

    @property
    def total(self) -> int:
        return domain.total(_priced(self.lines))


def _priced(lines: list[CartLine]) -> list[PricedLine]:
    return [PricedLine(line.product_id, line.quantity, line.unit_price, line.currency) for line in lines]


def _rule(broken: CartRuleBroken) -> Invalid:
    return Invalid(str(broken), code=broken.code)


async def _open_cart(uow: UnitOfWork, customer_id: str) -> Cart:
    cart = await uow.session.scalar(select(Cart).where(Cart.customer_id == customer_id, Cart.status == "open"))
    if cart is None:
        now = utcnow()
        cart = Cart(id=uuid.uuid4().hex, customer_id=customer_id, status="open", created_at=now, updated_at=now)
        uow.session.add(cart)
        await uow.session.flush()
    return cart


async def _lines(uow: UnitOfWork, cart_id: str) -> list[CartLine]:
    query = select(CartLine).where(CartLine.cart_id == cart_id).order_by(CartLine.added_at, CartLine.product_id)
    return list((await uow.session.scalars(query)).all())


async def _state(uow: UnitOfWork, cart: Cart) -> CartState:
    return CartState(cart, await _lines(uow, cart.id))


async def view_cart(ctx: CartContext, customer_id: str) -> CartState:
    async with ctx.db.transaction() as uow:
        cart = await _open_cart(uow, customer_id)
        state = await _state(uow, cart)
        await uow.commit()
        return state


async def add_line(ctx: CartContext, customer_id: str, product_id: str, quantity: int) -> CartState:
    try:
        domain.check_quantity(quantity)
    except CartRuleBroken as broken:
        raise _rule(broken) from None
    product = await ctx.catalog.product(product_id)  # before the transaction: no network call inside one
    async with ctx.db.transaction() as uow:
        cart = await _open_cart(uow, customer_id)
        try:
            domain.check_currency(cart.currency, product["currency"])
            line = await uow.session.get(CartLine, (cart.id, product_id))
            if line is None:
                uow.session.add(CartLine(cart_id=cart.id, product_id=product_id, sku=product["sku"],
                                         name=product["name"], quantity=quantity, unit_price=product["price"],
                                         currency=product["currency"], added_at=utcnow()))
            else:
                line.quantity = domain.merged_quantity(line.quantity, quantity)
                line.unit_price, line.name = product["price"], product["name"]
        except CartRuleBroken as broken:
            raise _rule(broken) from None
        cart.currency, cart.updated_at = product["currency"], utcnow()
        await uow.commit()
        return await _state(uow, cart)


async def set_quantity(ctx: CartContext, customer_id: str, product_id: str, quantity: int) -> CartState:
    """Change a line's quantity; 0 removes it."""
    if quantity:
        try:
            domain.check_quantity(quantity)
        except CartRuleBroken as broken:
            raise _rule(broken) from None
    async with ctx.db.transaction() as uow:
        cart = await _open_cart(uow, customer_id)
        line = await uow.session.get(CartLine, (cart.id, product_id))
        if line is None:
            raise NotFound(f"product {product_id} is not in the cart", code="line_not_found")
        if quantity:
            line.quantity = quantity
        else:
            await uow.session.delete(line)
            await uow.session.flush()
        state = await _state(uow, cart)
        if not state.lines:
            cart.currency = None  # an empty cart may take products in any currency again
        cart.updated_at = utcnow()
        await uow.commit()
        return state


async def _reprice(ctx: CartContext, customer_id: str) -> CartState:
    """Bring every line to today's price; a change is shown to the customer, never silently charged."""
    state = await view_cart(ctx, customer_id)
    if not state.lines:
        raise Invalid("the cart is empty", code="empty_cart")
    products = await asyncio.gather(*(ctx.catalog.product(line.product_id) for line in state.lines))
    current = {p["id"]: int(p["price"]) for p in products}
    changed = domain.changed_prices(_priced(state.lines), current)
    if not changed:
        return state
    async with ctx.db.transaction() as uow:
        for line in await _lines(uow, state.cart.id):
            if line.product_id in changed:
                line.unit_price = current[line.product_id]
        await uow.commit()
    raise Conflict(
        "prices changed since the items were added; check the cart and confirm again",
        code="price_changed",
        details={"changed": {pid: {"was": old, "now": new} for pid, (old, new) in changed.items()}},
    )


@dataclass(frozen=True)
class Checkout:
    order_id: str
    cart_id: str
    total: int
    currency: str


async def checkout(ctx: CartContext, customer_id: str, expected_total: int | None = None) -> Checkout:
    state = await _reprice(ctx, customer_id)
    if expected_total is not None and expected_total != state.total:
        raise Conflict(f"the cart total is {state.total}, not {expected_total}", code="price_changed")
    order_id = await _reserve_order_id(ctx, state.cart.id)
    lines = [OrderLine(product_id=line.product_id, sku=line.sku, name=line.name, quantity=line.quantity,
                       unit_price=line.unit_price, currency=line.currency) for line in state.lines]
    currency = state.cart.currency or lines[0].currency
    await ctx.orders.create_order({
        "order_id": order_id, "cart_id": state.cart.id, "customer_id": customer_id,
        "lines": [line.model_dump() for line in lines], "total": state.total, "currency": currency,
    })
    async with ctx.db.transaction() as uow:
        cart = await uow.session.get(Cart, state.cart.id)
        assert cart is not None
        if cart.status == "open":  # a concurrent checkout of the same cart may have finished first
            cart.status, cart.updated_at = "ordered", utcnow()
            uow.publish(ShoppingCartOrderedEvent(cart_id=cart.id, order_id=order_id, customer_id=customer_id,
                                                 lines=lines, total=state.total, currency=currency))
        await uow.commit()
    return Checkout(order_id, state.cart.id, state.total, currency)


async def _reserve_order_id(ctx: CartContext, cart_id: str) -> str:
    """The order id is chosen once per cart, so a retried checkout creates the same order."""
    async with ctx.db.transaction() as uow:
        cart = await uow.session.get(Cart, cart_id)
        assert cart is not None
        if cart.order_id is None:
            cart.order_id = uuid.uuid4().hex
            await uow.commit()
        return cart.order_id
