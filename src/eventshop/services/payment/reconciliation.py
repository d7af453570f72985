"""Reconciling charges whose outcome is unknown: ask the provider by idempotency key until it knows.

A charge the Payment System did not answer in time is recorded as `unknown` and its delivery acked
(see usecases.charge_payment). This background job looks each one up on a capped exponential schedule
and, once the provider knows, publishes the same event a timely answer would have. It never decides
on its own that a charge failed: money may have moved. Past EVENTSHOP_PAYMENT_RECONCILE_SECONDS it
keeps looking (slowly), logs an ERROR and counts the payment in `eventshop_payments_unknown`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from prometheus_client import Gauge
from pydantic import Field
from pydantic_settings import SettingsConfigDict
from sqlalchemy import func, select

from eventshop.platform.db import utcnow
from eventshop.platform.settings import EnvSettings
from eventshop.services.payment import domain, store
from eventshop.services.payment.domain import PaymentStatus, Reconciled
from eventshop.services.payment.store import PaymentRecord
from eventshop.services.payment.tables import Payment
from eventshop.services.payment.usecases import ChargeDecision, PaymentContext, charge_key, settle_charge

log = logging.getLogger(__name__)

UNKNOWN_PAYMENTS = Gauge(
    "eventshop_payments_unknown",
    "Payments whose charge outcome is unknown; overdue: still unknown past the reconcile budget (act on these)",
    ["state"],
)
POLL_SECONDS = 1.0


class ReconcileSettings(EnvSettings):
    """EVENTSHOP_PAYMENT_RECONCILE_SECONDS: how long the provider may take to know a charge's outcome."""

    model_config = SettingsConfigDict(env_prefix="EVENTSHOP_PAYMENT_", extra="ignore")

    reconcile_seconds: float = Field(default=900.0, gt=0)


async def reconcile_payment(ctx: PaymentContext, order_id: str) -> PaymentStatus | None:
    """Look one unknown charge up; returns the payment's status afterwards (None if there is no payment)."""
    async with ctx.db.reading() as uow:
        payment = await store.payment(uow, order_id)
    if payment is None or payment.status != PaymentStatus.UNKNOWN:
        return PaymentStatus(payment.status) if payment else None
    found = await ctx.provider.lookup_charge(charge_key(order_id))
    async with ctx.db.transaction() as uow:
        payment = await store.payment(uow, order_id, for_update=True)
        if payment is None or payment.status != PaymentStatus.UNKNOWN:  # settled meanwhile
            return PaymentStatus(payment.status) if payment else None
        now = utcnow()
        unknown_for = (now - (payment.unknown_since or payment.updated_at)).total_seconds()
        step = domain.reconcile(found.outcome.value, payment.reconcile_checks, unknown_for,
                                ctx.reconcile_seconds)
        if step.verdict is Reconciled.SUCCEEDED:
            await settle_charge(uow, payment, ChargeDecision(PaymentStatus.SUCCEEDED, found.payment_id))
        elif step.verdict is Reconciled.DECLINED:
            await settle_charge(uow, payment, ChargeDecision(
                PaymentStatus.FAILED, found.payment_id, domain.decline_reason(found.failure_code),
                found.failure_message or ""))
        elif step.verdict is Reconciled.NOT_CHARGED:
            await settle_charge(uow, payment, ChargeDecision(
                PaymentStatus.FAILED, None, domain.NOT_CHARGED_REASON,
                "the Payment System never received the charge; nothing was charged"))
        else:
            _look_again(payment, step.verdict, step.next_check_in or domain.MAX_CHECK_INTERVAL_SECONDS, unknown_for)
            await store.save_payment(uow, payment)
        await uow.commit()
        if step.verdict in (Reconciled.SUCCEEDED, Reconciled.DECLINED, Reconciled.NOT_CHARGED):
            log.info("reconciled the charge for order %s after %.0fs: %s", order_id, unknown_for, payment.status)
        return PaymentStatus(payment.status)


def _look_again(payment: PaymentRecord, verdict: Reconciled, delay: float, unknown_for: float) -> None:
    payment.reconcile_checks += 1
    payment.next_check_at = utcnow() + timedelta(seconds=delay)
    if verdict is Reconciled.OVERDUE:
        log.error("charge for order %s still unknown after %.0fs (key %s): check it at the Payment System; "
                  "looking again every %.0fs", payment.order_id, unknown_for, charge_key(payment.order_id), delay)


async def reconcile_due(ctx: PaymentContext, limit: int = 50) -> int:
    """Look up every unknown charge whose next look is due; returns how many were looked up."""
    async with ctx.db.reading() as uow:
        due = (await uow.session.scalars(
            select(Payment.order_id).where(Payment.status == PaymentStatus.UNKNOWN, Payment.next_check_at <= utcnow())
            .order_by(Payment.next_check_at).limit(limit)
        )).all()
    for order_id in due:
        await reconcile_payment(ctx, order_id)
    return len(due)


async def reconcile_unknown_charges(ctx: PaymentContext) -> None:
    """Background job: unknown charges are looked up until the provider knows, never dropped."""
    while True:
        try:
            await reconcile_due(ctx)
        except Exception as exc:  # the database or the provider may be away for a moment; keep going
            log.warning("reconciling unknown charges failed: %s", exc)
        await asyncio.sleep(POLL_SECONDS)


async def count_unknown_payments(ctx: PaymentContext) -> None:
    """Refresh `eventshop_payments_unknown` (at each /metrics scrape): one indexed count."""
    overdue_before = utcnow() - timedelta(seconds=ctx.reconcile_seconds)
    unknown = select(func.count()).where(Payment.next_check_at.is_not(None), Payment.status == PaymentStatus.UNKNOWN)
    async with ctx.db.reading() as uow:
        total = int(await uow.session.scalar(unknown) or 0)
        overdue = int(await uow.session.scalar(unknown.where(Payment.unknown_since < overdue_before)) or 0)
    UNKNOWN_PAYMENTS.labels("reconciling").set(total - overdue)
    UNKNOWN_PAYMENTS.labels("overdue").set(overdue)
