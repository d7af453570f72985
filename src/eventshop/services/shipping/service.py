"""The Shipping Service declaration."""

from __future__ import annotations

from pathlib import Path

from eventshop.platform.db import Database
from eventshop.platform.runtime import Service
from eventshop.platform.settings import Settings
from eventshop.services.shipping import handlers
from eventshop.services.shipping.api import router
from eventshop.services.shipping.clients import AccountClient
from eventshop.services.shipping.logistics_system import LogisticsSystemClient
from eventshop.services.shipping.tables import Base
from eventshop.services.shipping.usecases import ShippingContext


async def make_context(db: Database, settings: Settings) -> ShippingContext:
    logistics = LogisticsSystemClient(settings.url("logistics-system"), timeout=max(settings.http_timeout_seconds, 5))
    return ShippingContext(db=db, settings=settings, accounts=AccountClient(settings), logistics=logistics)


async def close_context(ctx: ShippingContext) -> None:
    await ctx.accounts.client.aclose()
    await ctx.logistics.aclose()


def declare() -> Service[ShippingContext]:
    return Service(
        name="shipping",
        metadata=Base.metadata,
        migrations=Path(__file__).parent / "migrations",
        router=router,
        make_context=make_context,
        close_context=close_context,
        handlers={
            "PaymentProcessedEvent": handlers.on_payment_processed,
            "PaymentFailedEvent": handlers.on_payment_failed,
        },
    )
