"""The Order Database on the paths every order takes: its rows as records, read and written with prepared statements.

Listings and operator queries stay on the ORM (tables.py); an order's creation, its moves, its page and each
step of its saga run here, compiled once (platform/statements.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, Table, bindparam, insert, select, update

from eventshop.contracts.values import OrderLine
from eventshop.platform.db import UnitOfWork
from eventshop.platform.statements import Prepared
from eventshop.services.order.saga import SagaStatus
from eventshop.services.order.tables import Base

ORDERS: Table = Base.metadata.tables["orders"]
LINES: Table = Base.metadata.tables["order_lines"]
TIMELINE: Table = Base.metadata.tables["order_timeline"]
SAGAS: Table = Base.metadata.tables["order_sagas"]


@dataclass
class OrderRecord:
    """One row of `orders`; a change is written back with `save_order`."""

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


@dataclass(frozen=True)
class Entry:
    """One line of an order's timeline, as the order's page shows it."""

    at: datetime
    status: str
    event: str
    detail: str
    trace_id: str | None = None  # the trace it was written in: the console draws it as a waterfall


@dataclass
class SagaRecord:
    """One row of `order_sagas` (the orchestrated style); a change is written back with `save_saga`."""

    order_id: str
    status: str
    step: str
    facts: dict[str, Any]
    attempts: int
    failing_since: datetime | None
    next_attempt_at: datetime | None
    last_error: str | None
    updated_at: datetime


MOVED = ("status", "updated_at", "reason", "payment_id", "carrier", "tracking_number")  # what a saga event changes
SAGA_CHANGES = ("status", "step", "facts", "attempts", "failing_since", "next_attempt_at", "last_error", "updated_at")
LINE_FIELDS = tuple(OrderLine.model_fields)


def _bound(*columns: str) -> dict[str, BindParameter[Any]]:
    """An update's SET clause, each column from the parameter of its name."""
    return {column: bindparam(column) for column in columns}


_ORDER = select(ORDERS).where(ORDERS.c.id == bindparam("order_id"))
ORDER = Prepared(_ORDER)
# Order's consumers run at once: two events about one order must not both move it from the state they read.
ORDER_LOCKED = Prepared(_ORDER, for_update=True)
NEW_ORDER = Prepared(insert(ORDERS), columns=[c.key for c in ORDERS.columns])
MOVE_ORDER = Prepared(update(ORDERS).where(ORDERS.c.id == bindparam("order_id")).values(_bound(*MOVED)))
NEW_LINE = Prepared(insert(LINES), columns=("order_id", "position", *LINE_FIELDS))
ORDER_LINES = Prepared(
    select(*(LINES.c[name] for name in LINE_FIELDS)).where(LINES.c.order_id == bindparam("order_id"))
    .order_by(LINES.c.position)
)
NEW_ENTRY = Prepared(insert(TIMELINE),
                     columns=("order_id", "at", "event", "event_id", "status", "detail", "trace_id"))
ENTRIES = Prepared(
    select(TIMELINE.c.at, TIMELINE.c.status, TIMELINE.c.event, TIMELINE.c.detail, TIMELINE.c.trace_id)
    .where(TIMELINE.c.order_id == bindparam("order_id"))
    .order_by(TIMELINE.c.id)
)
SAGA_LOCKED = Prepared(select(SAGAS).where(SAGAS.c.order_id == bindparam("order_id")), for_update=True)
NEW_SAGA = Prepared(insert(SAGAS), columns=[c.key for c in SAGAS.columns])
# An update's parameters may not be named after one of its table's columns: the saga is `saga`, not `order_id`.
LEASE_SAGA = Prepared(update(SAGAS).where(SAGAS.c.order_id == bindparam("saga")).values(_bound("next_attempt_at")))
SAVE_SAGA = Prepared(update(SAGAS).where(SAGAS.c.order_id == bindparam("saga")).values(_bound(*SAGA_CHANGES)))
DUE_SAGAS = Prepared(
    select(SAGAS.c.order_id)
    .where(SAGAS.c.status == SagaStatus.RUNNING.value, SAGAS.c.next_attempt_at <= bindparam("now"))
    .order_by(SAGAS.c.next_attempt_at)
    .limit(bindparam("limit"))
)


async def find_order(uow: UnitOfWork, order_id: str, *, lock: bool = False) -> OrderRecord | None:
    """The order, or None; `lock` holds its row until the unit of work ends (PostgreSQL)."""
    row = await uow.one(ORDER_LOCKED if lock else ORDER, order_id=order_id)
    return None if row is None else OrderRecord(**row._asdict())


async def add_order(uow: UnitOfWork, order: OrderRecord, lines: list[OrderLine]) -> None:
    await uow.run(NEW_ORDER, **vars(order))
    await uow.run(NEW_LINE, [{"order_id": order.id, "position": position, **line.model_dump()}
                             for position, line in enumerate(lines)])


async def save_order(uow: UnitOfWork, order: OrderRecord) -> None:
    await uow.run(MOVE_ORDER, order_id=order.id, **{column: getattr(order, column) for column in MOVED})


async def order_lines(uow: UnitOfWork, order_id: str) -> list[OrderLine]:
    return [OrderLine(**row._asdict()) for row in await uow.all(ORDER_LINES, order_id=order_id)]


async def add_entry(uow: UnitOfWork, order_id: str, entry: Entry, event_id: str | None) -> None:
    await uow.run(NEW_ENTRY, order_id=order_id, at=entry.at, event=entry.event, event_id=event_id,
                  status=entry.status, detail=entry.detail, trace_id=entry.trace_id)


async def timeline(uow: UnitOfWork, order_id: str) -> list[Entry]:
    return [Entry(**row._asdict()) for row in await uow.all(ENTRIES, order_id=order_id)]


async def lock_saga(uow: UnitOfWork, order_id: str) -> SagaRecord | None:
    """The order's saga, locked until the unit of work ends (PostgreSQL), or None."""
    row = await uow.one(SAGA_LOCKED, order_id=order_id)
    return None if row is None else SagaRecord(**row._asdict())


async def add_saga(uow: UnitOfWork, saga: SagaRecord) -> None:
    await uow.run(NEW_SAGA, **vars(saga))


async def lease_saga(uow: UnitOfWork, order_id: str, until: datetime) -> None:
    await uow.run(LEASE_SAGA, saga=order_id, next_attempt_at=until)


async def save_saga(uow: UnitOfWork, saga: SagaRecord) -> None:
    await uow.run(SAVE_SAGA, saga=saga.order_id, **{column: getattr(saga, column) for column in SAGA_CHANGES})


async def due_sagas(uow: UnitOfWork, now: datetime, limit: int) -> list[str]:
    """Orders whose running saga has a step due by `now`, the longest due first."""
    return [row.order_id for row in await uow.all(DUE_SAGAS, now=now, limit=limit)]
