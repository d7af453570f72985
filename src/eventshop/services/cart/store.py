"""Shopping Cart's reads and writes of carts and lines, as statements prepared once (platform/statements.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, bindparam, delete, func, insert, null, select, update
from sqlalchemy.exc import IntegrityError

from eventshop.platform.db import UnitOfWork
from eventshop.platform.statements import Prepared
from eventshop.services.cart.domain import CartStatus
from eventshop.services.cart.tables import Base

CARTS: Table = Base.metadata.tables["carts"]
LINES: Table = Base.metadata.tables["cart_lines"]


@dataclass(frozen=True)
class CartRecord:
    """One row of carts; a row read makes one by its column names."""

    id: str
    customer_id: str
    status: str
    currency: str | None
    order_id: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class LineRecord:
    """One row of cart_lines."""

    cart_id: str
    product_id: str
    sku: str
    name: str
    quantity: int
    unit_price: int
    currency: str
    added_at: datetime


# Parameters named after a column set only that column; the where clauses' names are no column's name, or
# PostgreSQL's path (SQLAlchemy) would take them for columns to set.
_OPEN_CART = Prepared(
    select(CARTS).where(CARTS.c.customer_id == bindparam("customer"), CARTS.c.status == CartStatus.OPEN.value),
    for_update=True,
)
_CUSTOMERS_CART = Prepared(
    select(CARTS).where(CARTS.c.id == bindparam("cart"), CARTS.c.customer_id == bindparam("customer")))
_CART = Prepared(select(CARTS).where(CARTS.c.id == bindparam("cart")))
_NEW_CART = Prepared(insert(CARTS))
_CONTENTS_CHANGED = Prepared(
    update(CARTS).where(CARTS.c.id == bindparam("cart"))
    .values(order_id=null(), currency=bindparam("currency"), updated_at=bindparam("updated_at"))
)
_RESERVE_ORDER_ID = Prepared(
    update(CARTS).where(CARTS.c.id == bindparam("cart"))
    .values(order_id=func.coalesce(CARTS.c.order_id, bindparam("new_order_id")))
    .returning(CARTS.c.order_id)
)
_MARK_ORDERED = Prepared(
    update(CARTS).where(CARTS.c.id == bindparam("cart"), CARTS.c.status == CartStatus.OPEN.value)
    .values(status=CartStatus.ORDERED.value, order_id=bindparam("order_id"), updated_at=bindparam("updated_at"))
)
_LINES = Prepared(
    select(LINES).where(LINES.c.cart_id == bindparam("cart")).order_by(LINES.c.added_at, LINES.c.product_id))
_NEW_LINE = Prepared(insert(LINES))
_LINE_WHERE = (LINES.c.cart_id == bindparam("cart"), LINES.c.product_id == bindparam("product"))
_SET_LINE = Prepared(update(LINES).where(*_LINE_WHERE).values(
    sku=bindparam("sku"), name=bindparam("name"), quantity=bindparam("quantity"),
    unit_price=bindparam("unit_price"), currency=bindparam("currency")))
_SET_QUANTITY = Prepared(update(LINES).where(*_LINE_WHERE).values(quantity=bindparam("quantity")))
_SET_PRICE = Prepared(update(LINES).where(*_LINE_WHERE).values(
    unit_price=bindparam("unit_price"), currency=bindparam("currency")))
_REMOVE_LINE = Prepared(delete(LINES).where(*_LINE_WHERE))


async def open_cart(uow: UnitOfWork, customer_id: str) -> CartRecord | None:
    """Locked for the transaction: two requests on one cart (a double click) change it one after the other."""
    row = await uow.one(_OPEN_CART, customer=customer_id)
    return CartRecord(**row._asdict()) if row else None


async def customers_cart(uow: UnitOfWork, customer_id: str, cart_id: str) -> CartRecord | None:
    row = await uow.one(_CUSTOMERS_CART, cart=cart_id, customer=customer_id)
    return CartRecord(**row._asdict()) if row else None


async def cart(uow: UnitOfWork, cart_id: str) -> CartRecord | None:
    row = await uow.one(_CART, cart=cart_id)
    return CartRecord(**row._asdict()) if row else None


async def add_cart(uow: UnitOfWork, cart: CartRecord) -> bool:
    """False when a concurrent request opened the customer's cart first. That happens on PostgreSQL only:
    SQLite's writers take turns, so none can have opened one since this transaction looked."""
    if uow.db.is_sqlite:
        await uow.run(_NEW_CART, **vars(cart))  # no savepoint: it would cost more than the insert
        return True
    try:
        async with uow.savepoint():
            await uow.run(_NEW_CART, **vars(cart))
    except IntegrityError:
        return False
    return True


async def contents_changed(uow: UnitOfWork, cart: CartRecord, currency: str | None, now: datetime) -> None:
    """Order refuses a known order id with other contents, so an id reserved for the old contents goes."""
    await uow.run(_CONTENTS_CHANGED, cart=cart.id, currency=currency, updated_at=now)


async def reserve_order_id(uow: UnitOfWork, cart_id: str, new_order_id: str) -> str | None:
    """The cart's order id: the one it has, else `new_order_id`, stored now."""
    row = await uow.one(_RESERVE_ORDER_ID, cart=cart_id, new_order_id=new_order_id)
    return str(row.order_id) if row else None


async def mark_ordered(uow: UnitOfWork, cart_id: str, order_id: str, now: datetime) -> bool:
    """Whether the cart was open and is ordered now."""
    return await uow.run(_MARK_ORDERED, cart=cart_id, order_id=order_id, updated_at=now) == 1


async def lines(uow: UnitOfWork, cart_id: str) -> list[LineRecord]:
    """The cart's lines in the order they were added."""
    return [LineRecord(**row._asdict()) for row in await uow.all(_LINES, cart=cart_id)]


async def add_line(uow: UnitOfWork, line: LineRecord) -> None:
    await uow.run(_NEW_LINE, **vars(line))


async def replace_line(uow: UnitOfWork, line: LineRecord) -> None:
    """The line's product data, quantity and price (the cart and product stay, and when it was added)."""
    await uow.run(_SET_LINE, cart=line.cart_id, product=line.product_id, sku=line.sku, name=line.name,
                  quantity=line.quantity, unit_price=line.unit_price, currency=line.currency)


async def set_quantity(uow: UnitOfWork, line: LineRecord) -> None:
    await uow.run(_SET_QUANTITY, cart=line.cart_id, product=line.product_id, quantity=line.quantity)


async def set_prices(uow: UnitOfWork, lines: list[LineRecord]) -> None:
    if not lines:
        return
    await uow.run(_SET_PRICE, [{"cart": line.cart_id, "product": line.product_id, "unit_price": line.unit_price,
                                "currency": line.currency} for line in lines])


async def remove_line(uow: UnitOfWork, line: LineRecord) -> None:
    await uow.run(_REMOVE_LINE, cart=line.cart_id, product=line.product_id)
