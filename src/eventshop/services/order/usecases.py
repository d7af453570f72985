"""Order use cases: create an order (Cart's "Create Order") and move it through the saga."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from prometheus_client import Gauge
from pydantic import Field
from pydantic_settings import SettingsConfigDict
from sqlalchemy import func, select

from eventshop.contracts.envelope import Event
from eventshop.contracts.events import (
    OrderCancelledEvent,
    OrderProcessedEvent,
    PaymentFailedEvent,
    PaymentProcessedEvent,
    ShippingFailedEvent,
    ShippingProcessedEvent,
    ShoppingCartOrderedEvent,
)
from eventshop.contracts.money import format_money
from eventshop.contracts.values import OrderLine
from eventshop.platform.db import Database, Incoming, UnitOfWork, utcnow
from eventshop.platform.errors import Conflict, Invalid, NotFound, NotReady
from eventshop.platform.settings import EnvSettings, Settings
from eventshop.platform.tracing import current_trace_id
from eventshop.services.order import domain, store
from eventshop.services.order.clients import SagaClients
from eventshop.services.order.domain import Emit, OrderStatus, Outcome
from eventshop.services.order.saga import SagaStatus, Step
from eventshop.services.order.store import Entry, OrderRecord, SagaRecord
from eventshop.services.order.tables import Order

log = logging.getLogger(__name__)


ORDERS_NOT_FINAL = Gauge(
    "eventshop_orders_not_final",
    "Orders neither shipped nor cancelled although placed longer ago than older_than seconds",
    ["older_than"],
)


class StuckOrderSettings(EnvSettings):
    """EVENTSHOP_ORDER_STUCK_AFTER_SECONDS: an order not final after this long is counted and listed as stuck."""

    model_config = SettingsConfigDict(env_prefix="EVENTSHOP_ORDER_", extra="ignore")

    stuck_after_seconds: float = Field(default=600.0, gt=0)


@dataclass
class OrderContext:
    db: Database
    settings: Settings
    stuck_after_seconds: float = 600.0
    sagas: SagaClients | None = None  # the orchestrated style's calls
    saga_signal: asyncio.Event = field(default_factory=asyncio.Event)  # set when a saga step becomes due


@dataclass(frozen=True)
class NewOrder:
    order_id: str
    cart_id: str
    customer_id: str
    lines: list[OrderLine]
    total: int
    currency: str


def _check(order: NewOrder) -> None:
    if not order.lines:
        raise Invalid("an order needs at least one line", code="empty_order")
    if any(line.currency != order.currency for line in order.lines):
        raise Invalid("all lines must be in the order's currency", code="mixed_currency")
    if domain.order_total([(line.quantity, line.unit_price) for line in order.lines]) != order.total:
        raise Invalid("total does not match the lines", code="total_mismatch")


async def create_order(ctx: OrderContext, order: NewOrder) -> tuple[OrderDetails, bool]:
    """Create the order in state `created`; repeating the same request returns the same order (as it is now)."""
    _check(order)
    async with ctx.db.transaction() as uow:
        existing = await store.find_order(uow, order.order_id)
        if existing is not None:
            if existing.cart_id != order.cart_id or existing.total != order.total:
                raise Conflict(f"order {order.order_id} exists with other contents", code="order_conflict")
            return await _details(uow, existing), False
        created = await _add_order(uow, order)
        placed = await _timeline(uow, created, "OrderCreated", None, "Order placed")
        await uow.commit()
        return OrderDetails(created, list(order.lines), [placed]), True


async def _add_order(uow: UnitOfWork, order: NewOrder) -> OrderRecord:
    now = utcnow()
    row = OrderRecord(id=order.order_id, cart_id=order.cart_id, customer_id=order.customer_id,
                      status=OrderStatus.CREATED, reason=None, total=order.total, currency=order.currency,
                      payment_id=None, carrier=None, tracking_number=None, created_at=now, updated_at=now)
    await store.add_order(uow, row, order.lines)
    return row


async def _timeline(uow: UnitOfWork, order: OrderRecord, event: str, event_id: str | None, detail: str) -> Entry:
    entry = Entry(at=utcnow(), status=order.status, event=event, detail=detail, trace_id=current_trace_id())
    await store.add_entry(uow, order.id, entry, event_id)
    return entry


def describe(event: Event) -> str:
    """One line for the order's timeline."""
    match event:
        case ShoppingCartOrderedEvent():
            return "Order confirmed; reserving stock"
        case PaymentProcessedEvent():
            return f"Payment of {format_money(event.amount, event.currency)} received"
        case PaymentFailedEvent():
            return f"Payment failed: {event.reason}" + (f" ({event.message})" if event.message else "")
        case ShippingProcessedEvent():
            return f"Shipped with {event.carrier}, tracking number {event.tracking_number}"
        case ShippingFailedEvent():
            return f"Shipping failed: {event.reason}" + (f" ({event.message})" if event.message else "")
    return event.type_name()


async def advance_order(ctx: OrderContext, incoming: Incoming[Any]) -> Outcome:
    """Apply one saga event to its order, per the state machine in domain.py."""
    event = incoming.event
    name = event.type_name()
    async with ctx.db.transaction(handled=incoming) as uow:
        # Locked: Order's consumers run at once, and two events about one order must not both
        # move it from the state they read (on PostgreSQL the later commit would win).
        order = await store.find_order(uow, event.order_id, lock=True)
        if order is None and isinstance(event, ShoppingCartOrderedEvent):
            # The event carries the whole order, so a lost "Create Order" response costs nothing.
            order = await _add_order(uow, _from_cart_event(event))
        if order is None:
            raise NotReady(f"order {event.order_id} is not ready for {name}")
        outcome, announced = await apply_event(uow, order, event, incoming.envelope.id)
        started = ctx.settings.saga == "orchestration" and isinstance(announced, OrderProcessedEvent)
        if isinstance(announced, OrderProcessedEvent) and started:
            await start_saga(uow, order.id, announced)
        await uow.commit()
    if started:
        ctx.saga_signal.set()
    return outcome


async def apply_event(
    uow: UnitOfWork, order: OrderRecord, event: Event, event_id: str | None
) -> tuple[Outcome, Event | None]:
    """What happened to a locked order, in either saga style: its new state, timeline entry and the event
    it announces (staged in the outbox), if any. NotReady when the order is not there yet."""
    name = event.type_name()
    decision = domain.decide(OrderStatus(order.status), name)
    if decision.outcome is Outcome.EARLY:
        raise NotReady(f"order {order.id} is not ready for {name}")
    if decision.outcome is Outcome.IGNORE:
        log.info("order %s is %s; %s ignored", order.id, order.status, name)
        await _timeline(uow, order, name, event_id, f"Ignored (order already {order.status})")
        return Outcome.IGNORE, None
    assert decision.transition is not None
    _apply(order, event, decision.transition.target)
    await store.save_order(uow, order)
    await _timeline(uow, order, name, event_id, describe(event))
    return Outcome.APPLY, await _announce(uow, order, decision.transition.emit)


async def start_saga(uow: UnitOfWork, order_id: str, processed: OrderProcessedEvent) -> None:
    """Orchestration: the order's saga, due at once, committed with the order's move to processing."""
    now = utcnow()
    await store.add_saga(uow, SagaRecord(
        order_id=order_id, status=SagaStatus.RUNNING, step=Step.NOTIFY_CONFIRMED,
        facts={processed.type_name(): json.loads(processed.model_dump_json())}, attempts=0, failing_since=None,
        next_attempt_at=now, last_error=None, updated_at=now))


def _from_cart_event(event: ShoppingCartOrderedEvent) -> NewOrder:
    return NewOrder(event.order_id, event.cart_id, event.customer_id, event.lines, event.total, event.currency)


def _apply(order: OrderRecord, event: Event, target: OrderStatus) -> None:
    order.status = target
    order.updated_at = utcnow()
    match event:
        case PaymentProcessedEvent():
            order.payment_id = event.payment_id
        case ShippingProcessedEvent():
            order.carrier = event.carrier
            order.tracking_number = event.tracking_number
        case PaymentFailedEvent() | ShippingFailedEvent():
            order.reason = domain.cancellation_reason(event.type_name(), event.reason)


async def _announce(uow: UnitOfWork, order: OrderRecord, emit: Emit) -> Event | None:
    if emit is Emit.NONE:
        return None
    lines = await store.order_lines(uow, order.id)
    common = {"order_id": order.id, "customer_id": order.customer_id, "lines": lines, "total": order.total,
              "currency": order.currency}
    event: Event
    if emit is Emit.PROCESSED:
        event = OrderProcessedEvent(**common)
    else:
        event = OrderCancelledEvent(reason=order.reason or "cancelled", **common)
    uow.publish(event)
    return event


@dataclass(frozen=True)
class OrderDetails:
    order: OrderRecord
    lines: list[OrderLine]
    timeline: list[Entry]


async def get_order(ctx: OrderContext, order_id: str) -> OrderDetails:
    async with ctx.db.reading() as uow:
        order = await store.find_order(uow, order_id)
        if order is None:
            raise NotFound(f"no order {order_id}", code="order_not_found")
        return await _details(uow, order)


async def _details(uow: UnitOfWork, order: OrderRecord) -> OrderDetails:
    return OrderDetails(order, await store.order_lines(uow, order.id), await store.timeline(uow, order.id))


@dataclass(frozen=True)
class OrderFilter:
    """Which orders a listing shows: one customer's (None: everybody's), one status, placed before an age."""

    customer_id: str | None = None
    status: OrderStatus | None = None
    older_than: float | None = None  # seconds since the order was placed

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.customer_id is not None:
            found.append(Order.customer_id == self.customer_id)
        if self.status is not None:
            found.append(Order.status == self.status.value)
        if self.older_than is not None:
            found.append(Order.created_at < utcnow() - timedelta(seconds=self.older_than))
        return found


async def list_orders(ctx: OrderContext, which: OrderFilter, page: int, page_size: int) -> tuple[list[Order], int]:
    """The orders `which` selects, newest first, one page of them, and how many in all."""
    conditions = which.conditions()
    async with ctx.db.reading() as uow:
        total = await uow.session.scalar(select(func.count()).select_from(Order).where(*conditions))
        rows = await uow.session.scalars(
            select(Order)
            .where(*conditions)
            .order_by(Order.created_at.desc(), Order.id)
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
        return list(rows.all()), int(total or 0)


def _not_final_since(placed_before_seconds: float) -> Any:
    cutoff = utcnow() - timedelta(seconds=placed_before_seconds)
    return (Order.status.in_(domain.NOT_FINAL), Order.created_at < cutoff)


async def list_stuck_orders(ctx: OrderContext, older_than: float, limit: int = 100) -> tuple[list[Order], int]:
    """Orders placed more than `older_than` seconds ago and not final yet, oldest first, and how many in all."""
    conditions = _not_final_since(older_than)
    async with ctx.db.reading() as uow:
        total = await uow.session.scalar(select(func.count()).where(*conditions))
        rows = await uow.session.scalars(select(Order).where(*conditions).order_by(Order.created_at).limit(limit))
        return list(rows.all()), int(total or 0)


async def count_orders_not_final(ctx: OrderContext) -> None:
    """Refresh `eventshop_orders_not_final` (at each /metrics scrape): one count on (status, created_at)."""
    async with ctx.db.reading() as uow:
        total = await uow.session.scalar(select(func.count()).where(*_not_final_since(ctx.stuck_after_seconds)))
    ORDERS_NOT_FINAL.labels(f"{ctx.stuck_after_seconds:g}").set(int(total or 0))
