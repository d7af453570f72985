"""Inventory use cases, shared by the REST API and the event handlers."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from eventshop.contracts.events import InventoryOutOfStockEvent, InventoryProcessedEvent
from eventshop.contracts.events.inventory import StockShortage
from eventshop.contracts.values import OrderLine
from eventshop.platform.db import Database, Incoming, UnitOfWork, utcnow
from eventshop.platform.errors import Invalid, NotFound, NotReady
from eventshop.platform.settings import Settings
from eventshop.platform.statements import Prepared
from eventshop.services.inventory import domain, store
from eventshop.services.inventory.domain import ReservationStatus
from eventshop.services.inventory.tables import Reservation, ReservationLine, Stock

log = logging.getLogger(__name__)


@dataclass
class InventoryContext:
    db: Database
    settings: Settings


@dataclass(frozen=True)
class OrderToReserve:
    order_id: str
    customer_id: str
    lines: list[OrderLine]
    total: int
    currency: str


@dataclass(frozen=True)
class Reserved:
    """The order's reservation, and what was short when it was refused just now (not on a repeat)."""

    status: ReservationStatus
    shortages: list[StockShortage] = field(default_factory=list)


async def reserve_stock(
    ctx: InventoryContext, order: OrderToReserve, handled: Incoming[Any] | None = None
) -> Reserved:
    """Reserve every line of the order, or nothing; publish the outcome."""
    try:
        return await _reserve(ctx, order, handled)
    except IntegrityError:  # a concurrent call for this order recorded its reservation first (PostgreSQL)
        return await _reserve(ctx, order, handled)  # ... which this one now answers as a repeat


async def _reserve(ctx: InventoryContext, order: OrderToReserve, handled: Incoming[Any] | None) -> Reserved:
    async with ctx.db.transaction(handled) as uow:
        existing = await uow.one(store.RESERVATION_STATUS, order_id=order.order_id)
        if not domain.may_reserve(ReservationStatus(existing.status) if existing else None):
            assert existing is not None
            log.info("order %s already %s; reservation not repeated", order.order_id, existing.status)
            await uow.commit()
            return Reserved(ReservationStatus(existing.status))
        plan = domain.plan_reservation(order.lines, await _lock_available(uow, order.lines))
        now = utcnow()
        status = ReservationStatus.RESERVED if plan.possible else ReservationStatus.REJECTED
        await uow.run(store.NEW_RESERVATION, order_id=order.order_id, status=status, created_at=now, updated_at=now)
        if plan.possible:
            await _hold(uow, order.order_id, plan.take, now)
            uow.publish(
                InventoryProcessedEvent(
                    order_id=order.order_id,
                    customer_id=order.customer_id,
                    lines=order.lines,
                    total=order.total,
                    currency=order.currency,
                )
            )
        else:
            uow.publish(
                InventoryOutOfStockEvent(
                    order_id=order.order_id,
                    customer_id=order.customer_id,
                    shortages=plan.shortages,
                    total=order.total,
                    currency=order.currency,
                )
            )
        await uow.commit()
        return Reserved(status, plan.shortages)


async def _lock_available(uow: UnitOfWork, lines: list[OrderLine]) -> dict[str, int]:
    """Units available per product of the order, its stock rows locked in product order (no deadlock)."""
    available: dict[str, int] = {}
    for product_id in sorted(domain.requested_quantities(lines)):
        row = await uow.one(store.AVAILABLE_FOR_UPDATE, product_id=product_id)
        if row is not None:
            available[product_id] = row.available
    return available


async def _hold(uow: UnitOfWork, order_id: str, take: dict[str, int], now: datetime) -> None:
    """Move what the order takes from available to held, one reservation line per product."""
    if take:
        await uow.run(store.NEW_LINE, [{"order_id": order_id, "product_id": pid, "quantity": quantity}
                                       for pid, quantity in take.items()])
        await uow.run(store.HOLD, [{"product": pid, "quantity": quantity, "now": now}
                                   for pid, quantity in take.items()])


async def _move_held(uow: UnitOfWork, order_id: str, move: Prepared, status: ReservationStatus) -> None:
    """Move the order's held units (`move`: back to available, or to sold) and give its reservation `status`."""
    now = utcnow()
    lines = await uow.all(store.RESERVED_LINES, order_id=order_id)
    if lines:
        await uow.run(move, [{"product": line.product_id, "quantity": line.quantity, "now": now} for line in lines])
    await uow.run(store.MOVE_RESERVATION, order=order_id, status=status, now=now)


async def release_stock(
    ctx: InventoryContext, order_id: str, handled: Incoming[Any] | None = None
) -> ReservationStatus:
    """Give back what an order held. A cancel that comes first leaves a marker so the order never reserves."""
    async with ctx.db.transaction(handled) as uow:
        # Locked: two releases of one order at once (the cancel event and Order's call) give it back once.
        reservation = await uow.one(store.RESERVATION_STATUS_FOR_UPDATE, order_id=order_id)
        if reservation is None:
            now = utcnow()
            await uow.run(store.NEW_RESERVATION, order_id=order_id, status=ReservationStatus.CANCELLED,
                          created_at=now, updated_at=now)
            await uow.commit()
            return ReservationStatus.CANCELLED
        if not domain.must_release(ReservationStatus(reservation.status)):
            await uow.commit()
            return ReservationStatus(reservation.status)
        await _move_held(uow, order_id, store.RELEASE, ReservationStatus.RELEASED)
        await uow.commit()
        return ReservationStatus.RELEASED


async def sell_stock(
    ctx: InventoryContext, order_id: str, handled: Incoming[Any] | None = None
) -> ReservationStatus:
    """A shipped order's held units are sold. Its reservation exists before it can ship: wait for it if not."""
    async with ctx.db.transaction(handled) as uow:
        reservation = await uow.one(store.RESERVATION_STATUS_FOR_UPDATE, order_id=order_id)
        if reservation is None:
            raise NotReady(f"order {order_id} shipped but its reservation is not here yet")
        status = ReservationStatus(reservation.status)
        if not domain.must_sell(status):
            if status is not ReservationStatus.SHIPPED:
                log.warning("order %s shipped while its reservation is %s; stock unchanged", order_id, status)
            await uow.commit()
            return status
        await _move_held(uow, order_id, store.SELL, ReservationStatus.SHIPPED)
        await uow.commit()
        return ReservationStatus.SHIPPED


async def set_stock(ctx: InventoryContext, product_id: str, sku: str, available: int) -> Stock:
    """Set how many units can be sold now (stock take); held and sold units are not touched."""
    try:
        domain.validate_stock_level(available)
    except ValueError as exc:
        raise Invalid(str(exc), code="negative_stock") from exc
    async with ctx.db.transaction() as uow:
        stock = await uow.session.get(Stock, product_id, with_for_update=True)
        if stock is None:
            stock = Stock(product_id=product_id, sku=sku, available=available, held=0, sold=0,
                          updated_at=utcnow())
            uow.session.add(stock)
        else:
            stock.available = available
            stock.sku = sku
            stock.updated_at = utcnow()
        await uow.commit()
        return stock


async def stock_levels(ctx: InventoryContext, product_ids: list[str]) -> list[Stock]:
    async with ctx.db.reading() as uow:
        session = uow.session
        query = select(Stock).order_by(Stock.product_id)
        if product_ids:
            query = query.where(Stock.product_id.in_(product_ids))
        return list((await session.scalars(query)).all())


async def reservation(ctx: InventoryContext, order_id: str) -> tuple[Reservation, list[ReservationLine]]:
    async with ctx.db.reading() as uow:
        session = uow.session
        found = await session.get(Reservation, order_id)
        if found is None:
            raise NotFound(f"no reservation for order {order_id}", code="reservation_not_found")
        lines = (await session.scalars(select(ReservationLine).where(ReservationLine.order_id == order_id))).all()
        return found, list(lines)
