"""The Payment Service declaration."""

from __future__ import annotations

from pathlib import Path

from eventshop.platform.db import Database
from eventshop.platform.runtime import Service
from eventshop.platform.settings import Settings
from eventshop.services.payment import handlers
from eventshop.services.payment.api import router
from eventshop.services.payment.clients import AccountClient
from eventshop.services.payment.payment_system import PaymentSystemClient
from eventshop.services.payment.reconciliation import (
    ReconcileSettings,
    count_unknown_payments,
    reconcile_unknown_charges,
)
from eventshop.services.payment.tables import Base
from eventshop.services.payment.usecases import PaymentContext


async def close_context(ctx: PaymentContext) -> None:
    await ctx.accounts.client.aclose()
    await ctx.provider.aclose()


def declare() -> Service[PaymentContext]:
    reconcile_seconds = ReconcileSettings().reconcile_seconds  # read here: a bad value stops the process early

    async def make_context(db: Database, settings: Settings) -> PaymentContext:
        provider = PaymentSystemClient(settings.url("payment-system"), timeout=max(settings.http_timeout_seconds, 5.0))
        return PaymentContext(db=db, settings=settings, accounts=AccountClient(settings), provider=provider,
                              reconcile_seconds=reconcile_seconds)

    return Service(
        name="payment",
        metadata=Base.metadata,
        migrations=Path(__file__).parent / "migrations",
        router=router,
        make_context=make_context,
        close_context=close_context,
        handlers={
            "ShoppingCartOrderedEvent": handlers.on_cart_ordered,
            "InventoryProcessedEvent": handlers.on_stock_reserved,
            "InventoryOutOfStockEvent": handlers.on_out_of_stock,
            "ShippingFailedEvent": handlers.on_shipping_failed,
            "AccountCreatedEvent": handlers.on_account_event,
            "AccountUpdatedEvent": handlers.on_account_event,
            "AccountDeactivatedEvent": handlers.on_account_event,
        },
        background=[reconcile_unknown_charges],
        gauges=[count_unknown_payments],
    )
