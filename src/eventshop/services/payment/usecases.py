"""Payment use cases. External calls happen before the transaction that records their result,
with idempotency keys derived from the order, so a redelivered event repeats them harmlessly."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from eventshop.contracts.events import PaymentFailedEvent, PaymentProcessedEvent
from eventshop.contracts.values import OrderLine
from eventshop.platform.db import Database, Incoming, UnitOfWork, utcnow
from eventshop.platform.errors import NotFound, NotReady
from eventshop.platform.settings import Settings
from eventshop.services.payment import domain, store
from eventshop.services.payment.clients import AccountClient, PaymentData
from eventshop.services.payment.domain import PaymentStatus
from eventshop.services.payment.payment_system import ChargeOutcome, PaymentSystemClient
from eventshop.services.payment.store import PaymentRecord, ReplicaRecord

log = logging.getLogger(__name__)


@dataclass
class PaymentContext:
    db: Database
    settings: Settings
    accounts: AccountClient
    provider: PaymentSystemClient
    reconcile_seconds: float = 900.0  # how long an unknown charge may stay unknown before an operator is alerted


@dataclass(frozen=True)
class OrderToPay:
    order_id: str
    customer_id: str
    amount: int
    currency: str
    lines: list[OrderLine] = field(default_factory=list)


def charge_key(order_id: str) -> str:
    """The idempotency key of the order's one charge: a retry, a redelivery or a lookup uses the same."""
    return f"order-{order_id}-charge"


async def _add(uow: UnitOfWork, order: OrderToPay, status: PaymentStatus, detail: str) -> PaymentRecord:
    now = utcnow()
    payment = PaymentRecord(order_id=order.order_id, customer_id=order.customer_id, amount=order.amount,
                            currency=order.currency, status=status, provider_payment_id=None, failure_reason=None,
                            refunded_amount=0, lines=[line.model_dump() for line in order.lines], created_at=now,
                            updated_at=now, unknown_since=None, next_check_at=None, reconcile_checks=0)
    await store.add_payment(uow, payment)
    await store.add_history(uow, order.order_id, now, status, detail)
    return payment


async def _move(
    uow: UnitOfWork, payment: PaymentRecord, status: PaymentStatus, detail: str, at: datetime | None = None
) -> None:
    """The payment's new status, written with whatever else the caller changed, and its history row."""
    payment.status, payment.updated_at = status, at or utcnow()
    await store.save_payment(uow, payment)
    await store.add_history(uow, payment.order_id, payment.updated_at, status, detail)


async def open_payment(ctx: PaymentContext, order: OrderToPay, handled: Incoming[Any] | None = None) -> None:
    """A pending payment for the order's total; a later event may have created it already."""
    async with ctx.db.transaction(handled) as uow:
        if await uow.one(store.PAYMENT_STATUS, order_id=order.order_id) is None:
            await _add(uow, order, PaymentStatus.PENDING, "awaiting stock reservation")
        await uow.commit()


@dataclass(frozen=True)
class ChargeView:
    """What a charge reads in one transaction: the payment's status and Payment's replica of the account."""

    status: PaymentStatus | None
    account_status: str | None = None
    payment_token: str | None = None
    replica_revision: int | None = None


async def _read_for_charge(ctx: PaymentContext, order: OrderToPay) -> ChargeView:
    async with ctx.db.reading() as uow:
        payment = await uow.one(store.PAYMENT_STATUS, order_id=order.order_id)
        replica = await store.replica(uow, order.customer_id)
    status = PaymentStatus(payment.status) if payment else None
    if replica is None:
        return ChargeView(status)
    return ChargeView(status, replica.status, replica.payment_token, replica.revision)


@dataclass(frozen=True)
class ChargeDecision:
    status: PaymentStatus
    provider_payment_id: str | None = None
    reason: str | None = None
    message: str = ""
    learned: PaymentData | None = None  # what Account told, when the replica had no token


def _deactivated(learned: PaymentData | None = None) -> ChargeDecision:
    return ChargeDecision(PaymentStatus.FAILED, reason="account_deactivated", message="the account is deactivated",
                          learned=learned)


async def _attempt_charge(ctx: PaymentContext, order: OrderToPay, view: ChargeView) -> ChargeDecision:
    if view.account_status == "deactivated":
        return _deactivated()
    token, learned = view.payment_token, None
    if token is None:
        learned = await ctx.accounts.payment_data(order.customer_id)
        if learned.status == "deactivated":
            return _deactivated(learned)
        token = learned.payment_token
    result = await ctx.provider.charge(amount=order.amount, currency=order.currency, token=token,
                                       reference=order.order_id, idempotency_key=charge_key(order.order_id))
    if result.outcome is ChargeOutcome.UNKNOWN:
        return ChargeDecision(PaymentStatus.UNKNOWN, learned=learned)
    if result.outcome is ChargeOutcome.SUCCEEDED:
        return ChargeDecision(PaymentStatus.SUCCEEDED, result.payment_id, learned=learned)
    return ChargeDecision(PaymentStatus.FAILED, result.payment_id, domain.decline_reason(result.failure_code),
                          result.failure_message or "", learned=learned)


async def _remember(uow: UnitOfWork, account_id: str, learned: PaymentData, asked_at: int | None) -> None:
    """Keep what Account told in the replica, unless an account event arrived while it was asked."""
    replica = await store.replica(uow, account_id, for_update=True)
    token = learned.payment_token if learned.status != "deactivated" else None
    if replica is None and asked_at is None:
        # Revision 0: every Account event (revisions start at 1) is newer and corrects the status.
        await store.add_replica(uow, ReplicaRecord(account_id=account_id, status=learned.status, revision=0,
                                                   payment_token=token, token_revision=0, updated_at=utcnow()))
    elif replica is not None and domain.may_cache_token(asked_at, replica.revision):
        replica.payment_token, replica.token_revision, replica.updated_at = token, replica.revision, utcnow()
        await store.save_replica(uow, replica)


async def charge_payment(
    ctx: PaymentContext, order: OrderToPay, handled: Incoming[Any] | None = None
) -> PaymentRecord:
    """Charge the order's amount once; publish PaymentProcessedEvent or PaymentFailedEvent.

    One read transaction, the external calls (Account only when the replica has no token), then one
    write transaction holding the inbox mark, the payment's new state, the replica update and the event.
    """
    view = await _read_for_charge(ctx, order)
    decision = await _attempt_charge(ctx, order, view) if domain.may_charge(view.status) else None
    async with ctx.db.transaction(handled) as uow:
        if decision is not None and decision.learned is not None:
            await _remember(uow, order.customer_id, decision.learned, view.replica_revision)
        payment = await store.payment(uow, order.order_id, for_update=True)
        if payment is None:
            payment = await _add(uow, order, PaymentStatus.PENDING, "opened on stock reservation")
        if decision is None or not domain.may_charge(PaymentStatus(payment.status)):
            log.info("payment for order %s is already %s; not charged again", order.order_id, payment.status)
            await uow.commit()
            return payment
        await _record_charge(uow, payment, order, decision)
        await uow.commit()
        return payment


async def _record_charge(
    uow: UnitOfWork, payment: PaymentRecord, order: OrderToPay, decision: ChargeDecision
) -> None:
    payment.lines = payment.lines or [line.model_dump() for line in order.lines]
    if decision.status is PaymentStatus.UNKNOWN:
        await _mark_unknown(uow, payment)
        return
    await settle_charge(uow, payment, decision)


async def _mark_unknown(uow: UnitOfWork, payment: PaymentRecord) -> None:
    """The provider did not answer in time: a state of its own, acked with the delivery; the saga waits."""
    log.warning("charge for order %s has an unknown outcome; the reconciler asks the provider", payment.order_id)
    now = utcnow()
    payment.unknown_since, payment.reconcile_checks = now, 0
    payment.next_check_at = now + timedelta(seconds=domain.next_check_in(0))
    await _move(uow, payment, PaymentStatus.UNKNOWN,
                "charge outcome unknown: the Payment System did not answer in time", at=now)


async def settle_charge(uow: UnitOfWork, payment: PaymentRecord, decision: ChargeDecision) -> None:
    """The charge's known outcome: the payment's new state and PaymentProcessedEvent or PaymentFailedEvent."""
    payment.provider_payment_id = decision.provider_payment_id
    payment.next_check_at = None
    if decision.status is PaymentStatus.SUCCEEDED:
        await _move(uow, payment, PaymentStatus.SUCCEEDED, f"charged {payment.amount} {payment.currency}")
        uow.publish(PaymentProcessedEvent(
            order_id=payment.order_id, customer_id=payment.customer_id,
            payment_id=decision.provider_payment_id or "", amount=payment.amount, currency=payment.currency,
            lines=[OrderLine.model_validate(line) for line in payment.lines]))
    else:
        payment.failure_reason = decision.reason
        await _move(uow, payment, PaymentStatus.FAILED, f"failed: {decision.reason}")
        _publish_failure(uow, payment, decision.reason or "card_declined", decision.message)


def _publish_failure(uow: UnitOfWork, payment: PaymentRecord, reason: str, message: str) -> None:
    uow.publish(PaymentFailedEvent(order_id=payment.order_id, customer_id=payment.customer_id,
                                   payment_id=payment.provider_payment_id, amount=payment.amount,
                                   currency=payment.currency, reason=reason, message=message))


async def void_payment(ctx: PaymentContext, order: OrderToPay, handled: Incoming[Any] | None = None) -> None:
    """Out of stock: nothing was charged (charging waits for the reservation), so the pending
    payment is voided here and the order told why; a voided record also stops a late open."""
    async with ctx.db.transaction(handled) as uow:
        payment = await store.payment(uow, order.order_id, for_update=True)
        if payment is None:
            payment = await _add(uow, order, PaymentStatus.PENDING, "opened on stock shortage")
        if domain.may_void(PaymentStatus(payment.status)):
            payment.failure_reason = "out_of_stock"
            await _move(uow, payment, PaymentStatus.VOIDED, "voided: out of stock")
            _publish_failure(uow, payment, "out_of_stock", "some items are out of stock")
        await uow.commit()


async def _read_payment(ctx: PaymentContext, order_id: str) -> PaymentRecord | None:
    async with ctx.db.reading() as uow:
        return await store.payment(uow, order_id)


async def refund_payment(ctx: PaymentContext, order_id: str, handled: Incoming[Any] | None = None) -> None:
    """Shipping failed: give the whole charge back (one read, the refund call, one write)."""
    charged = await _read_payment(ctx, order_id)
    decision = domain.refund_decision(PaymentStatus(charged.status) if charged else None)
    if decision == "wait":
        raise NotReady(f"payment for order {order_id} is not charged yet; refund waits")
    refunded = None
    if decision == "refund":
        assert charged is not None and charged.provider_payment_id
        refunded = await ctx.provider.refund(charged.provider_payment_id, charged.amount,
                                             idempotency_key=f"order-{order_id}-refund")
    async with ctx.db.transaction(handled) as uow:
        payment = await store.payment(uow, order_id, for_update=True)
        if refunded is not None and payment is not None and payment.status == PaymentStatus.SUCCEEDED:
            payment.refunded_amount = int(refunded["amount"])
            await _move(uow, payment, PaymentStatus.REFUNDED, f"refunded {payment.refunded_amount} {payment.currency}")
        await uow.commit()


async def replicate_account(
    ctx: PaymentContext, account_id: str, status: str, revision: int, changed: list[str] | None = None,
    handled: Incoming[Any] | None = None,
) -> None:
    """Keep the account's status; forget a cached payment token that a later revision changed."""
    async with ctx.db.transaction(handled) as uow:
        replica = await store.replica(uow, account_id, for_update=True)
        if replica is None:
            await store.add_replica(uow, ReplicaRecord(account_id=account_id, status=status, revision=revision,
                                                       payment_token=None, token_revision=None, updated_at=utcnow()))
        else:
            if domain.token_outdated(replica.token_revision, revision, changed or []):
                replica.payment_token, replica.token_revision, replica.updated_at = None, None, utcnow()
            if domain.newer(replica.revision, revision):
                replica.status, replica.revision, replica.updated_at = status, revision, utcnow()
            else:
                log.info("account %s revision %d is stale (have %d)", account_id, revision, replica.revision)
            await store.save_replica(uow, replica)
        await uow.commit()


async def get_payment(ctx: PaymentContext, order_id: str) -> tuple[PaymentRecord, list[Any]]:
    """The payment and its history, oldest first (rows of at, status and detail)."""
    async with ctx.db.reading() as uow:
        payment = await store.payment(uow, order_id)
        if payment is None:
            raise NotFound(f"no payment for order {order_id}", code="payment_not_found")
        return payment, await uow.all(store.HISTORY_OF, order_id=order_id)
