"""Payment's rows as the use cases read and write them, with statements compiled once (platform/statements.py).

Every order opens, charges (or voids) and maybe refunds a payment: these statements serve those paths.
A payment is read into a `PaymentRecord`, changed by the use case and written back whole by `save`, under
the row lock the read took; listings and reconciliation's searches stay on the ORM (tables.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from eventshop.platform.db import UnitOfWork
from eventshop.platform.statements import Prepared
from eventshop.services.payment.tables import Base

PAYMENTS = Base.metadata.tables["payments"]
HISTORY = Base.metadata.tables["payment_history"]
REPLICAS = Base.metadata.tables["account_replicas"]


@dataclass
class PaymentRecord:
    """One row of `payments`."""

    order_id: str
    customer_id: str
    amount: int
    currency: str
    status: str
    provider_payment_id: str | None
    failure_reason: str | None
    refunded_amount: int
    lines: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime
    unknown_since: datetime | None
    next_check_at: datetime | None
    reconcile_checks: int


@dataclass
class ReplicaRecord:
    """One row of `account_replicas`."""

    account_id: str
    status: str
    revision: int
    payment_token: str | None
    token_revision: int | None
    updated_at: datetime


# What a payment's life changes; the order, customer and amount are fixed when it is opened.
PAYMENT_CHANGES = ("status", "provider_payment_id", "failure_reason", "refunded_amount", "lines", "updated_at",
                   "unknown_since", "next_check_at", "reconcile_checks")
REPLICA_CHANGES = ("status", "revision", "payment_token", "token_revision", "updated_at")

_PAYMENT = select(PAYMENTS).where(PAYMENTS.c.order_id == bindparam("order_id"))
PAYMENT = Prepared(_PAYMENT)
PAYMENT_FOR_UPDATE = Prepared(_PAYMENT, for_update=True)
PAYMENT_STATUS = Prepared(select(PAYMENTS.c.status).where(PAYMENTS.c.order_id == bindparam("order_id")))
NEW_PAYMENT = Prepared(insert(PAYMENTS), columns=[column.name for column in PAYMENTS.c])
# The where clause's key is not named like a column: SQLAlchemy keeps such names for the SET clause.
SAVE_PAYMENT = Prepared(update(PAYMENTS).where(PAYMENTS.c.order_id == bindparam("key")).values(
    {name: bindparam(name) for name in PAYMENT_CHANGES}))
NEW_HISTORY = Prepared(insert(HISTORY), columns=("order_id", "at", "status", "detail"))
HISTORY_OF = Prepared(select(HISTORY.c.at, HISTORY.c.status, HISTORY.c.detail)
                      .where(HISTORY.c.order_id == bindparam("order_id")).order_by(HISTORY.c.id))

_REPLICA = select(REPLICAS).where(REPLICAS.c.account_id == bindparam("account_id"))
REPLICA = Prepared(_REPLICA)
REPLICA_FOR_UPDATE = Prepared(_REPLICA, for_update=True)
NEW_REPLICA = Prepared(insert(REPLICAS), columns=[column.name for column in REPLICAS.c])
SAVE_REPLICA = Prepared(update(REPLICAS).where(REPLICAS.c.account_id == bindparam("key")).values(
    {name: bindparam(name) for name in REPLICA_CHANGES}))


async def payment(uow: UnitOfWork, order_id: str, *, for_update: bool = False) -> PaymentRecord | None:
    """The order's payment; `for_update` locks it until the transaction ends (PostgreSQL)."""
    row = await uow.one(PAYMENT_FOR_UPDATE if for_update else PAYMENT, order_id=order_id)
    return PaymentRecord(**row._asdict()) if row is not None else None


async def add_payment(uow: UnitOfWork, payment: PaymentRecord) -> None:
    await uow.run(NEW_PAYMENT, **vars(payment))


async def save_payment(uow: UnitOfWork, payment: PaymentRecord) -> None:
    await uow.run(SAVE_PAYMENT, key=payment.order_id, **{name: getattr(payment, name) for name in PAYMENT_CHANGES})


async def add_history(uow: UnitOfWork, order_id: str, at: datetime, status: str, detail: str) -> None:
    await uow.run(NEW_HISTORY, order_id=order_id, at=at, status=status, detail=detail)


async def replica(uow: UnitOfWork, account_id: str, *, for_update: bool = False) -> ReplicaRecord | None:
    row = await uow.one(REPLICA_FOR_UPDATE if for_update else REPLICA, account_id=account_id)
    return ReplicaRecord(**row._asdict()) if row is not None else None


async def add_replica(uow: UnitOfWork, replica: ReplicaRecord) -> None:
    await uow.run(NEW_REPLICA, **vars(replica))


async def save_replica(uow: UnitOfWork, replica: ReplicaRecord) -> None:
    await uow.run(SAVE_REPLICA, key=replica.account_id, **{name: getattr(replica, name) for name in REPLICA_CHANGES})
