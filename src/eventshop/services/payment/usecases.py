"""Payment use cases. External calls happen before the transaction that records their result,
with idempotency keys derived from the order, so a redelivered event repeats them harmlessly."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from eventshop.contracts.events import PaymentFailedEvent, PaymentProcessedEvent
from eventshop.contracts.values import OrderLine
from eventshop.platform.db import Database, Incoming, UnitOfWork, utcnow
from eventshop.platform.errors import NotFound, NotReady
from eventshop.platform.settings import Settings
from eventshop.services.payment import domain
from eventshop.services.payment.clients import AccountClient
from eventshop.services.payment.domain import PaymentStatus
from eventshop.services.payment.payment_system import ChargeOutcome, PaymentSystemClient
from eventshop.services.payment.tables import AccountReplica, Payment, PaymentHistory

log = logging.getLogger(__name__)


@dataclass
class PaymentContext:
    db: Database
    settings: Settings
    accounts: AccountClient
    provider: PaymentSystemClient


@dataclass(frozen=True)
class OrderToPay:
    order_id: str
    customer_id: str
    amount: int
    currency: str
    lines: list[OrderLine] = field(default_factory=list)


def _add(uow: UnitOfWork, order: OrderToPay, status: PaymentStatus, detail: str) -> Payment:
    now = utcnow()
    payment = Payment(order_id=order.order_id, customer_id=order.customer_id, amount=order.amount,
                      currency=order.currency, status=status, refunded_amount=0,
                      lines=[line.model_dump() for line in order.lines], created_at=now, updated_at=now)
    uow.session.add(payment)
    uow.session.add(PaymentHistory(order_id=order.order_id, at=now, status=status, detail=detail))
    return payment


def _move(uow: UnitOfWork, payment: Payment, status: PaymentStatus, detail: str) -> None:
    payment.status, payment.updated_at = status, utcnow()
    uow.session.add(PaymentHistory(order_id=payment.order_id, at=payment.updated_at, status=status, detail=detail))


async def open_payment(ctx: PaymentContext, order: OrderToPay, handled: Incoming[Any] | None = None) -> None:
    """A pending payment for the order's total; a later event may have created it already."""
    async with ctx.db.transaction(handled) as uow:
        if await uow.session.get(Payment, order.order_id) is None:
            _add(uow, order, PaymentStatus.PENDING, "awaiting stock reservation")
        await uow.commit()


async def _status(ctx: PaymentContext, order_id: str) -> PaymentStatus | None:
    async with ctx.db.transaction() as uow:
        payment = await uow.session.get(Payment, order_id)
        return PaymentStatus(payment.status) if payment else None


async def _replica_status(ctx: PaymentContext, account_id: str) -> str | None:
    async with ctx.db.transaction() as uow:
        replica = await uow.session.get(AccountReplica, account_id)
        return replica.status if replica else None


@dataclass(frozen=True)
class ChargeDecision:
    status: PaymentStatus
    provider_payment_id: str | None = None
    reason: str | None = None
    message: str = ""


async def _attempt_charge(ctx: PaymentContext, order: OrderToPay) -> ChargeDecision:
    if await _replica_status(ctx, order.customer_id) == "deactivated":
        return ChargeDecision(PaymentStatus.FAILED, reason="account_deactivated", message="the account is deactivated")
    data = await ctx.accounts.payment_data(order.customer_id)
    if data.status == "deactivated":
        return ChargeDecision(PaymentStatus.FAILED, reason="account_deactivated", message="the account is deactivated")
    result = await ctx.provider.charge(amount=order.amount, currency=order.currency, token=data.payment_token,
                                       reference=order.order_id, idempotency_key=f"order-{order.order_id}-charge")
    if result.outcome is ChargeOutcome.UNKNOWN:
        raise NotReady(f"charge for order {order.order_id} has an unknown outcome; looking again later")
    if result.outcome is ChargeOutcome.SUCCEEDED:
        return ChargeDecision(PaymentStatus.SUCCEEDED, result.payment_id)
    return ChargeDecision(PaymentStatus.FAILED, result.payment_id, domain.decline_reason(result.failure_code),
                          result.failure_message or "")


async def charge_payment(ctx: PaymentContext, order: OrderToPay, handled: Incoming[Any] | None = None) -> Payment:
    """Charge the order's amount once; publish PaymentProcessedEvent or PaymentFailedEvent."""
    status = await _status(ctx, order.order_id)
    decision = await _attempt_charge(ctx, order) if domain.may_charge(status) else None
    async with ctx.db.transaction(handled) as uow:
        payment = await uow.session.get(Payment, order.order_id, with_for_update=True)
        if payment is None:
            payment = _add(uow, order, PaymentStatus.PENDING, "opened on stock reservation")
        if decision is None or not domain.may_charge(PaymentStatus(payment.status)):
            log.info("payment for order %s is already %s; not charged again", order.order_id, payment.status)
            await uow.commit()
            return payment
        payment.provider_payment_id = decision.provider_payment_id
        payment.lines = payment.lines or [line.model_dump() for line in order.lines]
        if decision.status is PaymentStatus.SUCCEEDED:
            _move(uow, payment, PaymentStatus.SUCCEEDED, f"charged {payment.amount} {payment.currency}")
            uow.publish(PaymentProcessedEvent(
                order_id=payment.order_id, customer_id=payment.customer_id,
                payment_id=decision.provider_payment_id or "", amount=payment.amount, currency=payment.currency,
                lines=[OrderLine.model_validate(line) for line in payment.lines]))
        else:
            payment.failure_reason = decision.reason
            _move(uow, payment, PaymentStatus.FAILED, f"failed: {decision.reason}")
            _publish_failure(uow, payment, decision.reason or "card_declined", decision.message)
        await uow.commit()
        return payment


def _publish_failure(uow: UnitOfWork, payment: Payment, reason: str, message: str) -> None:
    uow.publish(PaymentFailedEvent(order_id=payment.order_id, customer_id=payment.customer_id,
                                   payment_id=payment.provider_payment_id, amount=payment.amount,
                                   currency=payment.currency, reason=reason, message=message))


async def void_payment(ctx: PaymentContext, order: OrderToPay, handled: Incoming[Any] | None = None) -> None:
    """Out of stock: nothing was charged (charging waits for the reservation), so the pending
    payment is voided here and the order told why; a voided record also stops a late open."""
    async with ctx.db.transaction(handled) as uow:
        payment = await uow.session.get(Payment, order.order_id, with_for_update=True)
        if payment is None:
            payment = _add(uow, order, PaymentStatus.PENDING, "opened on stock shortage")
        if domain.may_void(PaymentStatus(payment.status)):
            payment.failure_reason = "out_of_stock"
            _move(uow, payment, PaymentStatus.VOIDED, "voided: out of stock")
            _publish_failure(uow, payment, "out_of_stock", "some items are out of stock")
        await uow.commit()


async def refund_payment(ctx: PaymentContext, order_id: str, handled: Incoming[Any] | None = None) -> None:
    """Shipping failed: give the whole charge back."""
    status = await _status(ctx, order_id)
    decision = domain.refund_decision(status)
    if decision == "wait":
        raise NotReady(f"payment for order {order_id} is not charged yet; refund waits")
    refunded = None
    if decision == "refund":
        async with ctx.db.transaction() as uow:
            payment = await uow.session.get(Payment, order_id)
            assert payment is not None and payment.provider_payment_id
            provider_id, amount = payment.provider_payment_id, payment.amount
        refunded = await ctx.provider.refund(provider_id, amount, idempotency_key=f"order-{order_id}-refund")
    async with ctx.db.transaction(handled) as uow:
        payment = await uow.session.get(Payment, order_id, with_for_update=True)
        if refunded is not None and payment is not None and payment.status == PaymentStatus.SUCCEEDED:
            payment.refunded_amount = int(refunded["amount"])
            _move(uow, payment, PaymentStatus.REFUNDED, f"refunded {payment.refunded_amount} {payment.currency}")
        await uow.commit()


async def replicate_account(
    ctx: PaymentContext, account_id: str, status: str, revision: int, handled: Incoming[Any] | None = None
) -> None:
    async with ctx.db.transaction(handled) as uow:
        replica = await uow.session.get(AccountReplica, account_id, with_for_update=True)
        if replica is None:
            uow.session.add(AccountReplica(account_id=account_id, status=status, revision=revision,
                                           updated_at=utcnow()))
        elif domain.newer(replica.revision, revision):
            replica.status, replica.revision, replica.updated_at = status, revision, utcnow()
        else:
            log.info("account %s revision %d is stale (have %d); ignored", account_id, revision, replica.revision)
        await uow.commit()


async def get_payment(ctx: PaymentContext, order_id: str) -> tuple[Payment, list[PaymentHistory]]:
    async with ctx.db.transaction() as uow:
        payment = await uow.session.get(Payment, order_id)
        if payment is None:
            raise NotFound(f"no payment for order {order_id}", code="payment_not_found")
        history = await uow.session.scalars(
            select(PaymentHistory).where(PaymentHistory.order_id == order_id).order_by(PaymentHistory.id)
        )
        return payment, list(history.all())
