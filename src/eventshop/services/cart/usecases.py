"""Shopping Cart use cases: keep each customer's open cart, and check it out into exactly one order."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, replace

from eventshop.contracts.events import ShoppingCartOrderedEvent
from eventshop.contracts.values import OrderLine
from eventshop.platform.db import Database, UnitOfWork, utcnow
from eventshop.platform.errors import DependencyUnavailable, Forbidden, Invalid, NotFound
from eventshop.platform.settings import Settings
from eventshop.services.cart import domain, store
from eventshop.services.cart.clients import AccountClient, CatalogClient, OrderClient, OrderRequest
from eventshop.services.cart.domain import CartRuleBroken, CartStatus, Price, PriceChange, PricedLine
from eventshop.services.cart.store import CartRecord, LineRecord

log = logging.getLogger(__name__)


@dataclass
class CartContext:
    db: Database
    settings: Settings
    catalog: CatalogClient
    orders: OrderClient
    accounts: AccountClient


@dataclass(frozen=True)
class CartState:
    cart: CartRecord
    lines: list[LineRecord]

    @property
    def priced(self) -> list[PricedLine]:
        return [
            PricedLine(line.product_id, line.quantity, Price(line.unit_price, line.currency)) for line in self.lines
        ]

    @property
    def total(self) -> int:
        return domain.total(self.priced)


class PricesChanged(Exception):
    """Checkout stopped: the cart now holds today's prices, which the customer must see before paying them."""

    def __init__(self, state: CartState, changes: list[PriceChange], message: str) -> None:
        super().__init__(message)
        self.state = state
        self.changes = changes
        self.message = message


@dataclass(frozen=True)
class Checkout:
    order_id: str
    cart_id: str
    total: int
    currency: str


def _invalid(broken: CartRuleBroken) -> Invalid:
    return Invalid(str(broken), code=broken.code)


async def _open_cart(uow: UnitOfWork, customer_id: str) -> CartRecord:
    """The customer's open cart, opened now if they have none."""
    cart = await store.open_cart(uow, customer_id)
    if cart is not None:
        return cart
    now = utcnow()
    cart = CartRecord(uuid.uuid4().hex, customer_id, CartStatus.OPEN, None, None, now, now)
    if not await store.add_cart(uow, cart):
        opened = await store.open_cart(uow, customer_id)
        assert opened is not None
        return opened
    return cart


def _line_of(lines: list[LineRecord], product_id: str) -> LineRecord | None:
    return next((line for line in lines if line.product_id == product_id), None)


def _with_line(lines: list[LineRecord], line: LineRecord) -> list[LineRecord]:
    """`lines` with `line` in its product's place, listed as the database lists them (when added, then product)."""
    kept = [other for other in lines if other.product_id != line.product_id]
    return sorted([*kept, line], key=lambda each: (each.added_at, each.product_id))


async def _contents_changed(uow: UnitOfWork, cart: CartRecord, lines: list[LineRecord]) -> CartState:
    currency = lines[0].currency if lines else None
    now = utcnow()
    await store.contents_changed(uow, cart, currency, now)
    return CartState(replace(cart, order_id=None, currency=currency, updated_at=now), lines)


async def view_cart(ctx: CartContext, customer_id: str) -> CartState:
    async with ctx.db.transaction() as uow:
        cart = await _open_cart(uow, customer_id)
        state = CartState(cart, await store.lines(uow, cart.id))
        await uow.commit()
        return state


async def add_line(ctx: CartContext, customer_id: str, product_id: str, quantity: int) -> CartState:
    """Add a product at the catalog's current price; adding it again raises the line's quantity."""
    try:
        domain.check_quantity(quantity)
    except CartRuleBroken as broken:
        raise _invalid(broken) from None
    product = await ctx.catalog.product(product_id)  # before the transaction: no network call inside one
    async with ctx.db.transaction() as uow:
        cart = await _open_cart(uow, customer_id)
        lines = await store.lines(uow, cart.id)
        line = _line_of(lines, product_id)
        try:
            domain.check_currency(cart.currency, product.price.currency)
            quantity = domain.merged_quantity(line.quantity, quantity) if line else quantity
        except CartRuleBroken as broken:
            raise _invalid(broken) from None
        added = LineRecord(cart.id, product_id, product.sku, product.name, quantity, product.price.amount,
                           product.price.currency, line.added_at if line else utcnow())
        if line is None:
            await store.add_line(uow, added)
        else:
            await store.replace_line(uow, added)
        state = await _contents_changed(uow, cart, _with_line(lines, added))
        await uow.commit()
        return state


async def set_quantity(ctx: CartContext, customer_id: str, product_id: str, quantity: int) -> CartState:
    """Change a line's quantity; 0 removes it, and removing a line that is not there changes nothing."""
    if quantity:
        try:
            domain.check_quantity(quantity)
        except CartRuleBroken as broken:
            raise _invalid(broken) from None
    async with ctx.db.transaction() as uow:
        cart = await _open_cart(uow, customer_id)
        lines = await store.lines(uow, cart.id)
        line = _line_of(lines, product_id)
        if line is None and quantity:
            raise NotFound(f"product {product_id} is not in the cart", code="line_not_found")
        if line is None:
            state = CartState(cart, lines)
        elif quantity:
            changed = replace(line, quantity=quantity)
            await store.set_quantity(uow, changed)
            state = await _contents_changed(uow, cart, _with_line(lines, changed))
        else:
            await store.remove_line(uow, line)
            state = await _contents_changed(uow, cart, [other for other in lines if other is not line])
        await uow.commit()
        return state


async def remove_line(ctx: CartContext, customer_id: str, product_id: str) -> CartState:
    return await set_quantity(ctx, customer_id, product_id, 0)


async def checkout(
    ctx: CartContext, customer_id: str, *, cart_id: str | None = None, expected_total: int | None = None
) -> Checkout:
    """Re-price at Product Catalog, create the order at Order, then mark the cart ordered and publish.

    `cart_id` names a cart already checked out to get its order again (a retry whose answer was lost).
    """
    state = await _cart_to_check_out(ctx, customer_id, cart_id)
    await _refuse_deactivated(ctx, customer_id)
    if state.cart.status == CartStatus.ORDERED:
        return _receipt(state)
    state = await _reprice(ctx, state)
    if expected_total is not None and expected_total != state.total:
        raise PricesChanged(state, [], f"the cart total is {state.total}, not the expected {expected_total}")
    try:
        currency = domain.cart_currency(state.priced) or ""
        domain.check_orderable_total(state.total)
    except CartRuleBroken as broken:
        raise _invalid(broken) from None
    order_id = await _reserve_order_id(ctx, state.cart.id)
    lines = [
        OrderLine(product_id=line.product_id, sku=line.sku, name=line.name, quantity=line.quantity,
                  unit_price=line.unit_price, currency=line.currency)
        for line in state.lines
    ]
    request = OrderRequest(order_id, state.cart.id, customer_id, lines, state.total, currency)
    await _create_order(ctx, request)
    await _mark_ordered(ctx, request)
    return Checkout(order_id, state.cart.id, state.total, currency)


async def _refuse_deactivated(ctx: CartContext, customer_id: str) -> None:
    """Account Status is a declared addition to the seed. When Account does not answer, checkout goes on:
    Payment refuses a deactivated account too (reason account_deactivated), so the rule still holds."""
    try:
        status = await ctx.accounts.status(customer_id)
    except DependencyUnavailable:
        log.warning("account status of %s unknown; Payment will check it", customer_id)
        return
    except NotFound:
        raise Forbidden("there is no account for this customer", code="unknown_customer") from None
    if status == "deactivated":
        raise Forbidden("this account is deactivated and cannot check out", code="account_deactivated")


async def _cart_to_check_out(ctx: CartContext, customer_id: str, cart_id: str | None) -> CartState:
    """The cart named by `cart_id` (perhaps ordered already), else the customer's open cart; never empty."""
    async with ctx.db.transaction() as uow:
        if cart_id is None:
            cart: CartRecord | None = await _open_cart(uow, customer_id)
        else:
            cart = await store.customers_cart(uow, customer_id, cart_id)
        if cart is None:
            raise NotFound(f"customer {customer_id} has no cart {cart_id}", code="cart_not_found")
        state = CartState(cart, await store.lines(uow, cart.id))
        await uow.commit()
    if not state.lines:
        raise Invalid("the cart is empty", code="empty_cart")
    return state


def _receipt(ordered: CartState) -> Checkout:
    assert ordered.cart.order_id is not None and ordered.cart.currency is not None
    return Checkout(ordered.cart.order_id, ordered.cart.id, ordered.total, ordered.cart.currency)


async def _reprice(ctx: CartContext, state: CartState) -> CartState:
    """Compare every line with today's price; a change is stored and shown, never silently charged."""
    products = await asyncio.gather(*(ctx.catalog.product(line.product_id) for line in state.lines))
    current = {line.product_id: product.price for line, product in zip(state.lines, products, strict=True)}
    changes = domain.price_changes(state.priced, current)
    if not changes:
        return state
    repriced = await _store_prices(ctx, state.cart.id, changes)
    raise PricesChanged(repriced, changes, "prices changed since the items were added; review the cart and "
                                           "check out again to accept them")


async def _store_prices(ctx: CartContext, cart_id: str, changes: list[PriceChange]) -> CartState:
    now = {change.product_id: change.now for change in changes}
    async with ctx.db.transaction() as uow:
        cart = await store.cart(uow, cart_id)
        assert cart is not None
        lines = await store.lines(uow, cart_id)
        if cart.status != CartStatus.OPEN:  # a concurrent checkout finished first; its prices stand
            return CartState(cart, lines)
        lines = [replace(line, unit_price=now[line.product_id].amount, currency=now[line.product_id].currency)
                 if line.product_id in now else line for line in lines]
        await store.set_prices(uow, [line for line in lines if line.product_id in now])
        state = await _contents_changed(uow, cart, lines)
        await uow.commit()
        return state


async def _reserve_order_id(ctx: CartContext, cart_id: str) -> str:
    """Chosen once for the cart's contents and stored before Order is called, so a retry creates the same order."""
    async with ctx.db.autocommit() as uow:  # one statement: on PostgreSQL no BEGIN and COMMIT around it
        order_id = await store.reserve_order_id(uow, cart_id, uuid.uuid4().hex)
        await uow.commit()
    assert order_id is not None
    return order_id


async def _create_order(ctx: CartContext, request: OrderRequest) -> None:
    try:
        await ctx.orders.create_order(request)
    except DependencyUnavailable as down:
        raise DependencyUnavailable(
            f"Could not place the order: {down.message}. The cart is kept; check out again in a moment.",
            details=down.details,
        ) from down


async def _mark_ordered(ctx: CartContext, request: OrderRequest) -> None:
    """The cart's new status and its event commit together (outbox); only the first checkout to get here publishes."""
    async with ctx.db.transaction() as uow:
        if await store.mark_ordered(uow, request.cart_id, request.order_id, utcnow()):
            uow.publish(
                ShoppingCartOrderedEvent(
                    cart_id=request.cart_id,
                    order_id=request.order_id,
                    customer_id=request.customer_id,
                    lines=request.lines,
                    total=request.total,
                    currency=request.currency,
                )
            )
        await uow.commit()
