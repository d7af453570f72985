"""Inventory use cases, shared by the REST API and the event handlers."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from eventshop.contracts.events import InventoryOutOfStockEvent, InventoryProcessedEvent
from eventshop.contracts.events.inventory import StockShortage
from eventshop.contracts.values import OrderLine
from eventshop.platform.db import Database, Incoming, utcnow
from eventshop.platform.errors import Invalid, NotFound, NotReady
from eventshop.platform.settings import Settings
from eventshop.services.inventory import domain
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
    async with ctx.db.transaction(handled) as uow:
        existing = await uow.session.get(Reservation, order.order_id)
        if not domain.may_reserve(ReservationStatus(existing.status) if existing else None):
            assert existing is not None
            log.info("order %s already %s; reservation not repeated", order.order_id, existing.status)
            await uow.commit()
            return Reserved(ReservationStatus(existing.status))
        wanted = domain.requested_quantities(order.lines)
        rows = (
            await uow.session.scalars(
                select(Stock).where(Stock.product_id.in_(wanted)).order_by(Stock.product_id).with_for_update()
            )
        ).all()
        stock = {row.product_id: row for row in rows}
        plan = domain.plan_reservation(order.lines, {pid: row.available for pid, row in stock.items()})
        now = utcnow()
        if plan.possible:
            for pid, quantity in plan.take.items():
                stock[pid].available -= quantity
                stock[pid].held += quantity
                stock[pid].updated_at = now
                uow.session.add(ReservationLine(order_id=order.order_id, product_id=pid, quantity=quantity))
            status = ReservationStatus.RESERVED
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
            status = ReservationStatus.REJECTED
            uow.publish(
                InventoryOutOfStockEvent(
                    order_id=order.order_id,
                    customer_id=order.customer_id,
                    shortages=plan.shortages,
                    total=order.total,
                    currency=order.currency,
                )
            )
        uow.session.add(Reservation(order_id=order.order_id, status=status, created_at=now, updated_at=now))
        await uow.commit()
        return Reserved(status, plan.shortages)


async def release_stock(
    ctx: InventoryContext, order_id: str, handled: Incoming[Any] | None = None
) -> ReservationStatus:
    """Give back what an order held. A cancel that comes first leaves a marker so the order never reserves."""
    async with ctx.db.transaction(handled) as uow:
        reservation = await uow.session.get(Reservation, order_id)
        now = utcnow()
        if reservation is None:
            uow.session.add(
                Reservation(order_id=order_id, status=ReservationStatus.CANCELLED, created_at=now, updated_at=now)
            )
            await uow.commit()
            return ReservationStatus.CANCELLED
        if not domain.must_release(ReservationStatus(reservation.status)):
            await uow.commit()
            return ReservationStatus(reservation.status)
        lines = (await uow.session.scalars(select(ReservationLine).where(ReservationLine.order_id == order_id))).all()
        for line in lines:
            stock = await uow.session.get(Stock, line.product_id, with_for_update=True)
            if stock is not None:
                stock.available += line.quantity
                stock.held -= line.quantity
                stock.updated_at = now
        reservation.status = ReservationStatus.RELEASED
        reservation.updated_at = now
        await uow.commit()
        return ReservationStatus.RELEASED


async def sell_stock(
    ctx: InventoryContext, order_id: str, handled: Incoming[Any] | None = None
) -> ReservationStatus:
    """A shipped order's held units are sold. Its reservation exists before it can ship: wait for it if not."""
    async with ctx.db.transaction(handled) as uow:
        reservation = await uow.session.get(Reservation, order_id, with_for_update=True)
        if reservation is None:
            raise NotReady(f"order {order_id} shipped but its reservation is not here yet")
        status = ReservationStatus(reservation.status)
        if not domain.must_sell(status):
            if status is not ReservationStatus.SHIPPED:
                log.warning("order %s shipped while its reservation is %s; stock unchanged", order_id, status)
            await uow.commit()
            return status
        now = utcnow()
        lines = (await uow.session.scalars(select(ReservationLine).where(ReservationLine.order_id == order_id))).all()
        for line in lines:
            stock = await uow.session.get(Stock, line.product_id, with_for_update=True)
            if stock is not None:
                stock.held -= line.quantity
                stock.sold += line.quantity
                stock.updated_at = now
        reservation.status = ReservationStatus.SHIPPED
        reservation.updated_at = now
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
